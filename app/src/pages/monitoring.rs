//! Monitoring: the sources a person may view, and a source's page with its
//! endpoints, a statistic over time, box plots and the weekly load.

use agora_model::monitoring::{SourceOverview, Statistic, StatsAnswer, StatsQuery};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use serde_json::json;

use crate::api::monitoring::{monitoring_overview, monitoring_sources, monitoring_statistics};
use crate::components::empty_state::EmptyState;
use crate::components::form::ErrorAlert;
use crate::components::loading::Loading;
use crate::components::plot::Plot;
use crate::session::SignedIn;

#[component]
pub fn MonitoringPage() -> impl IntoView {
    view! {
        <Title text="Monitoring" />
        <header class="page-header"><h1>"Monitoring"</h1></header>
        <SignedIn children=|_| view! { <Sources /> } />
    }
}

#[component]
fn Sources() -> impl IntoView {
    let sources = Resource::new(|| (), |_| monitoring_sources());
    view! {
        <Transition fallback=|| view! { <Loading /> }>
            {move || sources.get().map(|result| match result {
                Ok(list) if list.is_empty() => view! {
                    <EmptyState icon=icondata::LuGauge title="No monitored services you may view">
                        <p>"Agora's own request statistics are for administrators. Monitoring of remote services (flask-monitoring-dashboard) is not available yet."</p>
                    </EmptyState>
                }
                .into_any(),
                Ok(list) => view! {
                    <ul class="cards" data-testid="sources">
                        {list.into_iter().map(|s| view! {
                            <li class="card"><A href=format!("/monitoring/{}", s.id)>{s.name}</A><p class="muted">"Every request to this hub: route, status, duration."</p></li>
                        }).collect_view()}
                    </ul>
                }
                .into_any(),
                Err(err) => view! { <ErrorAlert error=err /> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
pub fn SourcePage() -> impl IntoView {
    let params = use_params_map();
    let source = move || params.read().get("source").unwrap_or_default();
    let start = RwSignal::new(String::new());
    let end = RwSignal::new(String::new());
    let range = move || (source(), Some(start.get()).filter(|s| !s.is_empty()), Some(end.get()).filter(|s| !s.is_empty()));
    let overview = Resource::new(range, |(source, start, end)| monitoring_overview(source, start, end));
    view! {
        <Title text="Monitoring" />
        <header class="page-header">
            <h1>"Agora: endpoint performance"</h1>
            <div class="actions">
                <label class="inline-field">"From " <input type="date" data-testid="range-start" prop:value=move || start.get() on:change=move |ev| start.set(event_target_value(&ev)) /></label>
                <label class="inline-field">"to " <input type="date" data-testid="range-end" prop:value=move || end.get() on:change=move |ev| end.set(event_target_value(&ev)) /></label>
            </div>
        </header>
        <Transition fallback=|| view! { <Loading /> }>
            {move || overview.get().map(|result| match result {
                Ok(overview) => view! { <Overview overview source=source() start end /> }.into_any(),
                Err(err) => view! { <ErrorAlert error=err /> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Overview(overview: SourceOverview, source: String, start: RwSignal<String>, end: RwSignal<String>) -> impl IntoView {
    let endpoints: Vec<String> = overview.endpoints.iter().map(|e| e.endpoint.clone()).collect();
    let boxes = json!({
        "data": overview.box_plots.iter().map(|b| json!({
            "type": "box", "name": b.endpoint, "q1": [b.q1], "median": [b.median], "q3": [b.q3],
            "lowerfence": [b.min], "upperfence": [b.max], "x": [b.endpoint], "showlegend": false
        })).collect::<Vec<_>>(),
        "layout": {"yaxis": {"title": {"text": "ms"}, "type": "log"}, "margin": {"b": 160}}
    });
    let heatmap = json!({
        "data": [{"type": "heatmap", "z": overview.heatmap, "x": (0..24).collect::<Vec<_>>(),
                  "y": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"], "colorscale": "Blues"}],
        "layout": {"xaxis": {"title": {"text": "hour of day (UTC)"}}, "yaxis": {"autorange": "reversed"}}
    });
    view! {
        <p class="muted" data-testid="overview-calls">{format!("{} requests from {} to {}", overview.calls, overview.start, overview.end)}</p>
        <section class="card settings-section">
            <h2>"Endpoints"</h2>
            <div class="table-wrap">
                <table class="table" data-testid="endpoints-table">
                    <thead><tr><th>"Endpoint"</th><th>"Visits"</th><th>"Median"</th><th>"p90"</th><th>"p99"</th><th>"Errors"</th></tr></thead>
                    <tbody>
                        {overview.endpoints.into_iter().map(|e| view! {
                            <tr data-testid="endpoint-row">
                                <td><code>{e.endpoint}</code></td><td>{e.visits}</td>
                                <td>{format!("{:.2} ms", e.median)}</td><td>{format!("{:.2} ms", e.p90)}</td><td>{format!("{:.2} ms", e.p99)}</td>
                                <td>{format!("{:.1} %", e.error_rate * 100.0)}</td>
                            </tr>
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
        <Series source endpoints start end />
        <div class="dash-grid">
            <section class="panel" style="grid-column: span 12; grid-row: span 7;" data-testid="box-plots">
                <header class="panel-head"><h2 class="panel-title">"Execution time by endpoint"</h2></header>
                <div class="panel-body"><Plot figure=Signal::derive(move || Some(boxes.clone())) /></div>
            </section>
            <section class="panel" style="grid-column: span 12; grid-row: span 5;" data-testid="heatmap">
                <header class="panel-head"><h2 class="panel-title">"Load by weekday and hour"</h2></header>
                <div class="panel-body"><Plot figure=Signal::derive(move || Some(heatmap.clone())) /></div>
            </section>
        </div>
    }
}

#[component]
fn Series(source: String, endpoints: Vec<String>, start: RwSignal<String>, end: RwSignal<String>) -> impl IntoView {
    let statistic = RwSignal::new("total_visits".to_owned());
    let endpoint = RwSignal::new(String::new());
    let slice = RwSignal::new("hour".to_owned());
    let calendar = RwSignal::new(true);
    let query = move || StatsQuery {
        statistic: Some(statistic.get()),
        endpoint: Some(endpoint.get()).filter(|e| !e.is_empty()),
        start: Some(start.get()).filter(|s| !s.is_empty()),
        end: Some(end.get()).filter(|s| !s.is_empty()),
        timeslice: (statistic.get() != "visits_per_ip").then(|| slice.get()),
        timeslice_is_static: (statistic.get() != "visits_per_ip").then(|| calendar.get().to_string()),
    };
    let answer = Resource::new(move || (source.clone(), query()), |(source, query)| monitoring_statistics(source, query));
    view! {
        <section class="card settings-section" data-testid="series">
            <h2>"Over time"</h2>
            <div class="log-tools">
                <label class="inline-field">"Statistic "
                    <select data-testid="statistic" on:change=move |ev| statistic.set(event_target_value(&ev))>
                        {Statistic::ALL.into_iter().map(|s| view! { <option value=s.name() selected=move || statistic.get() == s.name()>{s.name().replace('_', " ")}</option> }).collect_view()}
                    </select>
                </label>
                <label class="inline-field">"Endpoint "
                    <select data-testid="endpoint" on:change=move |ev| endpoint.set(event_target_value(&ev))>
                        <option value="">"all"</option>
                        {endpoints.into_iter().map(|e| view! { <option value=e.clone()>{e.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label class="inline-field">"Slice "
                    <select data-testid="timeslice" on:change=move |ev| slice.set(event_target_value(&ev))>
                        {["minute", "hour", "day", "week", "month", "year"].into_iter().map(|s| view! { <option value=s selected=move || slice.get() == s>{s}</option> }).collect_view()}
                    </select>
                </label>
                <label class="checkbox"><input type="checkbox" data-testid="calendar" prop:checked=move || calendar.get() on:change=move |ev| calendar.set(event_target_checked(&ev)) />" calendar slices (off: fixed length from the start)"</label>
            </div>
            <Transition fallback=|| view! { <Loading /> }>
                {move || answer.get().map(|result| match result {
                    Ok(answer) => view! { <Answer answer /> }.into_any(),
                    Err(err) => view! { <ErrorAlert error=err /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Answer(answer: StatsAnswer) -> impl IntoView {
    if answer.statistic == "visits_per_ip" {
        return view! {
            <table class="table" data-testid="visits-per-ip">
                <thead><tr><th>"Address"</th><th>"Visits"</th></tr></thead>
                <tbody>{answer.visits_per_ip.into_iter().map(|(ip, n)| view! { <tr><td>{ip}</td><td>{n}</td></tr> }).collect_view()}</tbody>
            </table>
        }
        .into_any();
    }
    let keys: Vec<String> = answer.series.iter().map(|p| p.key.clone()).collect();
    let values: Vec<Option<f64>> = answer.series.iter().map(|p| p.value).collect();
    let figure = json!({
        "data": [{"type": "scatter", "mode": "lines+markers", "x": keys, "y": values, "connectgaps": false, "name": answer.statistic}],
        "layout": {"xaxis": {"type": "category"}, "yaxis": {"title": {"text": answer.statistic.replace('_', " ")}}, "margin": {"t": 10}}
    });
    view! { <div class="series-plot" data-testid="series-plot"><Plot figure=Signal::derive(move || Some(figure.clone())) /></div> }
        .into_any()
}
