//! A dataset's files: folders with breadcrumbs, labels, downloads, and the
//! upload panel (`uploads`).

use agora_model::files::{
    human_bytes, parse_labels, BulkLabelsRequest, BulkLabelsResult, FileEntry, FileFailure, FilePage, FileQuery, FileSort, LabelCount,
    LabelsRequest, ThumbnailsRequest, MAX_PAGE_FILES,
};
use agora_model::tags::Tag;
use agora_model::time::format_unix;
use leptos::prelude::*;

use crate::components::form::ErrorAlert;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::datasets::{bulk_labels, delete_file, file_download, list_files, set_file_labels, thumbnails};
use crate::components::empty_state::EmptyState;
use crate::components::loading::Loading;
use crate::pages::preview::Preview;
use crate::pages::uploads::UploadPanel;
use crate::url::encode_query_value;

/// The file table's label editor. Its state lives above the table, so a
/// reload of the listing (after a change by someone else) keeps what is being
/// typed; live reloads wait while it is open. One file at a time.
#[derive(Clone, Copy)]
pub struct LabelEditor {
    /// The file being edited.
    path: RwSignal<Option<String>>,
    text: RwSignal<String>,
    save: Action<(String, LabelsRequest), Result<agora_model::files::FileView, agora_model::ApiError>>,
}

impl LabelEditor {
    /// Made by the dataset page (for the table and for the live updates).
    pub fn provide(refresh: RwSignal<u32>) -> Self {
        let save = Action::new(|(id, request): &(String, LabelsRequest)| set_file_labels(id.clone(), request.clone()));
        let editor = LabelEditor { path: RwSignal::new(None), text: RwSignal::new(String::new()), save };
        Effect::new(move |_| {
            if let Some(Ok(_)) = save.value().get() {
                editor.path.set(None);
                refresh.update(|r| *r += 1);
            }
        });
        provide_context(editor);
        editor
    }

    pub fn open(&self) -> bool {
        self.path.read().is_some()
    }

    pub fn open_untracked(&self) -> bool {
        self.path.read_untracked().is_some()
    }
}

/// A listing's state lives in the URL (`?dir=&labels=&name=&sort=&desc=1&offset=`),
/// so reloads, the back button and shared links keep it.
fn query_from(params: &leptos_router::params::ParamsMap) -> FileQuery {
    let labels = params.get("labels").unwrap_or_default().split(',').map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect();
    FileQuery {
        folder: params.get("dir").unwrap_or_default(),
        labels,
        name: params.get("name").filter(|n| !n.is_empty()),
        sort: match params.get("sort").as_deref() {
            Some("size") => FileSort::Size,
            Some("modified") => FileSort::Modified,
            _ => FileSort::Name,
        },
        descending: params.get("desc").as_deref() == Some("1"),
        offset: params.get("offset").and_then(|o| o.parse().ok()).unwrap_or(0),
        limit: Some(PAGE),
    }
}

const PAGE: usize = 100;

fn href(id: &str, q: &FileQuery) -> String {
    let mut parts = Vec::new();
    if !q.folder.is_empty() {
        parts.push(format!("dir={}", encode_query_value(&q.folder)));
    }
    if !q.labels.is_empty() {
        parts.push(format!("labels={}", encode_query_value(&q.labels.join(","))));
    }
    if let Some(name) = &q.name {
        parts.push(format!("name={}", encode_query_value(name)));
    }
    match q.sort {
        FileSort::Name => {}
        FileSort::Size => parts.push("sort=size".into()),
        FileSort::Modified => parts.push("sort=modified".into()),
    }
    if q.descending {
        parts.push("desc=1".into());
    }
    if q.offset > 0 {
        parts.push(format!("offset={}", q.offset));
    }
    if parts.is_empty() {
        format!("/datasets/{id}")
    } else {
        format!("/datasets/{id}?{}", parts.join("&"))
    }
}

