//! Editing a dashboard: title and description, panels added, removed,
//! reordered and resized; a figure's JSON checked as it is typed and drawn
//! as a preview (or uploaded from a `.json` file); markdown with a preview
//! rendered by the server. Saving names the version the edit started from,
//! so someone else's save in between is a conflict, never overwritten.

use agora_model::dashboards::{
    flow_layout, normalize_title, validate_figure, DashboardChange, DashboardView, DatasetStat, Panel, PanelContent, GRID_COLUMNS,
    MAX_PANEL_ROWS,
};
use agora_model::{ApiError, ErrorKind};
use leptos::prelude::*;
use leptos_meta::Title;
use serde_json::Value;

use crate::api::dashboards::{render_markdown, save_dashboard};
use crate::api::datasets::list_datasets;
use crate::components::form::Field;
use crate::components::loading::Loading;
use crate::components::plot::Plot;

#[derive(Clone, Copy)]
enum Body {
    Figure(RwSignal<String>),
    Markdown(RwSignal<String>),
    Stat { dataset: RwSignal<String>, stat: RwSignal<DatasetStat> },
}

/// One panel being edited.
#[derive(Clone, Copy)]
struct Draft {
    key: usize,
    title: RwSignal<String>,
    w: RwSignal<u32>,
    h: RwSignal<u32>,
    body: Body,
}

impl Draft {
    fn new(key: usize, panel: &Panel) -> Self {
        let body = match &panel.content {
            PanelContent::Figure { figure } => Body::Figure(RwSignal::new(serde_json::to_string_pretty(figure).unwrap_or_default())),
            PanelContent::Markdown { text } => Body::Markdown(RwSignal::new(text.clone())),
            PanelContent::DatasetStat { dataset, stat } => {
                Body::Stat { dataset: RwSignal::new(dataset.clone()), stat: RwSignal::new(*stat) }
            }
        };
        Self { key, title: RwSignal::new(panel.title.clone()), w: RwSignal::new(panel.w), h: RwSignal::new(panel.h), body }
    }

    /// The panel, or why it cannot be saved yet.
    fn panel(&self) -> Result<Panel, String> {
        let content = match self.body {
            Body::Figure(text) => PanelContent::Figure { figure: parse_figure(&text.get_untracked())? },
            Body::Markdown(text) => PanelContent::Markdown { text: text.get_untracked() },
            Body::Stat { dataset, stat } => {
                let dataset = dataset.get_untracked();
                if dataset.is_empty() {
                    return Err("choose a dataset".into());
                }
                PanelContent::DatasetStat { dataset, stat: stat.get_untracked() }
            }
        };
        Ok(Panel { title: self.title.get_untracked(), x: 0, y: 0, w: self.w.get_untracked(), h: self.h.get_untracked(), content })
    }
}

/// The figure in the editor's text, or what is wrong with it (with the line
/// and column for JSON syntax).
fn parse_figure(text: &str) -> Result<Value, String> {
    let figure: Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON (line {}, column {}): {e}", e.line(), e.column()))?;
    validate_figure("figure", &figure).map_err(|e| e.message)?;
    Ok(figure)
}

const EXAMPLE_FIGURE: &str = r#"{
  "data": [{"type": "scatter", "mode": "lines+markers", "name": "loss", "x": [1, 2, 3, 4], "y": [0.9, 0.6, 0.45, 0.4]}],
  "layout": {"xaxis": {"title": {"text": "epoch"}}, "yaxis": {"title": {"text": "loss"}}}
}"#;

