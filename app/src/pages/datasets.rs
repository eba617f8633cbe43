//! The datasets a person can see, and a form to create one.

use agora_model::datasets::{normalize_dataset_name, DatasetView, NewDataset, Permission};
use agora_model::sharing::Visibility;
use agora_model::time::format_unix;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::datasets::{create_dataset, list_datasets};
use crate::components::empty_state::EmptyState;
use crate::components::form::{error_besides, error_for, ErrorAlert, Field, FormError, Notice};
use crate::components::loading::Loading;
use crate::session::use_session;

#[component]
pub fn DatasetsPage() -> impl IntoView {
    let session = use_session();
    let datasets = Resource::new(move || session.resource().get().map(|r| r.ok().flatten().map(|u| u.id)), |_| list_datasets());
    let query = use_query_map();
    let deleted = move || query.read().get("deleted");
    view! {
        <Title text="Datasets" />
        <header class="page-header"><h1>"Datasets"</h1></header>
        {move || deleted().map(|name| view! { <Notice>{format!("“{name}” is deleted; its files are being removed in the background.")}</Notice> })}
        <Transition fallback=|| view! { <Loading /> }>
            {move || session.resource().get().map(|user| match user.ok().flatten() {
                Some(_) => view! { <crate::pages::transfers::TransferOffers /> <NewDatasetForm /> }.into_any(),
                None => view! {
                    <p class="muted">"Public datasets are listed below. " <a href="/login?next=/datasets">"Log in"</a> " to create your own."</p>
                }
                .into_any(),
            })}
        </Transition>
        <Transition fallback=|| view! { <Loading /> }>
            {move || datasets.get().map(|result| match result {
                Ok(list) if list.is_empty() => view! {
                    <EmptyState icon=icondata::LuDatabase title="No datasets yet">
                        <p>"A dataset is a named collection of training files with labels, kept in this hub's bucket. Create one above; you can share it with your team or make it public."</p>
                    </EmptyState>
                }
                .into_any(),
                Ok(list) => view! { <DatasetTable datasets=list /> }.into_any(),
                Err(err) => view! { <ErrorAlert error=err /> }.into_any(),
            })}
        </Transition>
    }
}

pub fn permission_label(permission: Permission) -> &'static str {
    match permission {
        Permission::Manage => "owner",
        Permission::Write => "can edit",
        Permission::Read => "can view",
    }
}

#[component]
fn DatasetTable(datasets: Vec<DatasetView>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="datasets-table">
                <thead><tr><th>"Name"</th><th>"Description"</th><th>"Visibility"</th><th>"You"</th><th>"Members"</th><th>"Updated"</th></tr></thead>
                <tbody>
                    {datasets.into_iter().map(|ds| view! {
                        <tr data-testid="dataset-row">
                            <td><A href=format!("/datasets/{}", ds.id)>{ds.name.clone()}</A></td>
                            <td class="muted">{ds.description.chars().take(120).collect::<String>()}</td>
                            <td>{visibility_badge(ds.visibility)}</td>
                            <td>{permission_label(ds.permission)}</td>
                            <td>{ds.members.len()}</td>
                            <td>{format_unix(ds.updated_at)}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

pub fn visibility_badge(visibility: Visibility) -> impl IntoView {
    match visibility {
        Visibility::Public => view! { <span class="badge badge-ok">"public"</span> },
        Visibility::Private => view! { <span class="badge">"private"</span> },
    }
}

#[component]
fn NewDatasetForm() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let public = RwSignal::new(false);
    let create = Action::new(move |request: &NewDataset| create_dataset(request.clone()));
    let result = Signal::from(create.value());
    let name_error = Signal::derive(move || {
        error_for(result, "name")
            .get()
            .or_else(|| (!name.get().is_empty()).then(|| normalize_dataset_name(&name.get()).err().map(|e| e.message)).flatten())
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(created)) = create.value().get() {
            navigate(&format!("/datasets/{}", created.id), Default::default());
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(NewDataset {
            name: name.get_untracked(),
            description: description.get_untracked(),
            visibility: if public.get_untracked() { Visibility::Public } else { Visibility::Private },
        });
    };
    view! {
        <details class="card new-dataset" data-testid="new-dataset">
            <summary class="button button-primary" data-testid="new-dataset-open">"New dataset"</summary>
            <form class="form" on:submit=on_submit data-testid="new-dataset-form">
                <Field label="Name" name="name" bind=name error=name_error required=true hint="Up to 100 characters" />
                <Field label="Description" name="description" bind=description error=error_for(result, "description") hint="Optional: what is in it, where it came from" />
                <label class="checkbox">
                    <input type="checkbox" data-testid="new-dataset-public" prop:checked=move || public.get() on:change=move |ev| public.set(event_target_checked(&ev)) />
                    " Public: anyone who can reach this hub may view it"
                </label>
                <FormError error=error_besides(result, &["name", "description"]) />
                <button type="submit" class="button button-primary" data-testid="create-dataset" disabled=move || create.pending().get()>"Create dataset"</button>
            </form>
        </details>
    }
}