/// `refresh` moves on after every upload and label change (the activity log
/// listens to it too).
#[component]
pub fn Files(id: String, can_write: bool, refresh: RwSignal<u32>) -> impl IntoView {
    let params = use_query_map();
    let query = Memo::new(move |_| query_from(&params.read()));
    let folder = Signal::derive(move || query.read().folder.clone());
    let id = StoredValue::new(id);
    let page = Resource::new(move || (id.get_value(), query.get(), refresh.get()), |(id, query, _)| list_files(id, query));
    let selected = RwSignal::new(Vec::<String>::new());
    // Kept here: the listing re-renders after every change and the bulk
    // form's report must outlive it.
    let bulk = BulkState::default();
    let previewing = RwSignal::new(None::<FileEntry>);
    let grid = RwSignal::new(false);
    Effect::new(move |_| {
        query.track();
        selected.set(Vec::new());
    });

    view! {
        <section class="card settings-section files" aria-labelledby="files-heading">
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
            <Toolbar id=id.get_value() query grid />
            {move || previewing.get().map(|file| view! {
                <Preview id=id.get_value() file close=Callback::new(move |()| previewing.set(None)) />
            })}
            <Transition fallback=|| view! { <Loading /> }>
                {move || page.get().map(|result| match result {
                    Ok(page) => view! { <Listing id=id.get_value() page query can_write refresh selected bulk previewing grid=grid.get() /> }.into_any(),
                    Err(err) => view! { <ErrorAlert error=err /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// Name filter, sort order and the active label filters.
#[component]
fn Toolbar(id: String, query: Memo<FileQuery>, grid: RwSignal<bool>) -> impl IntoView {
    let navigate = use_navigate();
    let id = StoredValue::new(id);
    let name = RwSignal::new(query.get_untracked().name.unwrap_or_default());
    Effect::new(move |_| name.set(query.read().name.clone().unwrap_or_default()));
    let go = move |q: FileQuery| navigate(&href(&id.get_value(), &q), Default::default());
    let on_filter = {
        let go = go.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let typed = name.get_untracked().trim().to_owned();
            go(FileQuery { name: (!typed.is_empty()).then_some(typed), offset: 0, ..query.get_untracked() });
        }
    };
    let on_sort = {
        let go = go.clone();
        move |ev: leptos::ev::Event| {
            let sort = match event_target_value(&ev).as_str() {
                "size" => FileSort::Size,
                "modified" => FileSort::Modified,
                _ => FileSort::Name,
            };
            go(FileQuery { sort, offset: 0, ..query.get_untracked() });
        }
    };
    let flip = move |_| {
        let q = query.get_untracked();
        go(FileQuery { descending: !q.descending, offset: 0, ..q });
    };
    let sort_value = move || match query.read().sort {
        FileSort::Name => "name",
        FileSort::Size => "size",
        FileSort::Modified => "modified",
    };
    view! {
        <div class="file-toolbar">
            <form class="name-filter" on:submit=on_filter role="search">
                <label for="name-filter" class="visually-hidden">"Filter by name"</label>
                <input id="name-filter" type="search" placeholder="Filter by name…" data-testid="name-filter"
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
                <button type="submit" class="button button-small">"Filter"</button>
            </form>
            <label class="sort">
                "Sort by "
                <select data-testid="sort" on:change=on_sort prop:value=sort_value>
                    <option value="name">"name"</option>
                    <option value="size">"size"</option>
                    <option value="modified">"modified"</option>
                </select>
            </label>
            <button type="button" class="button button-small" data-testid="view-toggle" on:click=move |_| grid.update(|g| *g = !*g)
                aria-pressed=move || grid.get().to_string()>
                {move || if grid.get() { "Table view" } else { "Grid view" }}
            </button>
            <button type="button" class="button button-small" data-testid="sort-direction" on:click=flip
                aria-label=move || if query.read().descending { "Descending; click for ascending" } else { "Ascending; click for descending" }>
                {move || if query.read().descending { "↓" } else { "↑" }}
            </button>
            {move || {
                let q = query.get();
                q.filtered().then(|| {
                    let chips = q.labels.clone().into_iter().map(|label| {
                        let without = FileQuery { labels: q.labels.iter().filter(|l| **l != label).cloned().collect(), offset: 0, ..q.clone() };
                        view! {
                            <A href=href(&id.get_value(), &without) attr:class="chip chip-filter" attr:data-testid="active-filter" attr:title="Remove this filter">
                                {label} " ×"
                            </A>
                        }
                    }).collect_view();
                    let cleared = FileQuery { labels: Vec::new(), name: None, offset: 0, ..q.clone() };
                    view! {
                        <span class="chips">{chips}</span>
                        <A href=href(&id.get_value(), &cleared) attr:class="button button-small" attr:data-testid="clear-filters">"Clear filters"</A>
                    }
                })
            }}
        </div>
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
fn Listing(
    id: String,
    page: FilePage,
    query: Memo<FileQuery>,
    can_write: bool,
    refresh: RwSignal<u32>,
    selected: RwSignal<Vec<String>>,
    bulk: BulkState,
    previewing: RwSignal<Option<FileEntry>>,
    grid: bool,
) -> impl IntoView {
    let q = query.get_untracked();
    let facets = view! { <Facets id=id.clone() facets=page.facets.clone() query=q.clone() /> };
    let bulk = can_write.then(|| view! { <BulkLabels id=id.clone() total=page.total query selected refresh state=bulk /> });
    let indexing = page.indexing.then(|| {
        view! { <p class="notice" role="status" data-testid="indexing">"Indexing… the listing may be incomplete for a minute."</p> }
    });
    if page.folders.is_empty() && page.files.is_empty() {
        let empty = if q.filtered() {
            view! {
                <EmptyState icon=icondata::LuSearchX title="No files match">
                    <p>"Nothing under this folder has those labels or that name. Remove a filter above to see more."</p>
                </EmptyState>
            }
            .into_any()
        } else {
            view! {
                <EmptyState icon=icondata::LuUpload title="No files here yet">
                    <p>"Drop files above to upload them; they go straight to storage. Scripts can use the REST API (see the README)."</p>
                </EmptyState>
            }
            .into_any()
        };
        return view! { {indexing} {facets} {empty} }.into_any();
    }
    let (first, last) = (page.offset + 1, page.offset + page.files.len() as u64);
    let all_paths: Vec<String> = page.files.iter().map(|f| f.path.clone()).collect();
    let everything_selected = {
        let all_paths = all_paths.clone();
        move || !all_paths.is_empty() && selected.read().len() == all_paths.len()
    };
    let toggle_all = move |_| selected.update(|s| if s.len() == all_paths.len() { s.clear() } else { s.clone_from(&all_paths) });
    let prev = (page.offset > 0).then(|| FileQuery { offset: (page.offset as usize).saturating_sub(PAGE), ..q.clone() });
    let next = (last < page.total).then(|| FileQuery { offset: last as usize, ..q.clone() });
    let pager = view! {
        <nav class="pager" aria-label="Pages" data-testid="pager">
            <span class="muted">{format!("{first}–{last} of {}", page.total)}</span>
            {prev.map(|p| view! { <A href=href(&id, &p) attr:class="button button-small" attr:data-testid="page-prev">"← Previous"</A> })}
            {next.map(|n| view! { <A href=href(&id, &n) attr:class="button button-small" attr:data-testid="page-next">"Next →"</A> })}
        </nav>
    };
    if grid {
        return view! { {indexing} {facets} {bulk} <Grid id=id.clone() page=page.clone() query=q.clone() previewing /> {pager} }.into_any();
    }
    view! {
        {indexing}
        {facets}
        {bulk}
        <div class="table-wrap">
            <table class="table" data-testid="files-table">
                <thead><tr>
                    {can_write.then(|| view! {
                        <th class="select"><input type="checkbox" aria-label="Select every file on this page" data-testid="select-all"
                            prop:checked=everything_selected on:change=toggle_all /></th>
                    })}
                    <th>"Name"</th><th>"Size"</th><th>"Type"</th><th>"Modified"</th><th>"Labels"</th><th><span class="visually-hidden">"Actions"</span></th>
                </tr></thead>
                <tbody>
                    {page.folders.into_iter().map(|folder| {
                        let name = folder.path.trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_owned();
                        let link = href(&id, &FileQuery { folder: folder.path.clone(), offset: 0, ..q.clone() });
                        view! {
                            <tr data-testid="folder-row">
                                {can_write.then(|| view! { <td></td> })}
                                <td><A href=link>{format!("{name}/")}</A></td>
                                <td class="muted">{format!("{} file(s)", folder.files)}</td><td class="muted">"folder"</td><td></td><td></td><td></td>
                            </tr>
                        }
                    }).collect_view()}
                    {page.files.into_iter().map(|file| view! { <FileRow id=id.clone() file can_write refresh selected previewing /> }).collect_view()}
                </tbody>
            </table>
        </div>
        {pager}
    }
    .into_any()
}

/// Folders and files as cards, images with their thumbnails.
#[component]
fn Grid(id: String, page: FilePage, query: FileQuery, previewing: RwSignal<Option<FileEntry>>) -> impl IntoView {
    let images: Vec<String> = page.files.iter().filter(|f| f.file_type == "image").map(|f| f.path.clone()).collect();
    let dataset = id.clone();
    let links = Resource::new(
        move || images.clone(),
        move |paths| {
            let dataset = dataset.clone();
            async move {
                if paths.is_empty() {
                    return Default::default();
                }
                let links = thumbnails(dataset, ThumbnailsRequest { paths }).await.unwrap_or_default();
                links.into_iter().map(|l| (l.path, l.url)).collect::<std::collections::HashMap<String, String>>()
            }
        },
    );
    view! {
        <ul class="file-grid" data-testid="file-grid">
            {page.folders.into_iter().map(|folder| {
                let name = folder.path.trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_owned();
                let link = href(&id, &FileQuery { folder: folder.path.clone(), offset: 0, ..query.clone() });
                view! {
                    <li class="grid-card folder"><A href=link>
                        <span class="grid-thumb" aria-hidden="true">"📁"</span>
                        <span class="grid-name">{format!("{name}/")}</span>
                        <span class="muted">{format!("{} file(s)", folder.files)}</span>
                    </A></li>
                }
            }).collect_view()}
            {page.files.into_iter().map(|file| {
                let path = file.path.clone();
                let open = { let file = file.clone(); move |_| previewing.set(Some(file.clone())) };
                view! {
                    <li class="grid-card" data-testid="grid-card" data-name=file.name.clone()>
                        <button type="button" class="grid-open" on:click=open title=file.path.clone()>
                            <Transition fallback=|| view! { <span class="grid-thumb"></span> }>
                                {
                                    let (path, kind) = (path.clone(), file.file_type.clone());
                                    move || links.get().map(|links| match links.get(&path) {
                                        Some(url) => view! { <img class="grid-thumb" src=url.clone() alt="" loading="lazy" data-testid="thumbnail" /> }.into_any(),
                                        None => view! { <span class="grid-thumb grid-type">{kind.clone()}</span> }.into_any(),
                                    })
                                }
                            </Transition>
                            <span class="grid-name">{file.name.clone()}</span>
                            <span class="muted">{human_bytes(file.size)}</span>
                        </button>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// The labels of the listed files with counts; choosing one filters by it.
#[component]
fn Facets(id: String, facets: Vec<LabelCount>, query: FileQuery) -> impl IntoView {
    let shown: Vec<LabelCount> = facets.into_iter().filter(|f| !query.labels.contains(&f.label)).collect();
    (!shown.is_empty()).then(|| {
        view! {
            <div class="facets" data-testid="facets">
                <span class="muted">"Labels: "</span>
                {shown.into_iter().map(|facet| {
                    let mut labels = query.labels.clone();
                    labels.push(facet.label.clone());
                    let link = href(&id, &FileQuery { labels, offset: 0, ..query.clone() });
                    let label = facet.label.clone();
                    view! {
                        <A href=link attr:class="chip chip-facet" attr:data-testid="facet" attr:data-label=facet.label>
                            {label} " " <span class="facet-count">{facet.count}</span>
                        </A>
                    }
                }).collect_view()}
            </div>
        }
    })
}

/// Files one bulk request changes.
const BULK_BATCH: usize = 50;

/// Adds or removes a label on the selected files or on every file the
/// listing matches, 50 files per request, with progress and failures.
#[derive(Clone, Copy, Default)]
struct BulkState {
    text: RwSignal<String>,
    progress: RwSignal<Option<(u64, u64)>>,
    report: RwSignal<Option<BulkLabelsResult>>,
    error: RwSignal<Option<String>>,
}

#[component]
fn BulkLabels(
    id: String,
    total: u64,
    query: Memo<FileQuery>,
    selected: RwSignal<Vec<String>>,
    refresh: RwSignal<u32>,
    state: BulkState,
) -> impl IntoView {
    let BulkState { text, progress, report, error } = state;
    let id = StoredValue::new(id);
    let run = move |remove: bool, everything: bool| {
        let labels = parse_labels(&text.get_untracked());
        if labels.is_empty() {
            error.set(Some("Type a label first, such as split=train (to remove, the key is enough)".into()));
            return;
        }
        error.set(None);
        report.set(None);
        let chosen = selected.get_untracked();
        let q = query.get_untracked();
        leptos::task::spawn_local(async move {
            let paths = if everything { all_matching(id.get_value(), q).await } else { Ok(chosen) };
            let paths = match paths {
                Ok(paths) => paths,
                Err(err) => return error.set(Some(err.to_string())),
            };
            let (add, keys) = if remove { (Vec::new(), labels.into_iter().map(|t| t.key).collect()) } else { (labels, Vec::new()) };
            let mut outcome = BulkLabelsResult::default();
            progress.set(Some((0, paths.len() as u64)));
            for (n, batch) in paths.chunks(BULK_BATCH).enumerate() {
                let change = BulkLabelsRequest { paths: batch.to_vec(), add: add.clone(), remove: keys.clone() };
                match bulk_labels(id.get_value(), change).await {
                    Ok(result) => {
                        outcome.changed += result.changed;
                        outcome.unchanged += result.unchanged;
                        outcome.failed.extend(result.failed);
                    }
                    Err(err) => outcome.failed.extend(batch.iter().map(|p| FileFailure { path: p.clone(), reason: err.message.clone() })),
                }
                progress.set(Some((((n + 1) * BULK_BATCH).min(paths.len()) as u64, paths.len() as u64)));
            }
            progress.set(None);
            report.set(Some(outcome));
            selected.set(Vec::new());
            refresh.update(|r| *r += 1);
        });
    };
    let busy = move || progress.get().is_some();
    view! {
        <div class="bulk-labels" data-testid="bulk-labels">
            <label for="bulk-label-input" class="visually-hidden">"Label to add or remove"</label>
            <input id="bulk-label-input" data-testid="bulk-label-input" placeholder="split=train"
                prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev)) />
            <button type="button" class="button button-small" data-testid="bulk-add-selected" on:click=move |_| run(false, false)
                disabled=move || busy() || selected.read().is_empty()>{move || format!("Add to {} selected", selected.read().len())}</button>
            <button type="button" class="button button-small" data-testid="bulk-remove-selected" on:click=move |_| run(true, false)
                disabled=move || busy() || selected.read().is_empty()>"Remove from selected"</button>
            <button type="button" class="button button-small" data-testid="bulk-add-all" on:click=move |_| run(false, true)
                disabled=move || busy() || total == 0>{format!("Add to all {total} listed")}</button>
            <button type="button" class="button button-small" data-testid="bulk-remove-all" on:click=move |_| run(true, true)
                disabled=move || busy() || total == 0>{format!("Remove from all {total}")}</button>
            {move || progress.get().map(|(done, of)| view! {
                <progress max=of as f64 value=done as f64 aria-label="Labelling" data-testid="bulk-progress"></progress>
                <span class="muted">{format!("{done} of {of}")}</span>
            })}
            {move || error.get().map(|e| view! { <p class="field-error" role="alert">{e}</p> })}
            {move || report.get().map(|r| view! {
                <div class="bulk-report" role="status" data-testid="bulk-report">
                    {format!("{} changed, {} already so", r.changed, r.unchanged)}
                    {(!r.failed.is_empty()).then(|| view! {
                        {format!(", {} failed:", r.failed.len())}
                        <ul>{r.failed.iter().take(20).map(|f| view! { <li>{format!("{}: {}", f.path, f.reason)}</li> }).collect_view()}</ul>
                    })}
                </div>
            })}
        </div>
    }
}

/// Every path the listing matches, read page by page before changing any
/// (a change may move files in or out of a filter).
async fn all_matching(id: String, query: FileQuery) -> Result<Vec<String>, agora_model::ApiError> {
    let mut paths = Vec::new();
    loop {
        let page = list_files(id.clone(), FileQuery { offset: paths.len(), limit: Some(MAX_PAGE_FILES), ..query.clone() }).await?;
        let got = page.files.len();
        paths.extend(page.files.into_iter().map(|f| f.path));
        if got == 0 || paths.len() as u64 >= page.total {
            return Ok(paths);
        }
    }
}

fn labels_text(labels: &[Tag]) -> String {
    labels.iter().map(|t| if t.value.is_empty() { t.key.clone() } else { format!("{}={}", t.key, t.value) }).collect::<Vec<_>>().join(", ")
}

#[component]
fn FileRow(
    id: String,
    file: FileEntry,
    can_write: bool,
    refresh: RwSignal<u32>,
    selected: RwSignal<Vec<String>>,
    previewing: RwSignal<Option<FileEntry>>,
) -> impl IntoView {
    let editor = expect_context::<LabelEditor>();
    let editing = {
        let path = file.path.clone();
        Signal::derive(move || editor.path.read().as_deref() == Some(path.as_str()))
    };
    let toggle = {
        let (path, current) = (file.path.clone(), labels_text(&file.labels));
        move |_| {
            if editing.get_untracked() {
                editor.path.set(None);
            } else {
                editor.save.value().set(None);
                editor.text.set(current.clone());
                editor.path.set(Some(path.clone()));
            }
        }
    };
    let (save, text) = (editor.save, editor.text);
    let (download_id, download_path) = (id.clone(), file.path.clone());
    let (delete_id, delete_path) = (id.clone(), file.path.clone());
    let confirming = RwSignal::new(false);
    let path = file.path.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch((id.clone(), LabelsRequest { path: path.clone(), labels: parse_labels(&text.get_untracked()) }));
    };
    view! {
        <tr data-testid="file-row" data-name=file.name.clone()>
            {can_write.then(|| {
                let path = file.path.clone();
                let checked = { let path = path.clone(); move || selected.read().contains(&path) };
                view! {
                    <td class="select"><input type="checkbox" data-testid="select-file" aria-label=format!("Select {}", file.path)
                        prop:checked=checked on:change=move |_| selected.update(|s| {
                            if let Some(i) = s.iter().position(|p| *p == path) { s.remove(i); } else { s.push(path.clone()); }
                        }) /></td>
                }
            })}
            <td title=file.path.clone()>
                <button type="button" class="link-button" data-testid="preview-open" on:click={
                    let file = file.clone();
                    move |_| previewing.set(Some(file.clone()))
                }>{file.name.clone()}</button>
            </td>
            <td>{human_bytes(file.size)}</td>
            <td class="muted">{file.file_type.clone()}</td>
            <td class="muted">{format_unix(file.modified)}</td>
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
                    <button type="button" class="button button-small" data-testid="edit-labels" on:click=toggle.clone()>"Labels"</button>
                })}
                <button type="button" class="button button-small" data-testid="download"
                    on:click=move |_| download(download_id.clone(), download_path.clone())>"Download"</button>
                {can_write.then(|| {
                    let (id, path) = (delete_id.clone(), delete_path.clone());
                    let remove = Action::new(move |_: &()| delete_file(id.clone(), path.clone()));
                    Effect::new(move |_| {
                        if let Some(Ok(())) = remove.value().get() {
                            refresh.update(|r| *r += 1);
                        }
                    });
                    view! {
                        {move || if confirming.get() {
                            view! {
                                <button type="button" class="button button-small button-danger" data-testid="delete-file-confirm"
                                    on:click=move |_| { remove.dispatch(()); }>"Delete for good"</button>
                                <button type="button" class="button button-small" on:click=move |_| confirming.set(false)>"Keep"</button>
                            }.into_any()
                        } else {
                            view! {
                                <button type="button" class="button button-small" data-testid="delete-file"
                                    on:click=move |_| confirming.set(true)>"Delete"</button>
                            }.into_any()
                        }}
                        {move || match remove.value().get() {
                            Some(Err(err)) => Some(view! { <p class="field-error" role="alert">{err.message}</p> }),
                            _ => None,
                        }}
                    }
                })}
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