#[component]
pub fn DashboardEditor(view: DashboardView, on_done: impl Fn(bool) + Copy + Send + Sync + 'static) -> impl IntoView {
    let id = view.id.clone();
    let version = view.version.clone();
    let title = RwSignal::new(view.title.clone());
    let description = RwSignal::new(view.description.clone());
    let next_key = StoredValue::new(view.panels.len());
    let drafts = RwSignal::new(view.panels.iter().enumerate().map(|(n, p)| Draft::new(n, p)).collect::<Vec<_>>());
    let local_error = RwSignal::new(None::<String>);
    let save = Action::new(move |(id, change): &(String, DashboardChange)| save_dashboard(id.clone(), change.clone()));
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            on_done(true);
        }
    });
    let server_error = Signal::derive(move || save.value().get().and_then(|r| r.err()));
    let add = move |panel: Panel| {
        let key = next_key.get_value();
        next_key.set_value(key + 1);
        drafts.update(|d| d.push(Draft::new(key, &panel)));
    };
    let blank = |content: PanelContent, w: u32, h: u32| Panel { title: String::new(), x: 0, y: 0, w, h, content };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        local_error.set(None);
        if let Err(err) = normalize_title(&title.get_untracked()) {
            local_error.set(Some(format!("Title: {}", err.message)));
            return;
        }
        let mut panels = Vec::new();
        for (n, draft) in drafts.get_untracked().iter().enumerate() {
            match draft.panel() {
                Ok(panel) => panels.push(panel),
                Err(why) => {
                    local_error.set(Some(format!("Panel {}: {why}", n + 1)));
                    return;
                }
            }
        }
        flow_layout(&mut panels);
        let change = DashboardChange {
            version: version.clone(),
            title: Some(title.get_untracked()),
            description: Some(description.get_untracked()),
            panels: Some(panels),
            visibility: None,
        };
        save.dispatch((id.clone(), change));
    };
    let title_error = Signal::derive(move || {
        server_error
            .get()
            .filter(|e| e.field.as_deref() == Some("title"))
            .map(|e| e.message)
            .or_else(|| normalize_title(&title.get()).err().map(|e| e.message))
    });
    let numbered = move || drafts.get().into_iter().enumerate().collect::<Vec<_>>();
    view! {
        <Title text=format!("Editing {}", view.title) />
        <form class="form dashboard-editor" on:submit=on_submit data-testid="dashboard-editor">
            <header class="page-header">
                <h1>"Edit dashboard"</h1>
                <div class="actions">
                    <button type="submit" class="button button-primary" data-testid="save-dashboard" disabled=move || save.pending().get()>
                        {move || if save.pending().get() { "Saving…" } else { "Save" }}
                    </button>
                    <button type="button" class="button" data-testid="cancel-edit" on:click=move |_| on_done(false)>"Cancel"</button>
                </div>
            </header>
            <SaveError server_error local_error />
            <Field label="Title" name="dashboard_title" bind=title error=title_error required=true />
            <Field label="Description" name="dashboard_description" bind=description
                error=Signal::derive(move || server_error.get().filter(|e| e.field.as_deref() == Some("description")).map(|e| e.message)) />
            <p class="muted">
                "Panels fill the 12-column grid in order, left to right. Width is in columns, height in rows of 60 pixels."
            </p>
            <ol class="panel-drafts">
                <For each=numbered key=|(n, d)| (d.key, *n) let:item>
                    <DraftEditor n=item.0 draft=item.1 drafts server_error />
                </For>
            </ol>
            {move || drafts.with(Vec::is_empty).then(|| view! {
                <p class="empty-state" data-testid="no-panels">"No panels yet: add a figure, a note or a statistic below."</p>
            })}
            <div class="actions add-panels">
                <button type="button" class="button" data-testid="add-figure"
                    on:click=move |_| add(blank(PanelContent::Figure { figure: serde_json::from_str(EXAMPLE_FIGURE).unwrap_or_default() }, 6, 5))>
                    "+ Plotly figure"
                </button>
                <button type="button" class="button" data-testid="add-markdown"
                    on:click=move |_| add(blank(PanelContent::Markdown { text: String::new() }, 6, 4))>"+ Markdown"</button>
                <button type="button" class="button" data-testid="add-stat"
                    on:click=move |_| add(blank(PanelContent::DatasetStat { dataset: String::new(), stat: DatasetStat::LabelDistribution }, 6, 5))>
                    "+ Dataset statistic"
                </button>
            </div>
        </form>
    }
}

#[component]
fn SaveError(server_error: Signal<Option<ApiError>>, local_error: RwSignal<Option<String>>) -> impl IntoView {
    move || {
        if let Some(message) = local_error.get() {
            return Some(view! { <div class="alert alert-error" role="alert" data-testid="save-error">{message}</div> }.into_any());
        }
        let err = server_error.get()?;
        Some(if err.kind == ErrorKind::Conflict {
            view! {
                <div class="alert alert-error" role="alert" data-testid="save-conflict">
                    <p><strong>"Not saved: "</strong>{err.message.clone()}</p>
                    <p>"Your changes are still here. Copy what you need, then reload to start from the saved version."</p>
                    <button type="button" class="button" on:click=move |_| reload_page()>"Reload"</button>
                </div>
            }
            .into_any()
        } else {
            let place = err.field.clone().map(|f| format!("{f}: ")).unwrap_or_default();
            view! { <div class="alert alert-error" role="alert" data-testid="save-error">{format!("Not saved: {place}{}", err.message)}</div> }.into_any()
        })
    }
}

