//! Uploading into a dataset: drop or pick files, or pick a whole folder
//! (relative paths kept). Every file goes straight to storage: small ones in
//! one PUT, large ones in parts (4 in flight, each retried with backoff, URLs
//! asked for just before use). Progress, speed and time left per file and
//! overall; cancel; failed files stay listed with the reason and a retry.
//! Unfinished uploads (a reload, another device) are listed with what
//! storage holds of them and resume when the file is chosen again.

use agora_model::files::{human_bytes, OnConflict, UploadTicket};
use leptos::prelude::*;

use crate::api::datasets::{cancel_upload, pending_uploads};
use crate::session::use_session;

#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))] // rows only change in the browser
pub(crate) enum State {
    Running,
    Done,
    Cancelled,
    /// `conflict`: the path exists; the person may replace it or keep both.
    Failed {
        message: String,
        conflict: bool,
    },
}

/// One file being uploaded, as its row shows it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Upload {
    key: u32,
    path: String,
    sent: f64,
    total: f64,
    /// Bytes stored before this attempt began (a resumed upload), and when it
    /// began (ms): the speed counts only what this attempt sent.
    base: f64,
    started_ms: f64,
    /// Bytes hashed so far while the file's MD5 is computed before it is
    /// sent (a file that goes in one PUT); `None` once sending began.
    hashing: Option<f64>,
    /// When the upload was asked for (ms), and how long it took once done.
    created_ms: f64,
    took_ms: Option<f64>,
    /// Time spent computing checksums (ms of hashing, not of reading).
    hash_ms: f64,
    upload_id: Option<String>,
    state: State,
}

impl Upload {
    fn speed(&self) -> f64 {
        let seconds = (now_ms() - self.started_ms) / 1000.0;
        if seconds > 0.2 {
            (self.sent - self.base).max(0.0) / seconds
        } else {
            0.0
        }
    }

    fn status(&self) -> String {
        match &self.state {
            State::Running if self.hashing.is_some() => {
                let hashed = self.hashing.unwrap_or_default();
                format!("checking the file · {:.0} %", if self.total > 0.0 { hashed / self.total * 100.0 } else { 0.0 })
            }
            State::Running => {
                let percent = if self.total > 0.0 { self.sent / self.total * 100.0 } else { 0.0 };
                let speed = self.speed();
                if speed > 0.0 {
                    let left = ((self.total - self.sent) / speed).ceil();
                    format!("{percent:.0} % · {}/s · {}", human_bytes(speed as u64), duration(left))
                } else {
                    format!("{percent:.0} %")
                }
            }
            State::Done => match self.took_ms {
                Some(took) if took > 0.0 => {
                    let bytes = (self.total - self.base).max(0.0);
                    format!(
                        "done · {} in {:.1} s ({}/s; checksums {:.1} s)",
                        human_bytes(bytes as u64),
                        took / 1000.0,
                        human_bytes((bytes / (took / 1000.0)) as u64),
                        self.hash_ms / 1000.0
                    )
                }
                _ => "done".into(),
            },
            State::Cancelled => "cancelled".into(),
            State::Failed { message, .. } => message.clone(),
        }
    }
}

/// `12 s left`, `3 min left`, `2 h left`.
fn duration(seconds: f64) -> String {
    match seconds {
        s if s < 90.0 => format!("{s:.0} s left"),
        s if s < 5400.0 => format!("{:.0} min left", s / 60.0),
        s => format!("{:.1} h left", s / 3600.0),
    }
}

fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    return js_sys::Date::now();
    #[cfg(not(feature = "hydrate"))]
    0.0
}

/// What every upload of one dataset page shares.
#[derive(Clone, Copy)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub(crate) struct Uploads {
    list: RwSignal<Vec<Upload>>,
    dataset: StoredValue<String>,
    /// Moves on when a file lands (the listing and activity log follow it).
    refresh: RwSignal<u32>,
    sound: Signal<bool>,
}

