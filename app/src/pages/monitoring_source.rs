//! One monitored source: its status, the endpoint table (with switches for
//! display), any statistic over time, box plots, the weekly load, and its
//! alert rules.

use agora_model::monitoring::{
    AlertRule, EndpointToggle, NewAlertRule, SourceOverview, SourceView, Statistic, StatsAnswer, StatsQuery, ALERT_STATISTICS,
};
use agora_model::ApiError;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};
use serde_json::json;

use super::monitoring::health_badge;
use crate::api::monitoring::{
    add_monitoring_rule, delete_monitoring_rule, delete_monitoring_source, monitoring_overview, monitoring_rules, monitoring_source,
    monitoring_statistics, toggle_monitoring_endpoint,
};
use crate::components::empty_state::EmptyState;
use crate::components::form::{error_besides, error_for, ErrorAlert, Field, FormError};
use crate::components::loading::Loading;
use crate::components::plot::Plot;

#[component]
pub fn SourcePage() -> impl IntoView {
    let params = use_params_map();
    let source = move || params.read().get("source").unwrap_or_default();
    let start = RwSignal::new(String::new());
    let end = RwSignal::new(String::new());
    // Bumped when an endpoint is switched, to reload what depends on it.
    let changed = RwSignal::new(0u32);
    let info = Resource::new(move || (source(), changed.get()), |(source, _)| monitoring_source(source));
    let range = move || (source(), Some(start.get()).filter(|s| !s.is_empty()), Some(end.get()).filter(|s| !s.is_empty()), changed.get());
    let overview = Resource::new(range, |(source, start, end, _)| monitoring_overview(source, start, end));
    // Made here, before anything waits: resources are matched between the
    // server's render and hydration by the order they are made in.
    let source_now = move || params.read_untracked().get("source").unwrap_or_default();
    let add = Action::new(move |rule: &NewAlertRule| add_monitoring_rule(source_now(), rule.clone()));
    let remove = Action::new(move |rule: &String| delete_monitoring_rule(source_now(), rule.clone()));
    let rules = Resource::new(move || (source(), add.version().get(), remove.version().get()), |(source, _, _)| monitoring_rules(source));
    view! {
        <Title text="Monitoring" />
        <Transition fallback=|| view! { <Loading /> }>
            {move || info.get().map(|result| match result {
                Ok(info) => view! { <SourceHeader info start end /> }.into_any(),
                Err(err) => view! { <header class="page-header"><h1>"Monitoring"</h1></header><ErrorAlert error=err /> }.into_any(),
            })}
        </Transition>
        <Transition fallback=|| view! { <Loading /> }>
            {move || overview.get().map(|result| match result {
                Ok(overview) => view! { <Overview overview source=source() start end changed /> }.into_any(),
                Err(_) => ().into_any(),
            })}
        </Transition>
        <Rules rules add remove />
    }
}

#[component]
fn SourceHeader(info: SourceView, start: RwSignal<String>, end: RwSignal<String>) -> impl IntoView {
    let remote = info.kind != "self";
    let status = if remote {
        let fetched = info.fetched_until.clone().map(|t| format!("calls fetched up to {t}")).unwrap_or_else(|| "not fetched yet".into());
        let last = info.last_attempt_at.clone().map(|t| format!(" · last fetch {t}")).unwrap_or_default();
        let next = info.next_fetch_at.clone().map(|t| format!(" · next {t}")).unwrap_or_default();
        format!("{} · {fetched}{last}{next}", info.url.clone().unwrap_or_default())
    } else {
        "Every request to this hub, recorded by each node.".into()
    };
    let failures = info.failures;
    view! {
        <header class="page-header">
            <h1 data-testid="source-name">{info.name.clone()}</h1>
            {health_badge(&info)}
            <div class="actions">
                <label class="inline-field">"From " <input type="date" data-testid="range-start" prop:value=move || start.get() on:change=move |ev| start.set(event_target_value(&ev)) /></label>
                <label class="inline-field">"to " <input type="date" data-testid="range-end" prop:value=move || end.get() on:change=move |ev| end.set(event_target_value(&ev)) /></label>
            </div>
        </header>
        <p class="muted" data-testid="source-status">{status}</p>
        {info.last_error.clone().map(|e| view! {
            <div class="alert alert-error" role="alert" data-testid="source-error">
                {format!("The last fetch failed ({failures} in a row; retrying with a growing wait): {e}")}
            </div>
        })}
        {remote.then(|| view! { <DeleteSource id=info.id.clone() name=info.name.clone() /> })}
    }
}