fn reload_page() {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.location().reload();
    }
}

/// The server's error about panel `n`, if it names one (`panels[n]…`).
fn panel_error(error: Option<ApiError>, n: usize) -> Option<String> {
    let error = error?;
    let field = error.field.as_deref()?;
    let rest = field.strip_prefix(&format!("panels[{n}]"))?;
    if rest.starts_with(|c: char| c.is_ascii_digit()) {
        return None; // panels[1] is not panels[12]
    }
    let rest = rest.trim_start_matches('.');
    Some(if rest.is_empty() { error.message } else { format!("{rest}: {}", error.message) })
}

#[component]
fn DraftEditor(n: usize, draft: Draft, drafts: RwSignal<Vec<Draft>>, server_error: Signal<Option<ApiError>>) -> impl IntoView {
    let shift = move |by: isize| {
        drafts.update(|d| {
            let to = n as isize + by;
            if to >= 0 && (to as usize) < d.len() {
                d.swap(n, to as usize);
            }
        })
    };
    // Outside the view: a `>` in an attribute closure would end the tag.
    let is_last = move || n + 1 >= drafts.with(Vec::len);
    let kind = match draft.body {
        Body::Figure(_) => "Plotly figure",
        Body::Markdown(_) => "Markdown",
        Body::Stat { .. } => "Dataset statistic",
    };
    let body = match draft.body {
        Body::Figure(text) => view! { <FigureEditor n text /> }.into_any(),
        Body::Markdown(text) => view! { <MarkdownEditor n text /> }.into_any(),
        Body::Stat { dataset, stat } => view! { <StatEditor n dataset stat /> }.into_any(),
    };
    view! {
        <li class="card panel-draft" data-testid="panel-draft">
            <div class="panel-draft-head">
                <strong>{format!("{} · {kind}", n + 1)}</strong>
                <div class="actions">
                    <label class="inline-field">"Width "
                        <select aria-label="Width in columns" data-testid="panel-width" on:change=move |ev| draft.w.set(event_target_value(&ev).parse().unwrap_or(6))>
                            {(1..=GRID_COLUMNS).map(|w| view! { <option value=w.to_string() selected=move || draft.w.get() == w>{w.to_string()}</option> }).collect_view()}
                        </select>
                    </label>
                    <label class="inline-field">"Height "
                        <input type="number" min="1" max=MAX_PANEL_ROWS.to_string() aria-label="Height in rows" data-testid="panel-height"
                            prop:value=move || draft.h.get().to_string()
                            on:input=move |ev| draft.h.set(event_target_value(&ev).parse::<u32>().unwrap_or(1).clamp(1, MAX_PANEL_ROWS)) />
                    </label>
                    <button type="button" class="button button-small" aria-label="Move up" disabled=move || n == 0 on:click=move |_| shift(-1)>"↑"</button>
                    <button type="button" class="button button-small" aria-label="Move down" disabled=is_last on:click=move |_| shift(1)>"↓"</button>
                    <button type="button" class="button button-small button-danger" data-testid="remove-panel"
                        on:click=move |_| drafts.update(|d| { d.remove(n); })>"Remove"</button>
                </div>
            </div>
            <div class="field">
                <label for=format!("panel-title-{n}")>"Panel title"</label>
                <input id=format!("panel-title-{n}") data-testid="panel-title" prop:value=move || draft.title.get() on:input=move |ev| draft.title.set(event_target_value(&ev)) />
            </div>
            {body}
            {move || panel_error(server_error.get(), n).map(|message| view! { <p class="field-error" role="alert" data-testid="panel-error">{message}</p> })}
        </li>
    }
}

