//! A dataset's files: folders with breadcrumbs, labels, downloads, and the
//! upload panel (`uploads`).

use agora_model::files::{human_bytes, parse_labels, FileEntry, FilePage, LabelsRequest};
use agora_model::tags::Tag;
use leptos::prelude::*;

use crate::components::form::ErrorAlert;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::api::datasets::{file_download, list_files, set_file_labels};
use crate::components::empty_state::EmptyState;
use crate::components::loading::Loading;
use crate::pages::uploads::UploadPanel;
use crate::url::encode_query_value;

/// `refresh` moves on after every upload and label change (the activity log
/// listens to it too).
#[component]
pub fn Files(id: String, can_write: bool, refresh: RwSignal<u32>) -> impl IntoView {
    let query = use_query_map();
    let folder = Signal::derive(move || query.read().get("dir").unwrap_or_default());
    let id = StoredValue::new(id);
    let page = Resource::new(move || (id.get_value(), folder.get(), refresh.get()), |(id, folder, _)| list_files(id, folder, None));

    view! {
        <section class="card settings-section" aria-labelledby="files-heading">
            <h2 id="files-heading">"Files"</h2>
            <Breadcrumbs id=id.get_value() folder />
            <p class="muted manifest-links">
                "Download this folder: "
                <a data-testid="manifest-curl" href=move || format!("/api/v1/datasets/{}/manifest?format=curl&folder={}", id.get_value(), encode_query_value(&folder.get()))>"curl script"</a>
                " · "
                <a href=move || format!("/api/v1/datasets/{}/manifest?folder={}", id.get_value(), encode_query_value(&folder.get()))>"JSON manifest"</a>
                " (links valid for minutes; the files come straight from storage)"
            </p>
            {can_write.then(|| view! { <UploadPanel id=id.get_value() folder refresh /> })}
            <Transition fallback=|| view! { <Loading /> }>
                {move || page.get().map(|result| match result {
                    Ok(page) => view! { <Listing id=id.get_value() page can_write refresh /> }.into_any(),
                    Err(err) => view! { <ErrorAlert error=err /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

#[component]
fn Breadcrumbs(id: String, folder: Signal<String>) -> impl IntoView {
    view! {
        <nav class="breadcrumbs" aria-label="Folder" data-testid="breadcrumbs">
            <A href=format!("/datasets/{id}")>"All files"</A>
            {move || {
                let mut path = String::new();
                let segments: Vec<String> = folder.get().split('/').filter(|s| !s.is_empty()).map(str::to_owned).collect();
                segments.into_iter().map(|segment| {
                    path.push_str(&segment);
                    path.push('/');
                    let href = format!("/datasets/{id}?dir={}", encode_query_value(&path));
                    view! { <span aria-hidden="true">" / "</span><A href=href>{segment}</A> }
                }).collect_view()
            }}
        </nav>
    }
}

#[component]
fn Listing(id: String, page: FilePage, can_write: bool, refresh: RwSignal<u32>) -> impl IntoView {
    if page.folders.is_empty() && page.files.is_empty() {
        return view! {
            <EmptyState icon=icondata::LuUpload title="No files here yet">
                <p>"Choose files above to upload them; they go straight to storage. Scripts can use the REST API (see the README)."</p>
            </EmptyState>
        }
        .into_any();
    }
    let more = page.next.is_some();
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="files-table">
                <thead><tr><th>"Name"</th><th>"Size"</th><th>"Labels"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                <tbody>
                    {page.folders.into_iter().map(|folder| {
                        let name = folder.trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_owned();
                        let href = format!("/datasets/{id}?dir={}", encode_query_value(&folder));
                        view! { <tr data-testid="folder-row"><td><A href=href>{format!("{name}/")}</A></td><td class="muted">"folder"</td><td></td><td></td></tr> }
                    }).collect_view()}
                    {page.files.into_iter().map(|file| view! { <FileRow id=id.clone() file can_write refresh /> }).collect_view()}
                </tbody>
            </table>
        </div>
        {more.then(|| view! { <p class="muted">"This folder has more files than one page shows; paging arrives with the search index."</p> })}
    }
    .into_any()
}

fn labels_text(labels: &[Tag]) -> String {
    labels.iter().map(|t| if t.value.is_empty() { t.key.clone() } else { format!("{}={}", t.key, t.value) }).collect::<Vec<_>>().join(", ")
}

#[component]
fn FileRow(id: String, file: FileEntry, can_write: bool, refresh: RwSignal<u32>) -> impl IntoView {
    let editing = RwSignal::new(false);
    let text = RwSignal::new(labels_text(&file.labels));
    let save = Action::new(move |(id, request): &(String, LabelsRequest)| set_file_labels(id.clone(), request.clone()));
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            editing.set(false);
            refresh.update(|r| *r += 1);
        }
    });
    let (download_id, download_path) = (id.clone(), file.path.clone());
    let path = file.path.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch((id.clone(), LabelsRequest { path: path.clone(), labels: parse_labels(&text.get_untracked()) }));
    };
    view! {
        <tr data-testid="file-row" data-name=file.name.clone()>
            <td>{file.name.clone()}</td>
            <td>{human_bytes(file.size)}</td>
            <td>
                <span class="chips">
                    {file.labels.iter().map(|t| view! { <span class="chip" data-testid="label-chip">{labels_text(std::slice::from_ref(t))}</span> }).collect_view()}
                </span>
                {move || editing.get().then(|| view! {
                    <form class="label-form" on:submit=on_submit.clone() data-testid="label-form">
                        <label class="visually-hidden" for="label-input">"Labels"</label>
                        <input id="label-input" data-testid="label-input" placeholder="split=train, source=camera"
                            prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev)) />
                        <button type="submit" class="button button-small button-primary" data-testid="label-save">"Save"</button>
                        {move || match save.value().get() {
                            Some(Err(err)) => Some(view! { <p class="field-error" role="alert" data-testid="label-error">{err.message}</p> }),
                            _ => None,
                        }}
                    </form>
                })}
            </td>
            <td class="actions">
                {can_write.then(|| view! {
                    <button type="button" class="button button-small" data-testid="edit-labels" on:click=move |_| editing.update(|e| *e = !*e)>"Labels"</button>
                })}
                <button type="button" class="button button-small" data-testid="download"
                    on:click=move |_| download(download_id.clone(), download_path.clone())>"Download"</button>
            </td>
        </tr>
    }
}

/// Fetches a presigned link and lets the browser download from storage.
fn download(id: String, path: String) {
    leptos::task::spawn_local(async move {
        if let Ok(link) = file_download(id, path).await {
            #[cfg(feature = "hydrate")]
            if let Some(window) = web_sys::window() {
                let _ = window.location().set_href(&link.url);
            }
            #[cfg(not(feature = "hydrate"))]
            let _ = link;
        }
    });
}
