//! One dashboard: its grid of panels (figures, markdown, live dataset
//! statistics), sharing, duplicate and delete; editing is in
//! [`crate::pages::dashboard_editor`].

use agora_model::dashboards::{figure_csv, DashboardChange, DashboardView, DuplicateRequest, Panel, PanelContent};
use agora_model::datasets::ShareRequest;
use agora_model::sharing::{MemberRole, Visibility};
use agora_model::time::format_unix;
use leptos::html::Div;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map, use_query_map};
use serde_json::Value;

use crate::api::dashboards::{dashboard, dashboard_stat, delete_dashboard, duplicate_dashboard, save_dashboard, share_dashboard};
use crate::components::empty_state::EmptyState;
use crate::components::form::{error_besides, error_for, Field, FormError};
use crate::components::loading::Loading;
use crate::components::plot::{download_png, download_text, file_stem, resize, Plot};
use crate::pages::dashboard_editor::DashboardEditor;
use crate::pages::dashboards::flag_badges;
use crate::pages::dataset::role_name;
use crate::session::use_session;

/// How often statistic panels are computed again while the page is open.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
const STAT_REFRESH_SECS: u64 = 30;

#[component]
pub fn DashboardPage() -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let version = RwSignal::new(0u32);
    // Editing is part of the address (`?edit`), so a reload keeps the mode.
    let editing = Memo::new(move |_| query.read().get("edit").is_some());
    let navigate = use_navigate();
    let set_editing = Callback::new(move |on: bool| {
        let to = if on { format!("/dashboards/{}?edit=1", id()) } else { format!("/dashboards/{}", id()) };
        navigate(&to, leptos_router::NavigateOptions { replace: !on, scroll: false, ..Default::default() });
    });
    let loaded = Resource::new(move || (id(), version.get()), |(id, _)| dashboard(id));
    let reload = move || version.update(|v| *v += 1);
    view! {
        <Transition fallback=|| view! { <Loading /> }>
            {move || loaded.get().map(|result| match result {
                Ok(view) if editing.get() && view.editable => {
                    view! { <DashboardEditor view on_done=move |saved| { set_editing.run(false); if saved { reload() } } /> }.into_any()
                }
                Ok(view) => view! { <Dashboard view set_editing reload /> }.into_any(),
                Err(error) => view! { <Unavailable error /> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Dashboard(view: DashboardView, set_editing: Callback<bool>, reload: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let signed_in = use_session().user().is_some();
    let panels = view.panels.clone();
    let html = view.panel_html.clone();
    let id = view.id.clone();
    view! {
        <Title text=view.title.clone() />
        <header class="page-header">
            <div>
                <h1 data-testid="dashboard-title">{view.title.clone()}</h1>
                <p class="muted">
                    {if view.visibility == Visibility::Public { "anyone with the link can view" } else { "private to its members" }}
                    " · updated " {format_unix(view.updated_at)} " · " {agora_model::files::human_bytes(view.bytes)} " "
                    {flag_badges(view.whitelisted, view.protected, view.at_risk)}
                </p>
            </div>
            <div class="actions">
                {view.editable.then(|| view! {
                    <button type="button" class="button button-primary" data-testid="edit-dashboard" on:click=move |_| set_editing.run(true)>"Edit"</button>
                })}
                {signed_in.then(|| view! { <Duplicate id=id.clone() title=view.title.clone() /> })}
            </div>
        </header>
        {(!view.description.is_empty()).then(|| view! { <p class="lead">{view.description.clone()}</p> })}
        {view.at_risk.then(|| view! {
            <div class="alert alert-warn" role="status" data-testid="at-risk">
                "Dashboard storage is nearly full, and this dashboard is among the least recently used: it will be deleted "
                "when storage reaches its limit unless it is viewed or saved again. Ask an administrator to whitelist it to keep it."
            </div>
        })}
        {view.protected.then(|| view! {
            <div class="alert" role="status">"This dashboard is protected: it is read-only for everyone until an administrator unprotects it."</div>
        })}
        {if panels.is_empty() {
            view! {
                <div class="empty-state" data-testid="no-panels">
                    <p>"This dashboard has no panels yet."</p>
                    {view.editable.then(|| view! { <p>"Choose Edit to add Plotly figures, markdown notes or dataset statistics."</p> })}
                </div>
            }
            .into_any()
        } else {
            view! {
                <div class="dash-grid" data-testid="dashboard-grid">
                    {panels.into_iter().enumerate().map(|(n, panel)| {
                        let html = html.get(n).cloned().flatten();
                        view! { <PanelView id=id.clone() n panel html /> }
                    }).collect_view()}
                </div>
            }
            .into_any()
        }}
        {view.manageable.then(|| view! { <Sharing view=view.clone() reload /> <DeleteDashboard id=view.id.clone() title=view.title.clone() protected=view.protected /> })}
    }
}

/// A dashboard that does not exist or is not shared with the caller (the
/// two look the same), with the page's HTTP status set to match (the route
/// renders once its data is in, so the status is still unsent).
#[component]
fn Unavailable(error: agora_model::ApiError) -> impl IntoView {
    crate::components::status::set_http_status(error.http_status());
    let signed_in = use_session().user().is_some();
    view! {
        <Title text="Dashboard not available" />
        <EmptyState icon=icondata::LuLayoutDashboard title="This dashboard is not available">
            <p data-testid="dashboard-unavailable">{error.message.clone()}</p>
            <p>"It may have been deleted, or it is not shared with you. Its owner can share it with you or turn on its link."</p>
            {(!signed_in).then(|| view! { <p><a class="button button-primary" href="/login">"Log in"</a></p> })}
        </EmptyState>
    }
}

/// Where a panel sits on the 12-column grid.
fn grid_style(panel: &Panel) -> String {
    format!("grid-column: {} / span {}; grid-row: {} / span {};", panel.x + 1, panel.w, panel.y + 1, panel.h)
}

#[component]
fn PanelView(id: String, n: usize, panel: Panel, html: Option<String>) -> impl IntoView {
    let full = RwSignal::new(false);
    let node = NodeRef::<Div>::new();
    let style = grid_style(&panel);
    let title = panel.title.clone();
    let (figure, body) = match panel.content {
        PanelContent::Figure { figure } => {
            let figure = Signal::derive(move || Some(figure.clone()));
            (Some(figure), view! { <Plot figure node /> }.into_any())
        }
        PanelContent::Markdown { .. } => {
            (None, view! { <div class="markdown" data-testid="markdown" inner_html=html.unwrap_or_default()></div> }.into_any())
        }
        PanelContent::DatasetStat { .. } => {
            let tick = RwSignal::new(0u32);
            #[cfg(feature = "hydrate")]
            {
                let handle = leptos::prelude::set_interval_with_handle(
                    move || tick.update(|t| *t += 1),
                    std::time::Duration::from_secs(STAT_REFRESH_SECS),
                );
                if let Ok(handle) = handle {
                    on_cleanup(move || handle.clear());
                }
            }
            let stat = Resource::new(move || (id.clone(), tick.get()), move |(id, _)| dashboard_stat(id, n));
            let figure = Signal::derive(move || stat.get().and_then(|r| r.ok()).map(|s| s.figure));
            let body = view! {
                <Transition fallback=|| view! { <Loading /> }>
                    {move || stat.get().map(|result| match result {
                        Ok(_) => view! { <Plot figure node /> }.into_any(),
                        Err(err) => view! { <p class="muted">{err.message}</p> }.into_any(),
                    })}
                </Transition>
            };
            (Some(figure), body.into_any())
        }
    };
    let name = file_stem(if title.is_empty() { "figure" } else { &title });
    let toggle_full = move |_| {
        full.update(|f| *f = !*f);
        // After the browser has laid the panel out at its new size.
        set_timeout(move || resize(node), std::time::Duration::from_millis(50));
    };
    view! {
        <section class="panel" class:panel-full=move || full.get() style=style data-testid="panel">
            <header class="panel-head">
                <h2 class="panel-title">{title.clone()}</h2>
                <div class="panel-actions">
                    {figure.map(|figure| {
                        let (png, csv, json) = (name.clone(), format!("{name}.csv"), format!("{name}.json"));
                        view! {
                            <button type="button" class="button button-small" title="Download as PNG" on:click=move |_| download_png(node, &png)>"PNG"</button>
                            <button type="button" class="button button-small" title="Download the data as CSV" data-testid="download-csv"
                                on:click=move |_| if let Some(f) = figure.get_untracked() { download_text(&csv, "text/csv", &figure_csv(&f)) }>"CSV"</button>
                            <button type="button" class="button button-small" title="Download the figure as JSON" data-testid="download-json"
                                on:click=move |_| if let Some(f) = figure.get_untracked() { download_text(&json, "application/json", &pretty(&f)) }>"JSON"</button>
                        }
                    })}
                    <button type="button" class="button button-small" data-testid="full-screen" aria-pressed=move || full.get().to_string() on:click=toggle_full>
                        {move || if full.get() { "Close" } else { "Full screen" }}
                    </button>
                </div>
            </header>
            <div class="panel-body">{body}</div>
        </section>
    }
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

#[component]
fn Duplicate(id: String, title: String) -> impl IntoView {
    let duplicate = Action::new(move |id: &String| duplicate_dashboard(id.clone(), DuplicateRequest::default()));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(copy)) = duplicate.value().get() {
            navigate(&format!("/dashboards/{}", copy.id), Default::default());
        }
    });
    view! {
        <button type="button" class="button" data-testid="duplicate-dashboard" title=format!("Save a private copy of “{title}” as a new dashboard")
            disabled=move || duplicate.pending().get() on:click=move |_| { duplicate.dispatch(id.clone()); }>
            "Save as new"
        </button>
        {move || duplicate.value().get().and_then(|r| r.err()).map(|err| view! { <span class="field-error" role="alert">{err.message}</span> })}
    }
}

#[component]
fn Sharing(view: DashboardView, reload: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let id = view.id.clone();
    let public = view.visibility == Visibility::Public;
    let version = view.version.clone();
    let set_visibility = Action::new(move |(id, change): &(String, DashboardChange)| save_dashboard(id.clone(), change.clone()));
    let share = Action::new(move |(id, request): &(String, ShareRequest)| share_dashboard(id.clone(), request.clone()));
    let result = Signal::from(share.value());
    Effect::new(move |_| {
        if matches!(share.value().get(), Some(Ok(_))) || matches!(set_visibility.value().get(), Some(Ok(_))) {
            reload();
        }
    });
    let username = RwSignal::new(String::new());
    let role = RwSignal::new(MemberRole::Viewer);
    let link = RwSignal::new(String::new());
    let link_node = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(location) = web_sys_location() {
            link.set(location);
        }
    });
    let toggle_id = id.clone();
    let on_toggle = move |ev: leptos::ev::Event| {
        let visibility = if event_target_checked(&ev) { Visibility::Public } else { Visibility::Private };
        set_visibility.dispatch((
            toggle_id.clone(),
            DashboardChange { version: version.clone(), visibility: Some(visibility), ..Default::default() },
        ));
    };
    let share_id = id.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        share.dispatch((share_id.clone(), ShareRequest { username: username.get_untracked(), role: Some(role.get_untracked()) }));
    };
    view! {
        <section class="card settings-section" aria-labelledby="sharing-heading" data-testid="sharing">
            <h2 id="sharing-heading">"Sharing"</h2>
            <label class="checkbox">
                <input type="checkbox" data-testid="share-link" prop:checked=public on:change=on_toggle disabled=move || set_visibility.pending().get() />
                " Anyone with the link can view (read-only, no account needed)"
            </label>
            {move || set_visibility.value().get().and_then(|r| r.err()).map(|err| view! { <p class="field-error" role="alert">{err.message}</p> })}
            {public.then(|| view! {
                <div class="field">
                    <label for="dashboard-link">"Link"</label>
                    <input id="dashboard-link" readonly data-testid="dashboard-link" node_ref=link_node prop:value=move || link.get()
                        on:focus=move |_| if let Some(input) = link_node.get_untracked() { input.select() } />
                </div>
            })}
            <table class="table" data-testid="members-table">
                <tbody>
                    {view.members.into_iter().map(|m| {
                        let (remove_id, who) = (id.clone(), m.username.clone());
                        let removable = m.role != MemberRole::Owner;
                        view! {
                            <tr data-testid="member-row">
                                <td>{m.username.clone()}</td>
                                <td>{role_name(m.role)}</td>
                                <td>{removable.then(|| view! {
                                    <button type="button" class="button button-small" on:click=move |_| {
                                        share.dispatch((remove_id.clone(), ShareRequest { username: who.clone(), role: None }));
                                    }>"Remove"</button>
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <form class="form share-form" on:submit=on_submit data-testid="share-form">
                <Field label="Share with (username)" name="share_username" bind=username error=error_for(result, "username") />
                <div class="field">
                    <label for="dashboard-share-role">"Role"</label>
                    <select id="dashboard-share-role" on:change=move |ev| role.set(if event_target_value(&ev) == "editor" { MemberRole::Editor } else { MemberRole::Viewer })>
                        <option value="viewer" selected>"viewer — can view"</option>
                        <option value="editor">"editor — can also change panels"</option>
                    </select>
                </div>
                <FormError error=error_besides(result, &["username"]) />
                <button type="submit" class="button button-primary" disabled=move || share.pending().get()>"Share"</button>
            </form>
        </section>
    }
}

/// The page's address (for the share link), in the browser.
fn web_sys_location() -> Option<String> {
    #[cfg(feature = "hydrate")]
    {
        web_sys::window().and_then(|w| w.location().href().ok()).map(|href| href.split('?').next().unwrap_or_default().to_owned())
    }
    #[cfg(not(feature = "hydrate"))]
    {
        None
    }
}

#[component]
fn DeleteDashboard(id: String, title: String, protected: bool) -> impl IntoView {
    let delete = Action::new(move |id: &String| delete_dashboard(id.clone()));
    let navigate = use_navigate();
    let gone = title.clone();
    Effect::new(move |_| {
        if let Some(Ok(())) = delete.value().get() {
            navigate(&format!("/dashboards?deleted={}", crate::url::encode_query_value(&gone)), Default::default());
        }
    });
    let confirming = RwSignal::new(false);
    view! {
        <section class="card settings-section danger" aria-labelledby="delete-heading">
            <h2 id="delete-heading">"Delete this dashboard"</h2>
            {if protected {
                view! { <p class="muted">"A protected dashboard cannot be deleted."</p> }.into_any()
            } else {
                view! {
                    <Show when=move || confirming.get() fallback=move || view! {
                        <button type="button" class="button button-danger" data-testid="delete-dashboard" on:click=move |_| confirming.set(true)>"Delete…"</button>
                    }>
                        {
                            let id = id.clone();
                            view! {
                                <p>{format!("Delete “{title}” for everyone? This cannot be undone.")}</p>
                                <button type="button" class="button button-danger" data-testid="confirm-delete-dashboard"
                                    disabled=move || delete.pending().get() on:click=move |_| { delete.dispatch(id.clone()); }>"Delete for good"</button>
                                " "
                                <button type="button" class="button" on:click=move |_| confirming.set(false)>"Keep it"</button>
                            }
                        }
                    </Show>
                    {move || delete.value().get().and_then(|r| r.err()).map(|err| view! { <p class="field-error" role="alert">{err.message}</p> })}
                }
                .into_any()
            }}
        </section>
    }
}
