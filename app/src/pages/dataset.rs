//! One dataset: what it is, who has access, its settings.

use agora_model::datasets::{DatasetChange, DatasetView, Permission, ShareRequest};
use agora_model::sharing::{MemberRole, Visibility};
use agora_model::time::format_unix;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use crate::api::datasets::{dataset, dataset_activity, delete_dataset, share_dataset, update_dataset};
use crate::components::form::{error_besides, error_for, ErrorAlert, Field, FormError, Notice};
use crate::components::loading::Loading;
use crate::pages::dataset_files::Files;
use crate::pages::datasets::visibility_badge;

#[component]
pub fn DatasetPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let version = RwSignal::new(0u32);
    let loaded = Resource::new(move || (id(), version.get()), |(id, _)| dataset(id));
    view! {
        <Transition fallback=|| view! { <Loading /> }>
            {move || loaded.get().map(|result| result.map(|ds| view! { <Dataset ds changed=move || version.update(|v| *v += 1) /> }))}
        </Transition>
    }
}

#[component]
fn Dataset(ds: DatasetView, changed: impl Fn() + Clone + Send + Sync + 'static) -> impl IntoView {
    let manage = ds.permission == Permission::Manage;
    let write = ds.permission >= Permission::Write;
    let files_changed = RwSignal::new(0u32);
    // The file table's label editor: live reloads wait while it is open.
    let editing = crate::pages::dataset_files::LabelEditor::provide(files_changed);
    follow(ds.id.clone(), files_changed, editing);
    view! {
        <Title text=ds.name.clone() />
        <header class="page-header">
            <div>
                <h1 data-testid="dataset-name">{ds.name.clone()}</h1>
                <p class="muted">{visibility_badge(ds.visibility)} " · " {your_access(ds.permission)} " · updated " {format_unix(ds.updated_at)}</p>
            </div>
        </header>
        {(!ds.description.is_empty()).then(|| view! { <p class="lead" data-testid="dataset-description">{ds.description.clone()}</p> })}
        <div class="settings">
            <Files id=ds.id.clone() can_write=write refresh=files_changed />
            <crate::pages::runs::Runs id=ds.id.clone() refresh=files_changed />
            <Activity id=ds.id.clone() files_changed />
            <Members ds=ds.clone() manage changed=changed.clone() />
            {write.then(|| view! { <DatasetSettings ds=ds.clone() manage changed=changed.clone() /> })}
            {manage.then(|| view! { <DeleteDataset ds=ds.clone() /> })}
        </div>
    }
}