impl Uploads {
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn update(&self, key: u32, change: impl FnOnce(&mut Upload)) {
        self.list.update(|list| {
            if let Some(upload) = list.iter_mut().find(|u| u.key == key) {
                change(upload);
            }
        });
    }
}

#[component]
pub fn UploadPanel(id: String, folder: Signal<String>, refresh: RwSignal<u32>) -> impl IntoView {
    let session = use_session();
    let sound = Signal::derive(move || session.user().is_some_and(|u| u.preferences.upload_sound));
    let uploads = Uploads { list: RwSignal::new(Vec::new()), dataset: StoredValue::new(id.clone()), refresh, sound };
    let pending = Resource::new(move || (uploads.dataset.get_value(), refresh.get()), |(id, _)| pending_uploads(id));
    // The unfinished uploads not running on this page right now.
    let unfinished = Signal::derive(move || {
        let running: Vec<String> =
            uploads.list.read().iter().filter(|u| u.state == State::Running).filter_map(|u| u.upload_id.clone()).collect();
        pending.get().and_then(Result::ok).unwrap_or_default().into_iter().filter(|t| !running.contains(&t.upload_id)).collect::<Vec<_>>()
    });
    view! {
        <Picker uploads folder unfinished />
        <UploadList uploads />
        // Resources are read inside a Transition, so server rendering knows to
        // wait for them (and the list appears without a flash when it changes).
        <Transition fallback=|| ()>
            <Unfinished uploads unfinished />
        </Transition>
    }
}

#[component]
fn Picker(uploads: Uploads, folder: Signal<String>, unfinished: Signal<Vec<UploadTicket>>) -> impl IntoView {
    let dragging = RwSignal::new(false);
    let _ = (uploads, folder, unfinished);
    // `webkitdirectory` (every browser's folder picker) is not in the view
    // macro's attribute list; set it once the element exists.
    let folder_input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        if let Some(input) = folder_input.get() {
            let _ = input.set_attribute("webkitdirectory", "");
        }
    });
    #[cfg(feature = "hydrate")]
    let take = move |files: Option<web_sys::FileList>| {
        let Some(files) = files else { return };
        let waiting = unfinished.get_untracked();
        for index in 0..files.length() {
            if let Some(file) = files.get(index) {
                let relative = browser::relative_path(&file);
                let path = format!("{}{}", folder.get_untracked(), if relative.is_empty() { file.name() } else { relative });
                // The same path and size as an unfinished upload: resume it.
                let resume = waiting.iter().find(|t| t.path == path && t.size == file.size() as u64).cloned();
                browser::start(uploads, file, path, None, resume);
            }
        }
    };
    #[cfg(feature = "hydrate")]
    let on_change = move |ev: leptos::ev::Event| {
        use wasm_bindgen::JsCast;
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
        take(input.files());
        input.set_value("");
    };
    #[cfg(feature = "hydrate")]
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        take(ev.data_transfer().and_then(|d| d.files()));
    };
    #[cfg(not(feature = "hydrate"))]
    let (on_change, on_drop) = (|_: leptos::ev::Event| {}, |_: leptos::ev::DragEvent| {});
    view! {
        <div class="dropzone" class:dragging=move || dragging.get() data-testid="dropzone"
            on:dragover=move |ev: leptos::ev::DragEvent| { ev.prevent_default(); dragging.set(true); }
            on:dragleave=move |_| dragging.set(false)
            on:drop=on_drop>
            <p class="dropzone-title">"Drop files here, or"</p>
            <div class="dropzone-buttons">
                <label class="button">
                    "Choose files"
                    <input class="visually-hidden" type="file" multiple data-testid="upload-input" on:change=on_change />
                </label>
                <label class="button">
                    "Choose a folder"
                    <input class="visually-hidden" type="file" node_ref=folder_input data-testid="upload-folder" on:change=on_change />
                </label>
            </div>
            <p class="field-hint">"Files go straight to storage, into the folder shown above; folders keep their structure."</p>
        </div>
    }
}