#[component]
fn DeleteSource(id: String, name: String) -> impl IntoView {
    let delete = Action::new(move |id: &String| delete_monitoring_source(id.clone()));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate("/monitoring", Default::default());
        }
    });
    let confirming = RwSignal::new(false);
    view! {
        <Show when=move || confirming.get() fallback=move || view! {
            <button type="button" class="button button-danger" data-testid="delete-source" on:click=move |_| confirming.set(true)>"Delete source…"</button>
        }>
            {
                let (id, name) = (id.clone(), name.clone());
                view! {
                    <p>{format!("Delete “{name}” and every call fetched from it? Fetching stops.")}</p>
                    <button type="button" class="button button-danger" data-testid="confirm-delete-source"
                        disabled=move || delete.pending().get() on:click=move |_| { delete.dispatch(id.clone()); }>"Delete for good"</button>
                    " "
                    <button type="button" class="button" on:click=move |_| confirming.set(false)>"Keep it"</button>
                }
            }
        </Show>
        {move || delete.value().get().and_then(|r| r.err()).map(|err| view! { <p class="field-error" role="alert">{err.message}</p> })}
    }
}

#[component]
fn Overview(
    overview: SourceOverview,
    source: String,
    start: RwSignal<String>,
    end: RwSignal<String>,
    changed: RwSignal<u32>,
) -> impl IntoView {
    if overview.endpoints.is_empty() {
        return view! {
            <EmptyState icon=icondata::LuGauge title="No requests recorded in this range">
                <p>"Requests appear here once the service is called and the next fetch has run (every minute by default)."</p>
            </EmptyState>
        }
        .into_any();
    }
    let endpoints: Vec<String> = overview.endpoints.iter().filter(|e| e.enabled).map(|e| e.endpoint.clone()).collect();
    let toggle = {
        let source = source.clone();
        Action::new(move |toggle: &EndpointToggle| toggle_monitoring_endpoint(source.clone(), toggle.clone()))
    };
    Effect::new(move |_| {
        if let Some(Ok(_)) = toggle.value().get() {
            changed.update(|n| *n += 1);
        }
    });
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
            {move || toggle.value().get().and_then(|r| r.err()).map(|err| view! { <ErrorAlert error=err /> })}
            <div class="table-wrap">
                <table class="table" data-testid="endpoints-table">
                    <thead><tr><th>"Shown"</th><th>"Endpoint"</th><th>"Visits"</th><th>"Median"</th><th>"p90"</th><th>"p99"</th><th>"Errors"</th></tr></thead>
                    <tbody>
                        {overview.endpoints.into_iter().map(|e| {
                            let name = e.endpoint.clone();
                            let label = format!("Show {} in charts", e.endpoint);
                            view! {
                                <tr data-testid="endpoint-row" class:muted=!e.enabled>
                                    <td><input type="checkbox" aria-label=label data-testid="endpoint-shown" prop:checked=e.enabled
                                        disabled=move || toggle.pending().get()
                                        on:change=move |ev| { toggle.dispatch(EndpointToggle { endpoint: name.clone(), enabled: event_target_checked(&ev) }); } /></td>
                                    <td><code>{e.endpoint}</code></td><td>{e.visits}</td>
                                    <td>{format!("{:.2} ms", e.median)}</td><td>{format!("{:.2} ms", e.p90)}</td><td>{format!("{:.2} ms", e.p99)}</td>
                                    <td>{format!("{:.1} %", e.error_rate * 100.0)}</td>
                                </tr>
                            }
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
    .into_any()
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
                        <option value="">"all shown"</option>
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
        if answer.visits_per_ip.is_empty() {
            return view! { <p class="muted" data-testid="visits-per-ip">"No addresses: this source's protocol does not report them."</p> }
                .into_any();
        }
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

/// The source's alert rules: state, last value, delete; and the form to
/// add one (mail goes to whoever adds it).
#[component]
fn Rules(
    rules: Resource<Result<Vec<AlertRule>, ApiError>>,
    add: Action<NewAlertRule, Result<AlertRule, ApiError>>,
    remove: Action<String, Result<(), ApiError>>,
) -> impl IntoView {
    let result = Signal::from(add.value());
    let endpoint = RwSignal::new(String::new());
    let statistic = RwSignal::new("percentile_99".to_owned());
    let window = RwSignal::new("5".to_owned());
    let threshold = RwSignal::new(String::new());
    let inline = RwSignal::new(None::<(&'static str, String)>);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Ok(window_minutes) = window.get_untracked().trim().parse::<u32>() else {
            return inline.set(Some(("window_minutes", "window_minutes must be a whole number of minutes".into())));
        };
        let Ok(threshold) = threshold.get_untracked().trim().parse::<f64>() else {
            return inline.set(Some(("threshold", "threshold must be a number".into())));
        };
        inline.set(None);
        add.dispatch(NewAlertRule {
            endpoint: Some(endpoint.get_untracked()).filter(|e| !e.trim().is_empty()),
            statistic: statistic.get_untracked(),
            window_minutes,
            threshold,
        });
    };
    let field_error = move |field: &'static str| {
        Signal::derive(move || inline.get().filter(|(f, _)| *f == field).map(|(_, m)| m).or_else(|| error_for(result, field).get()))
    };
    const FIELDS: &[&str] = &["statistic", "window_minutes", "threshold", "endpoint"];
    view! {
        <section class="card settings-section" data-testid="alert-rules">
            <h2>"Alert rules"</h2>
            <p class="muted">"Checked at every fetch. You get an email when a rule starts firing and when it is back to normal."</p>
            <Transition fallback=|| view! { <Loading /> }>
                {move || rules.get().map(|result| match result {
                    Ok(list) if list.is_empty() => view! { <p class="muted" data-testid="no-rules">"No alert rules yet."</p> }.into_any(),
                    Ok(list) => view! { <RuleList list remove /> }.into_any(),
                    Err(err) => view! { <ErrorAlert error=err /> }.into_any(),
                })}
            </Transition>
            <form class="form" on:submit=on_submit data-testid="add-rule-form">
                <div class="field">
                    <label for="field-statistic">"When"</label>
                    <select id="field-statistic" data-testid="input-statistic" on:change=move |ev| statistic.set(event_target_value(&ev))>
                        {ALERT_STATISTICS.into_iter().map(|s| view! { <option value=s selected=move || statistic.get() == s>{s.replace('_', " ")}</option> }).collect_view()}
                    </select>
                </div>
                <Field label="of endpoint" name="endpoint" bind=endpoint error=field_error("endpoint") hint="Empty: all shown endpoints" />
                <Field label="over the last (minutes)" name="window_minutes" kind="number" bind=window error=field_error("window_minutes") required=true />
                <Field label="is above (ms, or % for error rate)" name="threshold" kind="number" bind=threshold error=field_error("threshold") required=true />
                <FormError error=error_besides(result, FIELDS) />
                <button type="submit" class="button button-primary" data-testid="add-rule" disabled=move || add.pending().get()>"Add rule"</button>
            </form>
        </section>
    }
}

#[component]
fn RuleList(list: Vec<AlertRule>, remove: Action<String, Result<(), ApiError>>) -> impl IntoView {
    view! {
        <ul class="rule-list" data-testid="rules">
            {list.into_iter().map(|rule| {
                let id = rule.id.clone();
                let state = if rule.firing { view! { <span class="badge badge-error">"firing"</span> } } else { view! { <span class="badge badge-ok">"normal"</span> } };
                let value = rule.last_value.map(|v| format!("last value {v:.2}")).unwrap_or_else(|| "no calls in the window".into());
                let checked = rule.last_checked_at.clone().map(|t| format!(" · checked {t}")).unwrap_or_else(|| " · not checked yet".into());
                view! {
                    <li data-testid="rule">
                        {state} " " <strong>{rule.rule.describe()}</strong>
                        <span class="muted">{format!(" · {value}{checked}")}</span> " "
                        <button type="button" class="button button-small" aria-label="Delete this rule" on:click=move |_| { remove.dispatch(id.clone()); }>"Delete"</button>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}
