//! A dataset's files: folders with breadcrumbs, downloads, and uploads that
//! go straight from the browser to storage with a progress bar per file.

use agora_model::files::{human_bytes, parse_labels, FileEntry, FilePage, LabelsRequest};
use agora_model::tags::Tag;
use leptos::prelude::*;

use crate::components::form::ErrorAlert;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::api::datasets::{file_download, list_files, set_file_labels};
use crate::components::empty_state::EmptyState;
use crate::components::loading::Loading;
use crate::url::encode_query_value;

/// One file being uploaded, as its row shows it.
#[derive(Clone, PartialEq)]
struct Upload {
    name: String,
    sent: f64,
    total: f64,
    /// None while running; Ok when done; Err with the reason.
    outcome: Option<Result<(), String>>,
}

/// `refresh` moves on after every upload and label change (the activity log
/// listens to it too).
#[component]
pub fn Files(id: String, can_write: bool, refresh: RwSignal<u32>) -> impl IntoView {
    let query = use_query_map();
    let folder = Signal::derive(move || query.read().get("dir").unwrap_or_default());
    let id = StoredValue::new(id);
    let page = Resource::new(move || (id.get_value(), folder.get(), refresh.get()), |(id, folder, _)| list_files(id, folder, None));
    let uploads = RwSignal::new(Vec::<Upload>::new());

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
            {can_write.then(|| view! { <UploadPicker id=id.get_value() folder uploads refresh /> })}
            <UploadList uploads />
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

#[component]
fn UploadList(uploads: RwSignal<Vec<Upload>>) -> impl IntoView {
    move || {
        let list = uploads.get();
        (!list.is_empty()).then(|| {
            let (sent, total) = list.iter().fold((0.0, 0.0), |(s, t), u| (s + u.sent, t + u.total));
            view! {
                <div class="uploads" data-testid="uploads">
                    <p class="muted">{format!("Overall: {} of {}", human_bytes(sent as u64), human_bytes(total as u64))}</p>
                    <progress max=total value=sent aria-label="All uploads" data-testid="overall-progress"></progress>
                    <ul class="upload-list">
                        {list.into_iter().map(|u| {
                            let state = match &u.outcome { None => "running", Some(Ok(())) => "done", Some(Err(_)) => "failed" };
                            view! {
                                <li data-testid="upload-row" data-state=state data-name=u.name.clone()>
                                    <span class="upload-name">{u.name.clone()}</span>
                                    <progress max=u.total value=u.sent aria-label=format!("Upload of {}", u.name)></progress>
                                    <span class="muted">{match &u.outcome {
                                        None => format!("{:.0} %", if u.total > 0.0 { u.sent / u.total * 100.0 } else { 0.0 }),
                                        Some(Ok(())) => "done".to_string(),
                                        Some(Err(why)) => why.clone(),
                                    }}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </div>
            }
        })
    }
}

#[component]
fn UploadPicker(id: String, folder: Signal<String>, uploads: RwSignal<Vec<Upload>>, refresh: RwSignal<u32>) -> impl IntoView {
    let _ = (&id, folder, uploads, refresh);
    #[cfg(feature = "hydrate")]
    let on_change = {
        let id = id.clone();
        move |ev: leptos::ev::Event| {
            use wasm_bindgen::JsCast;
            let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
            let Some(files) = input.files() else { return };
            for index in 0..files.length() {
                if let Some(file) = files.get(index) {
                    browser::upload(id.clone(), folder.get_untracked(), file, uploads, refresh);
                }
            }
            input.set_value("");
        }
    };
    #[cfg(not(feature = "hydrate"))]
    let on_change = |_: leptos::ev::Event| {};
    view! {
        <div class="field upload-picker">
            <label for="upload-input">"Upload files"</label>
            <input id="upload-input" type="file" multiple data-testid="upload-input" on:change=on_change />
            <p class="field-hint">"Files go straight to storage, into the folder shown above."</p>
        </div>
    }
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::*;
    use crate::api::datasets::{complete_upload, start_upload};
    use agora_model::files::UploadRequest;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    fn update(uploads: RwSignal<Vec<Upload>>, index: usize, change: impl FnOnce(&mut Upload)) {
        uploads.update(|list| {
            if let Some(upload) = list.get_mut(index) {
                change(upload);
            }
        });
    }

    /// start → PUT to storage with progress → complete, for one file.
    pub(super) fn upload(id: String, folder: String, file: web_sys::File, uploads: RwSignal<Vec<Upload>>, refresh: RwSignal<u32>) {
        let name = file.name();
        let total = file.size();
        let index = uploads.with_untracked(Vec::len);
        uploads.update(|list| list.push(Upload { name: name.clone(), sent: 0.0, total, outcome: None }));
        leptos::task::spawn_local(async move {
            let content_type = Some(file.type_()).filter(|t| !t.is_empty());
            let request =
                UploadRequest { path: format!("{folder}{name}"), size: total as u64, content_type, labels: Vec::new(), on_conflict: None };
            let ticket = match start_upload(id.clone(), request).await {
                Ok(ticket) => ticket,
                Err(err) => return update(uploads, index, |u| u.outcome = Some(Err(err.to_string()))),
            };
            let sent = put(&ticket.url, &ticket.headers, &file, move |loaded| update(uploads, index, |u| u.sent = loaded)).await;
            if let Err(why) = sent {
                return update(uploads, index, |u| u.outcome = Some(Err(why)));
            }
            let outcome = complete_upload(id, ticket.upload_id).await.map(drop).map_err(|e| e.to_string());
            update(uploads, index, |u| {
                u.sent = u.total;
                u.outcome = Some(outcome);
            });
            refresh.update(|r| *r += 1);
        });
    }

    /// A PUT through XMLHttpRequest, the browser API that reports upload progress.
    async fn put(url: &str, headers: &[(String, String)], file: &web_sys::File, progress: impl Fn(f64) + 'static) -> Result<(), String> {
        let xhr = web_sys::XmlHttpRequest::new().map_err(|_| "the browser refused to start the upload".to_string())?;
        xhr.open("PUT", url).map_err(|_| "the upload URL is not valid".to_string())?;
        for (name, value) in headers {
            // The browser sets Content-Length itself.
            if !name.eq_ignore_ascii_case("content-length") {
                let _ = xhr.set_request_header(name, value);
            }
        }
        let (done_tx, done_rx) = futures::channel::oneshot::channel::<Result<(), String>>();
        let done_tx = std::rc::Rc::new(std::cell::RefCell::new(Some(done_tx)));
        let on_progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |ev: web_sys::ProgressEvent| progress(ev.loaded()));
        if let Ok(upload) = xhr.upload() {
            upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        }
        let finished = {
            let (xhr, done_tx) = (xhr.clone(), done_tx.clone());
            Closure::<dyn FnMut()>::new(move || {
                let status = xhr.status().unwrap_or(0);
                if let Some(tx) = done_tx.borrow_mut().take() {
                    let _ = tx.send(if (200..300).contains(&status) { Ok(()) } else { Err(format!("storage answered {status}")) });
                }
            })
        };
        let failed = Closure::<dyn FnMut()>::new(move || {
            if let Some(tx) = done_tx.borrow_mut().take() {
                let _ = tx.send(Err("the connection to storage failed".to_string()));
            }
        });
        xhr.set_onload(Some(finished.as_ref().unchecked_ref()));
        xhr.set_onerror(Some(failed.as_ref().unchecked_ref()));
        xhr.send_with_opt_blob(Some(file)).map_err(|_| "the browser could not send the file".to_string())?;
        let result = done_rx.await.unwrap_or_else(|_| Err("the upload was interrupted".to_string()));
        drop((on_progress, finished, failed));
        result
    }
}