#[component]
fn UploadList(uploads: Uploads) -> impl IntoView {
    move || {
        let list = uploads.list.get();
        (!list.is_empty()).then(|| {
            let (sent, total) = list.iter().filter(|u| u.state != State::Cancelled).fold((0.0, 0.0), |(s, t), u| (s + u.sent, t + u.total));
            let running = list.iter().filter(|u| u.state == State::Running).count();
            let speed: f64 = list.iter().filter(|u| u.state == State::Running).map(Upload::speed).sum();
            let overall = if running > 0 && speed > 0.0 {
                format!(" · {}/s · {}", human_bytes(speed as u64), duration(((total - sent) / speed).ceil()))
            } else {
                String::new()
            };
            let failed = list.iter().filter(|u| matches!(u.state, State::Failed { .. })).count();
            view! {
                <div class="uploads" data-testid="uploads">
                    <p class="muted">
                        {format!("Overall: {} of {}{overall}", human_bytes(sent as u64), human_bytes(total as u64))}
                        {(failed > 0).then(|| format!(" · {failed} failed"))}
                    </p>
                    <progress max=total value=sent aria-label="All uploads" data-testid="overall-progress"></progress>
                    <ul class="upload-list">
                        {list.into_iter().map(|u| view! { <UploadRow uploads upload=u /> }).collect_view()}
                    </ul>
                </div>
            }
        })
    }
}

#[component]
fn UploadRow(uploads: Uploads, upload: Upload) -> impl IntoView {
    let key = upload.key;
    let state = match &upload.state {
        State::Running => "running",
        State::Done => "done",
        State::Cancelled => "cancelled",
        State::Failed { .. } => "failed",
    };
    let status = upload.status();
    let actions = match &upload.state {
        State::Running => view! {
            <button type="button" class="button button-small" data-testid="upload-cancel"
                on:click=move |_| stop(uploads, key)>"Cancel"</button>
        }
        .into_any(),
        State::Failed { conflict: true, .. } => view! {
            <button type="button" class="button button-small" data-testid="upload-replace"
                on:click=move |_| retry(uploads, key, Some(OnConflict::Replace))>"Replace"</button>
            <button type="button" class="button button-small" data-testid="upload-keep-both"
                on:click=move |_| retry(uploads, key, Some(OnConflict::KeepBoth))>"Keep both"</button>
        }
        .into_any(),
        State::Failed { .. } => view! {
            <button type="button" class="button button-small" data-testid="upload-retry"
                on:click=move |_| retry(uploads, key, None)>"Retry"</button>
        }
        .into_any(),
        State::Done | State::Cancelled => ().into_any(),
    };
    view! {
        <li data-testid="upload-row" data-state=state data-name=upload.path.rsplit('/').next().unwrap_or_default().to_owned()
            data-took-ms=upload.took_ms.map(|t| format!("{t:.0}")) data-hash-ms=upload.took_ms.map(|_| format!("{:.0}", upload.hash_ms))>
            <span class="upload-name" title=upload.path.clone()>{upload.path.clone()}</span>
            <progress max=upload.total value=upload.sent aria-label=format!("Upload of {}", upload.path)></progress>
            <span class="muted" role=matches!(upload.state, State::Failed { .. }).then_some("alert")>{status}</span>
            <span class="upload-actions">{actions}</span>
        </li>
    }
}

#[component]
fn Unfinished(uploads: Uploads, unfinished: Signal<Vec<UploadTicket>>) -> impl IntoView {
    move || {
        let list = unfinished.get();
        (!list.is_empty()).then(|| view! {
            <div class="unfinished" data-testid="unfinished-uploads">
                <h3>"Unfinished uploads"</h3>
                <p class="muted">"Storage keeps what was sent. Choose the same file again to send the rest, or cancel to discard it."</p>
                <ul class="upload-list">
                    {list.into_iter().map(|ticket| view! { <UnfinishedRow uploads ticket /> }).collect_view()}
                </ul>
            </div>
        })
    }
}

