//! Training runs: the Runs section of a dataset page, and a session's page
//! with its live log, metric charts (other sessions overlaid), rounds with
//! their artifacts, and "save as dashboard".

use agora_model::runs::{lower_is_better, metric_figure, RunStatus, RunView};
use agora_model::time::format_unix;
use leptos::html::Pre;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::runs::{artifact_link, list_runs, run, run_dashboard};
use crate::components::empty_state::EmptyState;
use crate::components::form::ErrorAlert;
use crate::components::live::listen;
use crate::components::loading::Loading;
use crate::components::plot::Plot;

/// Lines the page keeps on screen (the download has them all).
const SHOWN_LINES: usize = 5000;

pub fn status_badge(status: RunStatus) -> impl IntoView {
    let class = match status {
        RunStatus::Running => "badge badge-ok",
        RunStatus::Finished => "badge",
        RunStatus::Failed => "badge badge-error",
        RunStatus::Stale => "badge badge-warn",
    };
    let title = match status {
        RunStatus::Stale => "Running, but no heartbeat or report for a while",
        _ => "",
    };
    view! { <span class=class title=title data-testid="run-status">{status.label()}</span> }
}

fn duration(seconds: i64) -> String {
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {} s", s / 60, s % 60),
        s => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// The metric a list shows: the first loss-like one, else the first.
fn headline_metric(run: &RunView) -> Option<String> {
    let names = run.metric_names();
    names.iter().find(|n| lower_is_better(n)).or(names.first()).cloned()
}

/// The Runs section of a dataset page; `refresh` changes when the dataset does.
#[component]
pub fn Runs(id: String, refresh: RwSignal<u32>) -> impl IntoView {
    let runs = Resource::new(move || (id.clone(), refresh.get()), |(id, _)| list_runs(id));
    view! {
        <section class="card settings-section" aria-labelledby="runs-heading" data-testid="runs">
            <h2 id="runs-heading">"Training runs"</h2>
            <Transition fallback=|| view! { <Loading /> }>
                {move || runs.get().map(|result| match result {
                    Ok(list) if list.is_empty() => view! {
                        <p class="muted" data-testid="no-runs">
                            "No training runs yet. A training script reports sessions, rounds, logs and models here with an API key "
                            "that may write to this dataset: see examples/train_client.py."
                        </p>
                    }
                    .into_any(),
                    Ok(list) => {
                        let active = list.iter().filter(|r| r.status == RunStatus::Running).count();
                        view! {
                            <p class="muted" data-testid="runs-active">{format!("{active} active · {} in all", list.len())}</p>
                            <div class="table-wrap">
                                <table class="table" data-testid="runs-table">
                                    <thead><tr><th>"Session"</th><th>"Status"</th><th>"Started"</th><th>"Duration"</th><th>"Last round"</th><th>"Best"</th></tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|r| {
                                            let best = headline_metric(&r).and_then(|m| r.best(&m).map(|v| format!("{m} {v:.4}")));
                                            let (href, name, took) = (format!("/datasets/{}/runs/{}", r.dataset, r.id), r.name.clone(), duration(r.duration()));
                                            view! {
                                                <tr data-testid="run-row">
                                                    <td><A href=href>{name}</A></td>
                                                    <td>{status_badge(r.status)}</td>
                                                    <td>{format_unix(r.started_at)}</td>
                                                    <td>{took}</td>
                                                    <td>{r.last_round().map(|n| n.to_string()).unwrap_or_else(|| "—".into())}</td>
                                                    <td>{best.unwrap_or_else(|| "—".into())}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }
                        .into_any()
                    }
                    Err(err) => view! { <ErrorAlert error=err /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
pub fn RunPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let run_id = move || params.read().get("run").unwrap_or_default();
    let version = RwSignal::new(0u32);
    // Rounds, status and artifacts follow the dataset's change notices.
    Effect::new(move |_| {
        listen(&format!("/api/v1/datasets/{}/events", id()), &["changed"], move |_, _| version.update(|v| *v += 1));
    });
    let loaded = Resource::new(move || (id(), run_id(), version.get()), |(id, run_id, _)| run(id, run_id));
    let all = Resource::new(move || (id(), version.get()), |(id, _)| list_runs(id));
    // Kept above the parts that reload with each report, so a filter typed
    // into the log or sessions chosen for comparison stay as they are.
    let compare = RwSignal::new(Vec::<String>::new());
    view! {
        <Transition fallback=|| view! { <Loading /> }>
            {move || loaded.get().map(|result| match result {
                Ok(view) => view! { <Run view all compare /> }.into_any(),
                Err(error) => view! {
                    <EmptyState icon=icondata::LuActivity title="This training run is not available">
                        <p>{error.message}</p>
                    </EmptyState>
                }
                .into_any(),
            })}
        </Transition>
        {move || view! { <Log id=id() run=run_id() /> }}
    }
}

#[component]
fn Run(view: RunView, all: Resource<Result<Vec<RunView>, agora_model::ApiError>>, compare: RwSignal<Vec<String>>) -> impl IntoView {
    let params = serde_json::to_string_pretty(&view.params).unwrap_or_default();
    let (id, run_id) = (view.dataset.clone(), view.id.clone());
    view! {
        <Title text=format!("{} · run", view.name) />
        <p><A href=format!("/datasets/{}", view.dataset)>"← the dataset"</A></p>
        <header class="page-header">
            <div>
                <h1 data-testid="run-name">{view.name.clone()}</h1>
                <p class="muted">
                    {status_badge(view.status)} " · started " {format_unix(view.started_at)} " by " {view.by.clone()}
                    " · " {duration(view.duration())} " · last sign of life " {format_unix(view.last_seen)}
                </p>
            </div>
            <SaveAsDashboard id=id.clone() run=run_id.clone() />
        </header>
        {(!view.reason.is_empty()).then(|| view! { <div class="alert alert-error" role="status">{format!("Failed: {}", view.reason)}</div> })}
        {(view.params != serde_json::Value::Null).then(|| view! {
            <details class="card"><summary>"Parameters"</summary><pre class="code" data-testid="run-params">{params}</pre></details>
        })}
        {view.log_truncated.then(|| view! { <p class="muted" data-testid="log-truncated">"This session's log reached its size limit; later lines were dropped."</p> })}
        <Charts view=view.clone() all compare />
        <Rounds view=view.clone() />
    }
}

#[component]
fn Charts(view: RunView, all: Resource<Result<Vec<RunView>, agora_model::ApiError>>, compare: RwSignal<Vec<String>>) -> impl IntoView {
    let metrics = view.metric_names();
    let this = view.clone();
    let shown = move || {
        let mut runs = vec![this.clone()];
        let chosen = compare.get();
        if let Some(Ok(others)) = all.get() {
            runs.extend(others.into_iter().filter(|r| r.id != this.id && chosen.contains(&r.id)));
        }
        runs
    };
    let shown = Memo::new(move |_| shown());
    if metrics.is_empty() {
        return view! { <section class="card"><h2>"Metrics"</h2><p class="muted">"No rounds reported yet."</p></section> }.into_any();
    }
    let own_id = view.id.clone();
    view! {
        <section class="card settings-section" aria-labelledby="metrics-heading">
            <h2 id="metrics-heading">"Metrics"</h2>
            <Transition fallback=|| ()>
                {move || all.get().and_then(|r| r.ok()).map(|others| {
                    let others: Vec<RunView> = others.into_iter().filter(|r| r.id != own_id).collect();
                    (!others.is_empty()).then(|| view! {
                        <fieldset class="compare">
                            <legend>"Compare with"</legend>
                            {others.into_iter().map(|other| {
                                let other_id = other.id.clone();
                                let checked_id = other.id.clone();
                                view! {
                                    <label class="checkbox">
                                        <input type="checkbox" data-testid="compare-run" prop:checked=move || compare.get().contains(&checked_id)
                                            on:change=move |ev| {
                                                let on = event_target_checked(&ev);
                                                compare.update(|c| { c.retain(|x| *x != other_id); if on { c.push(other_id.clone()); } });
                                            } />
                                        " " {other.name.clone()}
                                    </label>
                                }
                            }).collect_view()}
                        </fieldset>
                    })
                })}
            </Transition>
            <div class="dash-grid">
                {metrics.into_iter().map(|metric| {
                    let name = metric.clone();
                    let figure = Signal::derive(move || Some(metric_figure(&shown.get(), &metric)));
                    view! {
                        <section class="panel" style="grid-column: span 6; grid-row: span 5;" data-testid="metric-chart">
                            <header class="panel-head"><h3 class="panel-title">{name}</h3></header>
                            <div class="panel-body"><Plot figure /></div>
                        </section>
                    }
                }).collect_view()}
            </div>
        </section>
    }
    .into_any()
}

#[component]
fn Rounds(view: RunView) -> impl IntoView {
    let metrics = view.metric_names();
    let (id, run_id) = (view.dataset.clone(), view.id.clone());
    let download = Action::new(move |(round, name): &(i64, String)| artifact_link(id.clone(), run_id.clone(), *round, name.clone()));
    Effect::new(move |_| {
        if let Some(Ok(link)) = download.value().get() {
            go_to(&link.url);
        }
    });
    view! {
        <section class="card settings-section" aria-labelledby="rounds-heading">
            <h2 id="rounds-heading">"Rounds"</h2>
            {move || download.value().get().and_then(|r| r.err()).map(|err| view! { <ErrorAlert error=err /> })}
            <div class="table-wrap">
                <table class="table" data-testid="rounds-table">
                    <thead><tr><th>"Round"</th>{metrics.iter().map(|m| view! { <th>{m.clone()}</th> }).collect_view()}<th>"Notes"</th><th>"Artifacts"</th></tr></thead>
                    <tbody>
                        {view.rounds.iter().map(|round| {
                            let number = round.round;
                            view! {
                                <tr data-testid="round-row">
                                    <td>{number}</td>
                                    {metrics.iter().map(|m| view! { <td>{round.metrics.get(m).map(|v| format!("{v:.4}")).unwrap_or_default()}</td> }).collect_view()}
                                    <td class="muted">{round.notes.clone()}</td>
                                    <td>
                                        {round.artifacts.iter().map(|a| {
                                            let name = a.name.clone();
                                            view! {
                                                <button type="button" class="button button-small" data-testid="download-artifact"
                                                    title=format!("{} bytes", a.size)
                                                    on:click=move |_| { download.dispatch((number, name.clone())); }>
                                                    {format!("⬇ {} ({})", a.name, agora_model::files::human_bytes(a.size))}
                                                </button>
                                            }
                                        }).collect_view()}
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}

fn go_to(url: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().set_href(url);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = url;
}

/// The live log: the last lines, then new ones as they arrive (server-sent
/// events); follow (scroll along) or pause; filter; download it whole.
#[component]
fn Log(id: String, run: String) -> impl IntoView {
    let lines = RwSignal::new(Vec::<String>::new());
    let held = RwSignal::new(Vec::<String>::new());
    let paused = RwSignal::new(false);
    let follow = RwSignal::new(true);
    let filter = RwSignal::new(String::new());
    let node = NodeRef::<Pre>::new();
    let url = format!("/api/v1/datasets/{id}/runs/{run}/logs/events");
    Effect::new(move |_| {
        listen(&url, &["tail", "lines"], move |event, data| {
            let Ok(value) = serde_json::from_str::<serde_json::Value>(&data) else { return };
            let new: Vec<String> =
                value["lines"].as_array().map(|a| a.iter().filter_map(|l| l.as_str().map(str::to_owned)).collect()).unwrap_or_default();
            if event == "tail" {
                lines.set(new);
            } else if paused.get_untracked() {
                held.update(|h| h.extend(new));
            } else {
                lines.update(|l| append(l, new));
            }
        });
    });
    let resume = move || {
        paused.set(false);
        let waiting = held.try_update(std::mem::take).unwrap_or_default();
        lines.update(|l| append(l, waiting));
    };
    let shown = Memo::new(move |_| {
        let needle = filter.get().to_lowercase();
        lines.with(|all| {
            if needle.is_empty() {
                all.join("\n")
            } else {
                all.iter().filter(|l| l.to_lowercase().contains(&needle)).cloned().collect::<Vec<_>>().join("\n")
            }
        })
    });
    Effect::new(move |_| {
        shown.track();
        if follow.get() {
            if let Some(pre) = node.get() {
                pre.set_scroll_top(pre.scroll_height());
            }
        }
    });
    let download = format!("/api/v1/datasets/{id}/runs/{run}/logs");
    view! {
        <section class="card settings-section" aria-labelledby="log-heading">
            <h2 id="log-heading">"Log"</h2>
            <div class="log-tools">
                <label class="checkbox"><input type="checkbox" data-testid="log-follow" prop:checked=move || follow.get() on:change=move |ev| follow.set(event_target_checked(&ev)) />" Follow"</label>
                <button type="button" class="button button-small" data-testid="log-pause"
                    on:click=move |_| if paused.get_untracked() { resume() } else { paused.set(true) }>
                    {move || if paused.get() { format!("Resume ({} new)", held.with(Vec::len)) } else { "Pause".to_owned() }}
                </button>
                <input type="search" class="log-filter" placeholder="Search the log…" aria-label="Search the log" data-testid="log-filter"
                    prop:value=move || filter.get() on:input=move |ev| filter.set(event_target_value(&ev)) />
                <a class="button button-small" href=download download="" data-testid="log-download">"Download the whole log"</a>
            </div>
            <pre class="code log" node_ref=node data-testid="log" aria-live="off">{move || shown.get()}</pre>
            <p class="muted">{move || format!("{} lines shown (the last {SHOWN_LINES} at most; the download has them all)", lines.with(Vec::len))}</p>
        </section>
    }
}

fn append(lines: &mut Vec<String>, new: Vec<String>) {
    lines.extend(new);
    let excess = lines.len().saturating_sub(SHOWN_LINES);
    lines.drain(..excess);
}

#[component]
fn SaveAsDashboard(id: String, run: String) -> impl IntoView {
    let save = Action::new(move |_: &()| run_dashboard(id.clone(), run.clone(), Vec::new()));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(dashboard)) = save.value().get() {
            navigate(&format!("/dashboards/{}", dashboard.id), Default::default());
        }
    });
    view! {
        <div class="actions">
            <button type="button" class="button" data-testid="save-as-dashboard" disabled=move || save.pending().get()
                on:click=move |_| { save.dispatch(()); }>"Save charts as a dashboard"</button>
            {move || save.value().get().and_then(|r| r.err()).map(|err| view! { <span class="field-error" role="alert">{err.message}</span> })}
        </div>
    }
}
