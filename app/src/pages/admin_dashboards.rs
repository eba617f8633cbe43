//! Administration of dashboards: storage against its budget, every
//! dashboard with whitelist and protect switches and its stored record, and
//! the eviction history.

use agora_model::dashboards::{DashboardAdmin, DashboardFlags, DashboardStorage};
use agora_model::files::human_bytes;
use agora_model::time::format_unix;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::dashboards::{dashboard_overview, dashboard_record, evict_dashboards, set_dashboard_flags};
use crate::components::form::ErrorAlert;
use crate::components::loading::Loading;
use crate::pages::dashboards::flag_badges;
use crate::session::SignedIn;

#[component]
pub fn AdminDashboardsPage() -> impl IntoView {
    view! {
        <Title text="Dashboard storage" />
        <div class="page-header"><h1>"Dashboard storage"</h1></div>
        <SignedIn admin=true children=|_| view! { <Overview /> } />
    }
}

#[component]
fn Overview() -> impl IntoView {
    let flags = Action::new(|(id, flags): &(String, DashboardFlags)| set_dashboard_flags(id.clone(), flags.clone()));
    let evict = Action::new(|_: &()| evict_dashboards());
    let overview = Resource::new(move || (flags.version().get(), evict.version().get()), |_| dashboard_overview());
    let shown = RwSignal::new(None::<String>);
    let record = Resource::new(
        move || shown.get(),
        |id| async move {
            match id {
                Some(id) => dashboard_record(id).await.map(Some),
                None => Ok(None),
            }
        },
    );
    view! {
        {move || flags.value().get().and_then(|r| r.err()).map(|err| view! { <ErrorAlert error=err /> })}
        <Transition fallback=|| view! { <Loading /> }>
            {move || overview.get().map(|result| match result {
                Ok(DashboardAdmin { storage, dashboards, evictions }) => view! {
                    <StorageBar storage />
                    <p>
                        <button type="button" class="button" data-testid="evict-now" disabled=move || evict.pending().get()
                            on:click=move |_| { evict.dispatch(()); }>"Run an eviction pass now"</button>
                        {move || evict.value().get().map(|r| match r {
                            Ok(list) => view! { <span class="muted">{format!(" {} evicted", list.len())}</span> }.into_any(),
                            Err(err) => view! { <ErrorAlert error=err /> }.into_any(),
                        })}
                    </p>
                    <h2>"Dashboards"</h2>
                    <div class="table-wrap">
                        <table class="table" data-testid="admin-dashboards">
                            <thead><tr><th>"Title"</th><th>"Owner"</th><th>"Size"</th><th>"Last used"</th><th>""</th><th>"Whitelisted"</th><th>"Protected"</th><th>""</th></tr></thead>
                            <tbody>
                                {dashboards.dashboards.into_iter().map(|d| {
                                    let (wid, pid, rid) = (d.id.clone(), d.id.clone(), d.id.clone());
                                    let (whitelist_label, protect_label) = (format!("Whitelist {}", d.title), format!("Protect {}", d.title));
                                    view! {
                                        <tr data-testid="admin-dashboard-row">
                                            <td><A href=format!("/dashboards/{}", d.id)>{d.title.clone()}</A></td>
                                            <td class="muted"><code>{d.owner.clone()}</code></td>
                                            <td>{human_bytes(d.bytes)}</td>
                                            <td>{format_unix(d.last_used)}</td>
                                            <td>{flag_badges(false, false, d.at_risk)}</td>
                                            <td><input type="checkbox" aria-label=whitelist_label data-testid="whitelist" prop:checked=d.whitelisted disabled=d.protected
                                                on:change=move |ev| { flags.dispatch((wid.clone(), DashboardFlags { whitelisted: Some(event_target_checked(&ev)), protected: None })); } /></td>
                                            <td><input type="checkbox" aria-label=protect_label data-testid="protect" prop:checked=d.protected
                                                on:change=move |ev| { flags.dispatch((pid.clone(), DashboardFlags { whitelisted: None, protected: Some(event_target_checked(&ev)) })); } /></td>
                                            <td><button type="button" class="button button-small" on:click=move |_| shown.set(Some(rid.clone()))>"Record"</button></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    <h2>"Evictions"</h2>
                    {if evictions.is_empty() {
                        view! { <p class="muted" data-testid="no-evictions">"No dashboard has been evicted."</p> }.into_any()
                    } else {
                        view! {
                            <table class="table" data-testid="evictions">
                                <thead><tr><th>"When"</th><th>"Title"</th><th>"Owner"</th><th>"Size"</th><th>"Last used"</th></tr></thead>
                                <tbody>
                                    {evictions.into_iter().map(|e| view! {
                                        <tr><td>{format_unix(e.evicted_at)}</td><td>{e.title}</td><td><code>{e.owner}</code></td><td>{human_bytes(e.bytes)}</td><td>{format_unix(e.last_used)}</td></tr>
                                    }).collect_view()}
                                </tbody>
                            </table>
                        }
                        .into_any()
                    }}
                }
                .into_any(),
                Err(err) => view! { <ErrorAlert error=err /> }.into_any(),
            })}
        </Transition>
        <Transition fallback=|| ()>
            {move || record.get().map(|result| match result {
                Ok(Some(json)) => view! {
                    <section class="card" aria-label="Stored record">
                        <h2>"Stored record " <button type="button" class="button button-small" on:click=move |_| shown.set(None)>"Close"</button></h2>
                        <pre class="code" data-testid="stored-record">{json}</pre>
                    </section>
                }
                .into_any(),
                Ok(None) => ().into_any(),
                Err(err) => view! { <ErrorAlert error=err /> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn StorageBar(storage: DashboardStorage) -> impl IntoView {
    let share = |bytes: u64| (bytes as f64 * 100.0 / storage.budget_bytes.max(1) as f64).min(100.0);
    view! {
        <section class="card" aria-label="Storage" data-testid="dashboard-storage">
            <p>
                <strong>{human_bytes(storage.used_bytes)}</strong>{format!(" of {} used by {} dashboards ({:.1} %). ", human_bytes(storage.budget_bytes), storage.dashboards, share(storage.used_bytes))}
                {format!("Eviction starts at {} and deletes down to {}: first the least recently used of owners over their share of {}, then the least recently used of everyone's (never whitelisted or protected ones).",
                    human_bytes(storage.evict_at_bytes), human_bytes(storage.target_bytes), human_bytes(storage.per_user_bytes))}
            </p>
            <progress max="100" value=share(storage.used_bytes) aria-label="Dashboard storage used"></progress>
            {(storage.at_risk > 0).then(|| view! { <p class="muted">{format!("{} dashboard(s) at risk of eviction.", storage.at_risk)}</p> })}
        </section>
    }
}