#[component]
fn UnfinishedRow(uploads: Uploads, ticket: UploadTicket) -> impl IntoView {
    let stored = ticket.multipart.as_ref().map_or(0, |plan| {
        plan.done
            .iter()
            .map(|n| {
                let (start, end) = plan.range(ticket.size, *n);
                end - start
            })
            .sum::<u64>()
    });
    let error = RwSignal::new(None::<String>);
    let upload_id = ticket.upload_id.clone();
    let discard = move |_| {
        let (id, upload_id) = (uploads.dataset.get_value(), upload_id.clone());
        leptos::task::spawn_local(async move {
            match cancel_upload(id, upload_id).await {
                Ok(()) => uploads.refresh.update(|r| *r += 1),
                Err(err) => error.set(Some(err.to_string())),
            }
        });
    };
    let _ = &uploads;
    #[cfg(feature = "hydrate")]
    let on_change = {
        let ticket = ticket.clone();
        move |ev: leptos::ev::Event| {
            use wasm_bindgen::JsCast;
            let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
            let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
            input.set_value("");
            if file.size() as u64 != ticket.size {
                error.set(Some(format!(
                    "that file has {} but this upload is of {}; choose the same file",
                    human_bytes(file.size() as u64),
                    human_bytes(ticket.size)
                )));
                return;
            }
            error.set(None);
            browser::start(uploads, file, ticket.path.clone(), None, Some(ticket.clone()));
        }
    };
    #[cfg(not(feature = "hydrate"))]
    let on_change = |_: leptos::ev::Event| {};
    view! {
        <li data-testid="unfinished-row" data-name=ticket.path.rsplit('/').next().unwrap_or_default().to_owned()>
            <span class="upload-name" title=ticket.path.clone()>{ticket.path.clone()}</span>
            <progress max=ticket.size as f64 value=stored as f64 aria-label=format!("Stored of {}", ticket.path)></progress>
            <span class="muted">{format!("{} of {} stored", human_bytes(stored), human_bytes(ticket.size))}</span>
            <span class="upload-actions">
                <label class="button button-small">
                    "Resume…"
                    <input class="visually-hidden" type="file" data-testid="resume-input" on:change=on_change />
                </label>
                <button type="button" class="button button-small" data-testid="unfinished-cancel" on:click=discard>"Cancel"</button>
            </span>
            {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
        </li>
    }
}

fn stop(uploads: Uploads, key: u32) {
    #[cfg(feature = "hydrate")]
    browser::cancel(uploads, key);
    let _ = (uploads, key);
}

fn retry(uploads: Uploads, key: u32, on_conflict: Option<OnConflict>) {
    #[cfg(feature = "hydrate")]
    browser::retry(uploads, key, on_conflict);
    let _ = (uploads, key, on_conflict);
}

#[cfg(feature = "hydrate")]
mod browser {
    //! The transfers themselves: XMLHttpRequest (the browser API that reports
    //! upload progress) straight to presigned URLs.

    use std::cell::{Cell, RefCell};
    use std::collections::HashMap;
    use std::rc::Rc;

    use agora_model::files::{
        md5_base64, OnConflict, PartPlan, PartRequest, PartUrlsRequest, UploadRequest, UploadTicket, DEFAULT_MULTIPART_THRESHOLD,
    };
    use agora_model::{ApiError, ErrorKind};
    use futures::TryStreamExt;
    use leptos::prelude::*;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    use super::{now_ms, State, Upload, Uploads};
    use crate::api::datasets::{cancel_upload, complete_upload, part_urls, pending_uploads, start_upload};

    const PARTS_IN_FLIGHT: usize = 4;
    const ATTEMPTS: u32 = 5;

    /// A running transfer's handle: the file (for retries) and what stops it.
    struct Transfer {
        file: web_sys::File,
        path: String,
        stop: Rc<Stop>,
    }

    #[derive(Default)]
    struct Stop {
        stopped: Cell<bool>,
        requests: RefCell<Vec<web_sys::XmlHttpRequest>>,
    }

    impl Stop {
        fn stop(&self) {
            self.stopped.set(true);
            for xhr in self.requests.borrow_mut().drain(..) {
                let _ = xhr.abort();
            }
        }
    }

    thread_local! {
        static TRANSFERS: RefCell<HashMap<u32, Transfer>> = RefCell::new(HashMap::new());
        static NEXT_KEY: Cell<u32> = const { Cell::new(1) };
    }

    /// The path inside a picked folder (empty for single files).
    pub(super) fn relative_path(file: &web_sys::File) -> String {
        js_sys::Reflect::get(file, &"webkitRelativePath".into()).ok().and_then(|v| v.as_string()).unwrap_or_default()
    }

    /// Uploads `file` to `path`, resuming `resume` when given.
    pub(super) fn start(
        uploads: Uploads,
        file: web_sys::File,
        path: String,
        on_conflict: Option<OnConflict>,
        resume: Option<UploadTicket>,
    ) {
        let key = NEXT_KEY.with(|k| {
            let key = k.get();
            k.set(key + 1);
            key
        });
        let row = Upload {
            key,
            path: path.clone(),
            sent: 0.0,
            total: file.size(),
            base: 0.0,
            started_ms: now_ms(),
            hashing: None,
            created_ms: now_ms(),
            took_ms: None,
            hash_ms: 0.0,
            upload_id: None,
            state: State::Running,
        };
        uploads.list.update(|list| list.push(row));
        run(uploads, key, file, path, on_conflict, resume);
    }

    pub(super) fn cancel(uploads: Uploads, key: u32) {
        if let Some(transfer) = TRANSFERS.with(|t| t.borrow_mut().remove(&key)) {
            transfer.stop.stop();
        }
        let upload_id = uploads.list.with_untracked(|l| l.iter().find(|u| u.key == key).and_then(|u| u.upload_id.clone()));
        uploads.update(key, |u| u.state = State::Cancelled);
        if let Some(upload_id) = upload_id {
            leptos::task::spawn_local(async move {
                let _ = cancel_upload(uploads.dataset.get_value(), upload_id).await;
                uploads.refresh.update(|r| *r += 1);
            });
        }
    }

    /// Runs a failed upload again: resumes it when storage still holds it,
    /// else starts it anew (with the person's answer to a name conflict).
    pub(super) fn retry(uploads: Uploads, key: u32, on_conflict: Option<OnConflict>) {
        let Some((file, path)) = TRANSFERS.with(|t| t.borrow().get(&key).map(|t| (t.file.clone(), t.path.clone()))) else { return };
        let upload_id = uploads.list.with_untracked(|l| l.iter().find(|u| u.key == key).and_then(|u| u.upload_id.clone()));
        uploads.update(key, |u| {
            u.state = State::Running;
            u.started_ms = now_ms();
            u.base = u.sent;
        });
        leptos::task::spawn_local(async move {
            let resume = match (upload_id, on_conflict) {
                (Some(upload_id), None) => pending_uploads(uploads.dataset.get_value())
                    .await
                    .ok()
                    .and_then(|list| list.into_iter().find(|t| t.upload_id == upload_id)),
                _ => None,
            };
            run(uploads, key, file, path, on_conflict, resume);
        });
    }

    fn run(uploads: Uploads, key: u32, file: web_sys::File, path: String, on_conflict: Option<OnConflict>, resume: Option<UploadTicket>) {
        let stop = Rc::new(Stop::default());
        TRANSFERS.with(|t| t.borrow_mut().insert(key, Transfer { file: file.clone(), path: path.clone(), stop: stop.clone() }));
        leptos::task::spawn_local(async move {
            let outcome = transfer(uploads, key, &file, path, on_conflict, resume, &stop).await;
            if stop.stopped.get() {
                return;
            }
            match outcome {
                Ok(()) => {
                    TRANSFERS.with(|t| t.borrow_mut().remove(&key));
                    uploads.update(key, |u| {
                        u.sent = u.total;
                        u.took_ms = Some(now_ms() - u.created_ms);
                        u.state = State::Done;
                    });
                }
                Err(err) => uploads.update(key, |u| {
                    u.state = State::Failed { conflict: err.kind == ErrorKind::Conflict, message: err.message };
                }),
            }
            uploads.refresh.update(|r| *r += 1);
            let (all_finished, any_done) =
                uploads.list.with_untracked(|l| (l.iter().all(|u| u.state != State::Running), l.iter().any(|u| u.state == State::Done)));
            if all_finished && any_done && uploads.sound.get_untracked() {
                chime();
            }
        });
    }

    fn failed(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorKind::Unavailable, message.into())
    }

    async fn transfer(
        uploads: Uploads,
        key: u32,
        file: &web_sys::File,
        path: String,
        on_conflict: Option<OnConflict>,
        resume: Option<UploadTicket>,
        stop: &Rc<Stop>,
    ) -> Result<(), ApiError> {
        let id = uploads.dataset.get_value();
        let ticket = match resume {
            Some(ticket) => ticket,
            None => {
                let content_type = Some(file.type_()).filter(|t| !t.is_empty());
                let size = file.size() as u64;
                // A file that goes in one PUT declares its MD5 when it starts
                // (below the default threshold; a hub configured with a
                // higher one asks for it, and gets it then).
                let md5 = if size < DEFAULT_MULTIPART_THRESHOLD { Some(hash_whole(uploads, key, file, stop).await?) } else { None };
                let mut request = UploadRequest { path, size, content_type, labels: Vec::new(), on_conflict, md5 };
                match start_upload(id.clone(), request.clone()).await {
                    Err(err) if err.field.as_deref() == Some("md5") && request.md5.is_none() => {
                        request.md5 = Some(hash_whole(uploads, key, file, stop).await?);
                        start_upload(id.clone(), request).await?
                    }
                    other => other?,
                }
            }
        };
        let upload_id = ticket.upload_id.clone();
        uploads.update(key, |u| u.upload_id = Some(upload_id.clone()));
        if stop.stopped.get() {
            // Cancelled while the upload was being started.
            let _ = cancel_upload(id, upload_id).await;
            return Ok(());
        }
        if let Some(put) = &ticket.put {
            uploads.update(key, |u| {
                u.sent = 0.0;
                u.base = 0.0;
            });
            let progress = move |loaded: f64| uploads.update(key, |u| u.sent = loaded);
            send(&put.url, &put.headers, file, progress, stop).await.map_err(failed)?;
        } else if let Some(plan) = &ticket.multipart {
            send_parts(uploads, key, &id, &ticket, plan, file, stop).await?;
        }
        if stop.stopped.get() {
            return Ok(());
        }
        complete_upload(id, upload_id).await.map(drop)
    }

    async fn send_parts(
        uploads: Uploads,
        key: u32,
        id: &str,
        ticket: &UploadTicket,
        plan: &PartPlan,
        file: &web_sys::File,
        stop: &Rc<Stop>,
    ) -> Result<(), ApiError> {
        let size = ticket.size;
        let part_bytes = |n: u32| {
            let (start, end) = plan.range(size, n);
            (end - start) as f64
        };
        let base: f64 = plan.done.iter().map(|n| part_bytes(*n)).sum();
        uploads.update(key, |u| {
            u.sent = base;
            u.base = base;
            u.started_ms = now_ms();
        });
        // Bytes sent per part (finished parts count fully).
        let loaded: Rc<RefCell<HashMap<u32, f64>>> = Rc::default();
        let todo: Vec<u32> = (1..=plan.part_count).filter(|n| !plan.done.contains(n)).collect();
        // One hasher runs ahead of the senders, part after part, so a part
        // is hashed while the ones before it are being sent; it waits when
        // it is a few parts ahead.
        let (mut hashed_tx, hashed_rx) = futures::channel::mpsc::channel::<(u32, String)>(PARTS_IN_FLIGHT);
        let hasher = async move {
            use futures::SinkExt;
            for number in todo {
                if stop.stopped.get() {
                    return Err(failed("cancelled"));
                }
                let (start, end) = plan.range(size, number);
                let blob =
                    file.slice_with_f64_and_f64(start as f64, end as f64).map_err(|_| failed("the browser could not read the file"))?;
                let (md5, hashed_ms) = md5_of(&blob, |_| {}).await?;
                uploads.update(key, |u| u.hash_ms += hashed_ms);
                if hashed_tx.send((number, md5_base64(&md5))).await.is_err() {
                    break; // the senders stopped: their error is the answer
                }
            }
            Ok(())
        };
        let senders =
            futures::StreamExt::map(hashed_rx, Ok::<(u32, String), ApiError>).try_for_each_concurrent(PARTS_IN_FLIGHT, |(number, md5)| {
                let loaded = loaded.clone();
                async move {
                    let (start, end) = plan.range(size, number);
                    let blob =
                        file.slice_with_f64_and_f64(start as f64, end as f64).map_err(|_| failed("the browser could not read the file"))?;
                    let report = {
                        let loaded = loaded.clone();
                        move |bytes: f64| {
                            loaded.borrow_mut().insert(number, bytes);
                            let sent = base + loaded.borrow().values().sum::<f64>();
                            uploads.update(key, |u| u.sent = sent);
                        }
                    };
                    let mut last = String::new();
                    for attempt in 0..ATTEMPTS {
                        if stop.stopped.get() {
                            return Err(failed("cancelled"));
                        }
                        if attempt > 0 {
                            report(0.0);
                            sleep(500 * 2i32.pow(attempt - 1)).await;
                        }
                        // A fresh URL for every attempt: it cannot expire while queued.
                        let request = PartUrlsRequest { parts: vec![PartRequest { part_number: number, md5: md5.clone() }] };
                        let url = part_urls(id.to_owned(), ticket.upload_id.clone(), request).await;
                        let url = match url {
                            Ok(mut urls) if !urls.is_empty() => urls.remove(0),
                            Ok(_) => return Err(failed("no URL for a part")),
                            Err(err) if err.kind.http_status() < 500 && err.kind != ErrorKind::RateLimited => return Err(err),
                            Err(err) => {
                                last = err.message;
                                continue;
                            }
                        };
                        match send(&url.url, &url.headers, &blob, report.clone(), stop).await {
                            Ok(()) => {
                                report(end as f64 - start as f64);
                                return Ok(());
                            }
                            Err(why) => last = why,
                        }
                    }
                    Err(failed(format!("part {number} failed {ATTEMPTS} times: {last}")))
                }
            });
        futures::future::try_join(hasher, senders).await.map(drop).inspect_err(|_| {
            for xhr in stop.requests.borrow_mut().drain(..) {
                let _ = xhr.abort();
            }
        })
    }

    /// The whole file's MD5 (base64), shown as "checking the file" progress.
    async fn hash_whole(uploads: Uploads, key: u32, file: &web_sys::File, stop: &Rc<Stop>) -> Result<String, ApiError> {
        uploads.update(key, |u| u.hashing = Some(0.0));
        let (md5, hashed_ms) = md5_of(file, |hashed| {
            if !stop.stopped.get() {
                uploads.update(key, |u| u.hashing = Some(hashed))
            }
        })
        .await?;
        uploads.update(key, |u| {
            u.hashing = None;
            u.hash_ms += hashed_ms;
        });
        Ok(md5_base64(&md5))
    }

    /// The MD5 of a blob, read in 4 MiB slices: each slice is a wait on the
    /// browser's file reading, so the page stays responsive while it hashes.
    /// Also returns the milliseconds spent hashing (reading not counted).
    async fn md5_of(blob: &web_sys::Blob, mut progress: impl FnMut(f64)) -> Result<([u8; 16], f64), ApiError> {
        use md5::{Digest, Md5};
        const SLICE: f64 = 4.0 * 1024.0 * 1024.0;
        let unreadable = |_| failed("the browser could not read the file");
        let size = blob.size();
        let mut hasher = Md5::new();
        let mut hashing_ms = 0.0;
        let mut offset = 0.0;
        while offset < size {
            let end = (offset + SLICE).min(size);
            let slice = blob.slice_with_f64_and_f64(offset, end).map_err(unreadable)?;
            let buffer = wasm_bindgen_futures::JsFuture::from(slice.array_buffer()).await.map_err(unreadable)?;
            let started = now_ms();
            hasher.update(js_sys::Uint8Array::new(&buffer).to_vec());
            hashing_ms += now_ms() - started;
            offset = end;
            progress(offset);
        }
        Ok((hasher.finalize().into(), hashing_ms))
    }

    async fn sleep(ms: i32) {
        let (tx, rx) = futures::channel::oneshot::channel::<()>();
        let callback = Closure::once(move || {
            let _ = tx.send(());
        });
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(callback.as_ref().unchecked_ref(), ms);
        }
        let _ = rx.await;
    }

    /// One PUT with progress; `stop` can abort it.
    async fn send(
        url: &str,
        headers: &[(String, String)],
        body: &web_sys::Blob,
        progress: impl Fn(f64) + 'static,
        stop: &Rc<Stop>,
    ) -> Result<(), String> {
        let xhr = web_sys::XmlHttpRequest::new().map_err(|_| "the browser refused to start the upload".to_string())?;
        xhr.open("PUT", url).map_err(|_| "the upload URL is not valid".to_string())?;
        for (name, value) in headers {
            // The browser sets Content-Length itself.
            if !name.eq_ignore_ascii_case("content-length") {
                let _ = xhr.set_request_header(name, value);
            }
        }
        let (done_tx, done_rx) = futures::channel::oneshot::channel::<Result<(), String>>();
        let done_tx = Rc::new(RefCell::new(Some(done_tx)));
        let finish = {
            let done_tx = done_tx.clone();
            move |result: Result<(), String>| {
                if let Some(tx) = done_tx.borrow_mut().take() {
                    let _ = tx.send(result);
                }
            }
        };
        let on_progress = Closure::<dyn FnMut(web_sys::ProgressEvent)>::new(move |ev: web_sys::ProgressEvent| progress(ev.loaded()));
        if let Ok(upload) = xhr.upload() {
            upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
        }
        let on_load = {
            let (xhr, finish) = (xhr.clone(), finish.clone());
            Closure::<dyn FnMut()>::new(move || {
                let status = xhr.status().unwrap_or(0);
                finish(if (200..300).contains(&status) { Ok(()) } else { Err(format!("storage answered {status}")) });
            })
        };
        let on_error = {
            let finish = finish.clone();
            Closure::<dyn FnMut()>::new(move || finish(Err("the connection to storage failed".to_string())))
        };
        let on_abort = Closure::<dyn FnMut()>::new(move || finish(Err("cancelled".to_string())));
        xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
        xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        xhr.set_onabort(Some(on_abort.as_ref().unchecked_ref()));
        stop.requests.borrow_mut().push(xhr.clone());
        xhr.send_with_opt_blob(Some(body)).map_err(|_| "the browser could not send the file".to_string())?;
        let result = done_rx.await.unwrap_or_else(|_| Err("the upload was interrupted".to_string()));
        stop.requests.borrow_mut().retain(|r| r != &xhr);
        drop((on_progress, on_load, on_error, on_abort));
        result
    }

    /// A short two-note chime when a batch of uploads is finished (the
    /// "upload sound" preference).
    fn chime() {
        let Ok(context) = web_sys::AudioContext::new() else { return };
        let now = context.current_time();
        for (i, frequency) in [660.0_f32, 880.0].into_iter().enumerate() {
            let (Ok(oscillator), Ok(gain)) = (context.create_oscillator(), context.create_gain()) else { return };
            oscillator.frequency().set_value(frequency);
            let start = now + i as f64 * 0.12;
            let _ = gain.gain().set_value_at_time(0.15, start);
            let _ = gain.gain().exponential_ramp_to_value_at_time(0.001, start + 0.25);
            let _ = oscillator.connect_with_audio_node(&gain);
            let _ = gain.connect_with_audio_node(&context.destination());
            let _ = oscillator.start_with_when(start);
            let _ = oscillator.stop_with_when(start + 0.3);
        }
    }
}
