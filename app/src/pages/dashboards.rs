//! The dashboards a person owns or was given, and a form to start one.

use agora_model::dashboards::{normalize_title, DashboardSummary, NewDashboard};
use agora_model::time::format_unix;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::dashboards::{create_dashboard, list_dashboards};
use crate::components::empty_state::EmptyState;
use crate::components::form::{error_besides, error_for, ErrorAlert, Field, FormError, Notice};
use crate::components::loading::Loading;
use crate::session::SignedIn;

#[component]
pub fn DashboardsPage() -> impl IntoView {
    let query = use_query_map();
    let deleted = move || query.read().get("deleted");
    view! {
        <Title text="Dashboards" />
        <header class="page-header"><h1>"Dashboards"</h1></header>
        {move || deleted().map(|title| view! { <Notice>{format!("“{title}” is deleted.")}</Notice> })}
        <SignedIn children=|_| view! { <NewDashboardForm /> <DashboardList /> } />
    }
}

#[component]
fn DashboardList() -> impl IntoView {
    let list = Resource::new(|| (), |_| list_dashboards());
    view! {
        <Transition fallback=|| view! { <Loading /> }>
            {move || list.get().map(|result| match result {
                Ok(list) if list.dashboards.is_empty() => view! {
                    <EmptyState icon=icondata::LuLayoutDashboard title="No dashboards yet">
                        <p>
                            "A dashboard puts Plotly figures (paste the JSON of "<code>"fig.to_json()"</code>"), markdown notes and live "
                            "statistics of your datasets on one page you can share with your team, or with anyone by link. Start one above."
                        </p>
                    </EmptyState>
                }
                .into_any(),
                Ok(list) => {
                    let more = (list.total > list.dashboards.len() as u64)
                        .then(|| format!("Showing the {} most recently used of {}; search finds the others.", list.dashboards.len(), list.total));
                    let share = own_share(list.own_bytes, list.share_bytes);
                    view! {
                    {list.indexing.then(|| view! { <p class="muted">"Indexing… the list may be incomplete for a moment."</p> })}
                    <DashboardTable dashboards=list.dashboards />
                    {more.map(|more| view! { <p class="muted">{more}</p> })}
                    {share}
                    }
                    .into_any()
                }
                Err(err) => view! { <ErrorAlert error=err /> }.into_any(),
            })}
        </Transition>
    }
}

/// What the caller's own dashboards take of their share of the storage
/// budget; past it, eviction takes theirs before anyone else's.
fn own_share(own: u64, share: u64) -> Option<impl IntoView> {
    use agora_model::files::human_bytes;
    (share > 0).then(|| {
        let over = own > share;
        let text = if over {
            format!("Your dashboards take {} — more than your share of {}: if storage fills up, yours are deleted first (least recently used first).", human_bytes(own), human_bytes(share))
        } else {
            format!("Your dashboards take {} of your {} share of dashboard storage.", human_bytes(own), human_bytes(share))
        };
        view! { <p class=if over { "notice" } else { "muted" } data-testid="dashboard-share">{text}</p> }
    })
}

pub fn flag_badges(whitelisted: bool, protected: bool, at_risk: bool) -> impl IntoView {
    view! {
        {protected.then(|| view! { <span class="badge badge-ok" title="Read-only for everyone; never evicted" data-testid="badge-protected">"protected"</span> })}
        {(whitelisted && !protected).then(|| view! { <span class="badge badge-ok" title="Never evicted" data-testid="badge-whitelisted">"whitelisted"</span> })}
        {at_risk.then(|| view! { <span class="badge badge-warn" title="Storage is filling: this dashboard is among the next to be deleted unless it is viewed or saved" data-testid="badge-at-risk">"at risk"</span> })}
    }
}

#[component]
fn DashboardTable(dashboards: Vec<DashboardSummary>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="dashboards-table">
                <thead><tr><th>"Title"</th><th>"Description"</th><th>""</th><th>"Last used"</th><th>"Updated"</th><th>"Size"</th></tr></thead>
                <tbody>
                    {dashboards.into_iter().map(|d| view! {
                        <tr data-testid="dashboard-row">
                            <td><A href=format!("/dashboards/{}", d.id)>{d.title.clone()}</A></td>
                            <td class="muted">{d.description.chars().take(120).collect::<String>()}</td>
                            <td>{flag_badges(d.whitelisted, d.protected, d.at_risk)}</td>
                            <td>{format_unix(d.last_used)}</td>
                            <td>{format_unix(d.updated_at)}</td>
                            <td>{agora_model::files::human_bytes(d.bytes)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn NewDashboardForm() -> impl IntoView {
    let title = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let create = Action::new(move |request: &NewDashboard| create_dashboard(request.clone()));
    let result = Signal::from(create.value());
    let title_error = Signal::derive(move || {
        error_for(result, "title")
            .get()
            .or_else(|| (!title.get().is_empty()).then(|| normalize_title(&title.get()).err().map(|e| e.message)).flatten())
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(created)) = create.value().get() {
            navigate(&format!("/dashboards/{}?edit=1", created.id), Default::default());
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(NewDashboard { title: title.get_untracked(), description: description.get_untracked(), panels: Vec::new() });
    };
    view! {
        <details class="card new-dataset" data-testid="new-dashboard">
            <summary class="button button-primary" data-testid="new-dashboard-open">"New dashboard"</summary>
            <form class="form" on:submit=on_submit data-testid="new-dashboard-form">
                <Field label="Title" name="title" bind=title error=title_error required=true hint="Up to 200 characters" />
                <Field label="Description" name="description" bind=description error=error_for(result, "description") hint="Optional" />
                <FormError error=error_besides(result, &["title", "description"]) />
                <button type="submit" class="button button-primary" data-testid="create-dashboard" disabled=move || create.pending().get()>"Create and add panels"</button>
            </form>
        </details>
    }
}