#[component]
fn Members(ds: DatasetView, manage: bool, changed: impl Fn() + Clone + Send + Sync + 'static) -> impl IntoView {
    let id = ds.id.clone();
    let ds_for_transfer = ds.clone();
    let share = Action::new(move |(id, request): &(String, ShareRequest)| share_dataset(id.clone(), request.clone()));
    let result = Signal::from(share.value());
    let username = RwSignal::new(String::new());
    let role = RwSignal::new(MemberRole::Viewer);
    let refresh = changed.clone();
    Effect::new(move |_| {
        if let Some(Ok(_)) = share.value().get() {
            refresh();
        }
    });
    let share_id = id.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        share.dispatch((share_id.clone(), ShareRequest { username: username.get_untracked(), role: Some(role.get_untracked()) }));
    };
    view! {
        <section class="card settings-section" aria-labelledby="members-heading">
            <h2 id="members-heading">"Members"</h2>
            <table class="table" data-testid="members-table">
                <tbody>
                    {ds.members.into_iter().map(|m| {
                        let (remove_id, who) = (id.clone(), m.username.clone());
                        let removable = manage && m.role != MemberRole::Owner;
                        view! {
                            <tr data-testid="member-row" data-username=m.username.clone()>
                                <td>{m.username.clone()}</td>
                                <td data-testid="member-role">{role_name(m.role)}</td>
                                <td>{removable.then(|| view! {
                                    <button type="button" class="button button-small" data-testid="remove-member"
                                        on:click=move |_| { share.dispatch((remove_id.clone(), ShareRequest { username: who.clone(), role: None })); }>
                                        "Remove"
                                    </button>
                                })}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            {manage.then(|| view! {
                <form class="form share-form" on:submit=on_submit data-testid="share-form">
                    <Field label="Share with (username)" name="share_username" bind=username error=error_for(result, "username") />
                    <div class="field">
                        <label for="share-role">"Role"</label>
                        <select id="share-role" data-testid="share-role" on:change=move |ev| role.set(if event_target_value(&ev) == "editor" { MemberRole::Editor } else { MemberRole::Viewer })>
                            <option value="viewer" selected>"viewer — can view and download"</option>
                            <option value="editor">"editor — can also upload, label and rename"</option>
                        </select>
                    </div>
                    <FormError error=error_besides(result, &["username"]) />
                    <button type="submit" class="button button-primary" data-testid="share-submit" disabled=move || share.pending().get()>"Share"</button>
                </form>
            })}
            {manage.then(|| view! { <crate::pages::transfers::TransferOwnership ds=ds_for_transfer.clone() changed=changed.clone() /> })}
        </section>
    }
}

/// The newest activity entries; reloaded with the page's data and after
/// every upload or label change made here.
#[component]
fn Activity(id: String, files_changed: RwSignal<u32>) -> impl IntoView {
    let entries = Resource::new(move || (id.clone(), files_changed.get()), |(id, _)| dataset_activity(id));
    view! {
        <section class="card settings-section" aria-labelledby="activity-heading">
            <h2 id="activity-heading">"Activity"</h2>
            <Transition fallback=|| view! { <Loading /> }>
                {move || entries.get().map(|result| match result {
                    Ok(list) => view! {
                        <ul class="activity" data-testid="activity">
                            {list.into_iter().map(|e| view! {
                                <li data-testid="activity-entry"><strong>{e.who}</strong>" "{e.what}<span class="muted">" · "{format_unix(e.at)}</span></li>
                            }).collect_view()}
                        </ul>
                    }
                    .into_any(),
                    Err(err) => view! { <ErrorAlert error=err /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

fn your_access(permission: Permission) -> &'static str {
    match permission {
        Permission::Manage => "you manage it",
        Permission::Write => "you can edit",
        Permission::Read => "you can view",
    }
}

pub fn role_name(role: MemberRole) -> &'static str {
    match role {
        MemberRole::Owner => "owner",
        MemberRole::Editor => "editor",
        MemberRole::Viewer => "viewer",
    }
}

#[component]
fn DatasetSettings(ds: DatasetView, manage: bool, changed: impl Fn() + Clone + Send + Sync + 'static) -> impl IntoView {
    let name = RwSignal::new(ds.name.clone());
    let description = RwSignal::new(ds.description.clone());
    let public = RwSignal::new(ds.visibility == Visibility::Public);
    let save = Action::new(move |(id, change): &(String, DatasetChange)| update_dataset(id.clone(), change.clone()));
    let result = Signal::from(save.value());
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            changed();
        }
    });
    let id = ds.id.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let change = DatasetChange {
            name: Some(name.get_untracked()),
            description: Some(description.get_untracked()),
            visibility: manage.then(|| if public.get_untracked() { Visibility::Public } else { Visibility::Private }),
        };
        save.dispatch((id.clone(), change));
    };
    view! {
        <section class="card settings-section" aria-labelledby="dataset-settings-heading">
            <h2 id="dataset-settings-heading">"Settings"</h2>
            <form class="form" on:submit=on_submit data-testid="dataset-settings">
                <Field label="Name" name="dataset_name" bind=name error=error_for(result, "name") />
                <Field label="Description" name="dataset_description" bind=description error=error_for(result, "description") />
                {manage.then(|| view! {
                    <label class="checkbox">
                        <input type="checkbox" data-testid="dataset-public" prop:checked=move || public.get() on:change=move |ev| public.set(event_target_checked(&ev)) />
                        " Public: anyone who can reach this hub may view it"
                    </label>
                })}
                <FormError error=error_besides(result, &["name", "description"]) />
                {move || matches!(save.value().get(), Some(Ok(_))).then(|| view! { <Notice>"Saved."</Notice> })}
                <button type="submit" class="button button-primary" data-testid="dataset-save" disabled=move || save.pending().get()>"Save"</button>
            </form>
        </section>
    }
}

#[component]
fn DeleteDataset(ds: DatasetView) -> impl IntoView {
    let delete = Action::new(move |id: &String| delete_dataset(id.clone()));
    let navigate = use_navigate();
    let name = ds.name.clone();
    Effect::new(move |_| {
        if let Some(Ok(_)) = delete.value().get() {
            navigate(&format!("/datasets?deleted={}", crate::url::encode_query_value(&name)), Default::default());
        }
    });
    let id = ds.id.clone();
    view! {
        <section class="card settings-section danger" aria-labelledby="delete-dataset-heading">
            <h2 id="delete-dataset-heading">"Delete dataset"</h2>
            <details>
                <summary data-testid="delete-dataset-open">"Delete this dataset and all its files…"</summary>
                <p>"It disappears for everyone at once; its files are removed in the background. This cannot be undone."</p>
                {move || match delete.value().get() {
                    Some(Err(err)) => Some(view! { <ErrorAlert error=err /> }),
                    _ => None,
                }}
                <button type="button" class="button button-danger" data-testid="delete-dataset" disabled=move || delete.pending().get()
                    on:click=move |_| { delete.dispatch(id.clone()); }>
                    {format!("Delete “{}”", ds.name)}
                </button>
            </details>
        </section>
    }
}

/// Live updates: the server's `changed` events (server-sent, from this node
/// or another) reload the files and the activity log, at most every 300 ms.
/// Reloads files and activity when the dataset changes (here or on another
/// node), at most every 300 ms; while someone edits labels, the reload waits
/// until the last editor closes (it would close theirs).
fn follow(id: String, changed: RwSignal<u32>, editing: crate::pages::dataset_files::LabelEditor) {
    let deferred = RwSignal::new(false);
    Effect::new(move |_| {
        if !editing.open() && deferred.get() {
            deferred.set(false);
            changed.update(|n| *n += 1);
        }
    });
    let scheduled = std::rc::Rc::new(std::cell::Cell::new(false));
    crate::components::live::listen(&format!("/api/v1/datasets/{id}/events"), &["changed"], move |_, _| {
        if scheduled.replace(true) {
            return;
        }
        let scheduled = scheduled.clone();
        set_timeout(
            move || {
                scheduled.set(false);
                if editing.open_untracked() {
                    deferred.set(true);
                } else {
                    changed.update(|n| *n += 1);
                }
            },
            std::time::Duration::from_millis(300),
        );
    });
}