#[component]
fn FigureEditor(n: usize, text: RwSignal<String>) -> impl IntoView {
    let parsed = Memo::new(move |_| parse_figure(&text.get()));
    let figure = Signal::derive(move || parsed.get().ok());
    let id = format!("figure-json-{n}");
    view! {
        <div class="figure-editor">
            <div class="field">
                <label for=id.clone()>"Figure JSON ("<code>"fig.to_json()"</code>" in Python)"</label>
                <textarea id=id.clone() class="code" rows="14" spellcheck="false" data-testid="figure-json"
                    aria-invalid=move || parsed.with(Result::is_err).to_string()
                    prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                {move || parsed.get().err().map(|why| view! { <p class="field-error" role="alert" data-testid="figure-error">{why}</p> })}
                <label class="file-button">"Upload a .json figure "
                    <input type="file" accept=".json,application/json" data-testid="figure-file" on:change=move |ev| read_file_into(ev, text) />
                </label>
            </div>
            <div class="figure-preview" data-testid="figure-preview">
                <Plot figure />
            </div>
        </div>
    }
}

/// Reads the chosen file's text into `text`.
fn read_file_into(ev: leptos::ev::Event, text: RwSignal<String>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
        let Some(file) = input.files().and_then(|files| files.get(0)) else { return };
        leptos::task::spawn_local(async move {
            if let Ok(value) = wasm_bindgen_futures::JsFuture::from(file.text()).await {
                if let Some(content) = value.as_string() {
                    text.set(content);
                }
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, text);
}

#[component]
fn MarkdownEditor(n: usize, text: RwSignal<String>) -> impl IntoView {
    let settled = leptos_use::signal_debounced(text, 300.0);
    let preview = Resource::new(move || settled.get(), render_markdown);
    let id = format!("markdown-{n}");
    view! {
        <div class="figure-editor">
            <div class="field">
                <label for=id.clone()>"Markdown"</label>
                <textarea id=id.clone() class="code" rows="10" data-testid="markdown-text"
                    prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))></textarea>
            </div>
            <div class="markdown-preview">
                <Transition fallback=|| view! { <Loading /> }>
                    {move || preview.get().map(|result| match result {
                        Ok(html) => view! { <div class="markdown" data-testid="markdown-preview" inner_html=html></div> }.into_any(),
                        Err(err) => view! { <p class="field-error" role="alert">{err.message}</p> }.into_any(),
                    })}
                </Transition>
            </div>
        </div>
    }
}

#[component]
fn StatEditor(n: usize, dataset: RwSignal<String>, stat: RwSignal<DatasetStat>) -> impl IntoView {
    let datasets = Resource::new(|| (), |_| list_datasets());
    let stats = [DatasetStat::LabelDistribution, DatasetStat::FilesOverTime, DatasetStat::SizeHistogram];
    view! {
        <div class="field">
            <label for=format!("stat-dataset-{n}")>"Dataset"</label>
            <Transition fallback=|| view! { <Loading /> }>
                {move || datasets.get().map(|result| match result {
                    Ok(list) => view! {
                        <select id=format!("stat-dataset-{n}") data-testid="stat-dataset" on:change=move |ev| dataset.set(event_target_value(&ev))>
                            <option value="" selected=move || dataset.get().is_empty()>"Choose a dataset…"</option>
                            {list.into_iter().map(|ds| {
                                let value = ds.id.clone();
                                view! { <option value=ds.id.clone() selected=move || dataset.get() == value>{ds.name}</option> }
                            }).collect_view()}
                        </select>
                    }
                    .into_any(),
                    Err(err) => view! { <p class="field-error">{err.message}</p> }.into_any(),
                })}
            </Transition>
        </div>
        <div class="field">
            <label for=format!("stat-kind-{n}")>"Statistic"</label>
            <select id=format!("stat-kind-{n}") data-testid="stat-kind"
                on:change=move |ev| if let Some(s) = stats.iter().find(|s| stat_value(**s) == event_target_value(&ev)) { stat.set(*s) }>
                {stats.into_iter().map(|s| view! { <option value=stat_value(s) selected=move || stat.get() == s>{s.label()}</option> }).collect_view()}
            </select>
            <p class="field-hint">"Computed from the search index each time the dashboard is viewed, so it follows the dataset."</p>
        </div>
    }
}

fn stat_value(stat: DatasetStat) -> &'static str {
    match stat {
        DatasetStat::LabelDistribution => "label_distribution",
        DatasetStat::FilesOverTime => "files_over_time",
        DatasetStat::SizeHistogram => "size_histogram",
    }
}
