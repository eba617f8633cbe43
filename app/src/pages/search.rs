//! The search page: kind tabs, label facets, filters, sort, highlighted
//! results and pages. Its state lives in the URL, so results can be shared.

use agora_model::files::human_bytes;
use agora_model::search::{HitKind, SearchHit, SearchRequest, SearchResults, SearchSort};
use agora_model::time::format_unix;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};
use leptos_router::params::ParamsMap;

use crate::api::search::search;
use crate::components::empty_state::EmptyState;
use crate::components::form::ErrorAlert;
use crate::components::loading::Loading;
use crate::url::encode_query_value;

const PAGE: usize = 20;

fn request_from(params: &ParamsMap) -> SearchRequest {
    let text = |name: &str| params.get(name).filter(|v| !v.is_empty());
    SearchRequest {
        q: params.get("q").unwrap_or_default(),
        kind: match text("kind").as_deref() {
            Some("dataset") => Some(HitKind::Dataset),
            Some("file") => Some(HitKind::File),
            Some("dashboard") => Some(HitKind::Dashboard),
            Some("run") => Some(HitKind::Run),
            _ => None,
        },
        dataset: text("dataset"),
        size_min: text("size_min").and_then(|v| v.parse::<f64>().ok()).map(|mib| (mib * 1048576.0) as u64),
        size_max: text("size_max").and_then(|v| v.parse::<f64>().ok()).map(|mib| (mib * 1048576.0) as u64),
        modified_from: text("from"),
        modified_to: text("to"),
        sort: match text("sort").as_deref() {
            Some("newest") => SearchSort::Newest,
            Some("name") => SearchSort::Name,
            Some("size") => SearchSort::Size,
            _ => SearchSort::Relevance,
        },
        offset: text("offset").and_then(|o| o.parse().ok()).unwrap_or(0),
        limit: Some(PAGE),
    }
}

/// The page's URL for a request (sizes in MiB, as the form shows them).
pub fn search_href(r: &SearchRequest) -> String {
    let mut parts = vec![format!("q={}", encode_query_value(&r.q))];
    let mut add = |name: &str, value: String| parts.push(format!("{name}={}", encode_query_value(&value)));
    match r.kind {
        Some(HitKind::Dataset) => add("kind", "dataset".into()),
        Some(HitKind::File) => add("kind", "file".into()),
        Some(HitKind::Dashboard) => add("kind", "dashboard".into()),
        Some(HitKind::Run) => add("kind", "run".into()),
        None => {}
    }
    if let Some(d) = &r.dataset {
        add("dataset", d.clone());
    }
    let mib = |b: u64| format!("{}", b as f64 / 1048576.0);
    if let Some(v) = r.size_min {
        add("size_min", mib(v));
    }
    if let Some(v) = r.size_max {
        add("size_max", mib(v));
    }
    if let Some(v) = &r.modified_from {
        add("from", v.clone());
    }
    if let Some(v) = &r.modified_to {
        add("to", v.clone());
    }
    match r.sort {
        SearchSort::Relevance => {}
        SearchSort::Newest => add("sort", "newest".into()),
        SearchSort::Name => add("sort", "name".into()),
        SearchSort::Size => add("sort", "size".into()),
    }
    if r.offset > 0 {
        add("offset", r.offset.to_string());
    }
    format!("/search?{}", parts.join("&"))
}

/// Where a hit leads: the dataset, or the file's folder in it.
pub fn hit_href(hit: &SearchHit) -> String {
    match (&hit.kind, &hit.path) {
        (HitKind::File, Some(path)) => match path.rsplit_once('/') {
            Some((folder, _)) => format!("/datasets/{}?dir={}", hit.id, encode_query_value(&format!("{folder}/"))),
            None => format!("/datasets/{}", hit.id),
        },
        (HitKind::Dashboard, _) => format!("/dashboards/{}", hit.id),
        (HitKind::Run, Some(run)) => format!("/datasets/{}/runs/{run}", hit.id),
        _ => format!("/datasets/{}", hit.id),
    }
}

/// The title with matching words marked.
pub fn highlighted(hit: &SearchHit) -> impl IntoView + use<> {
    hit.title
        .iter()
        .map(|f| if f.hit { view! { <mark>{f.text.clone()}</mark> }.into_any() } else { f.text.clone().into_any() })
        .collect_view()
}

#[component]
pub fn SearchPage() -> impl IntoView {
    let params = use_query_map();
    let request = Memo::new(move |_| request_from(&params.read()));
    let results = Resource::new(move || request.get(), search);
    view! {
        <Title text="Search" />
        <header class="page-header">
            <h1>"Search"</h1>
            <Show when=move || !request.read().q.is_empty()>
                <p class="muted" data-testid="search-query">"Results for " <q>{move || request.read().q.clone()}</q></p>
            </Show>
        </header>
        <Filters request />
        <Transition fallback=|| view! { <Loading /> }>
            {move || results.get().map(|r| match r {
                Ok(results) => view! { <Results results request=request.get_untracked() /> }.into_any(),
                Err(err) => view! { <ErrorAlert error=err /> }.into_any(),
            })}
        </Transition>
        <SyntaxHelp />
    }
}

#[component]
fn Filters(request: Memo<SearchRequest>) -> impl IntoView {
    let navigate = use_navigate();
    let (q, size_min, size_max, from, to) = (
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
        RwSignal::new(String::new()),
    );
    let sort = RwSignal::new(String::from("relevance"));
    Effect::new(move |_| {
        let r = request.get();
        q.set(r.q.clone());
        size_min.set(r.size_min.map(|b| format!("{}", b as f64 / 1048576.0)).unwrap_or_default());
        size_max.set(r.size_max.map(|b| format!("{}", b as f64 / 1048576.0)).unwrap_or_default());
        from.set(r.modified_from.clone().unwrap_or_default());
        to.set(r.modified_to.clone().unwrap_or_default());
        sort.set(
            match r.sort {
                SearchSort::Relevance => "relevance",
                SearchSort::Newest => "newest",
                SearchSort::Name => "name",
                SearchSort::Size => "size",
            }
            .into(),
        );
    });
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mib = |s: String| s.trim().parse::<f64>().ok().filter(|v| *v >= 0.0).map(|v| (v * 1048576.0) as u64);
        let day = |s: String| Some(s).filter(|s| !s.is_empty());
        let next = SearchRequest {
            q: q.get_untracked(),
            size_min: mib(size_min.get_untracked()),
            size_max: mib(size_max.get_untracked()),
            modified_from: day(from.get_untracked()),
            modified_to: day(to.get_untracked()),
            sort: match sort.get_untracked().as_str() {
                "newest" => SearchSort::Newest,
                "name" => SearchSort::Name,
                "size" => SearchSort::Size,
                _ => SearchSort::Relevance,
            },
            offset: 0,
            ..request.get_untracked()
        };
        navigate(&search_href(&next), Default::default());
    };
    let input = |signal: RwSignal<String>| move |ev| signal.set(event_target_value(&ev));
    view! {
        <form class="search-filters card" on:submit=submit role="search" data-testid="search-filters">
            <div class="field search-q">
                <label for="search-q">"Search"</label>
                <input id="search-q" type="search" data-testid="search-input" prop:value=move || q.get() on:input=input(q)
                    placeholder="cats label:split=train type:image" />
            </div>
            <div class="field"><label for="size-min">"Size from (MiB)"</label>
                <input id="size-min" inputmode="decimal" prop:value=move || size_min.get() on:input=input(size_min) /></div>
            <div class="field"><label for="size-max">"to (MiB)"</label>
                <input id="size-max" inputmode="decimal" prop:value=move || size_max.get() on:input=input(size_max) /></div>
            <div class="field"><label for="from">"Modified from"</label>
                <input id="from" type="date" prop:value=move || from.get() on:input=input(from) /></div>
            <div class="field"><label for="to">"to"</label>
                <input id="to" type="date" prop:value=move || to.get() on:input=input(to) /></div>
            <div class="field"><label for="search-sort">"Sort"</label>
                <select id="search-sort" data-testid="search-sort" prop:value=move || sort.get() on:change=move |ev| sort.set(event_target_value(&ev))>
                    <option value="relevance">"relevance"</option>
                    <option value="newest">"newest"</option>
                    <option value="name">"name"</option>
                    <option value="size">"size"</option>
                </select></div>
            <button type="submit" class="button button-primary" data-testid="search-submit">"Search"</button>
        </form>
    }
}

#[component]
fn Results(results: SearchResults, request: SearchRequest) -> impl IntoView {
    let tab = |label: &'static str, kind: Option<HitKind>, count: u64| {
        let active = request.kind == kind;
        let href = search_href(&SearchRequest { kind, offset: 0, ..request.clone() });
        view! {
            <A href=href attr:class=if active { "tab active" } else { "tab" } attr:aria-current=active.then_some("page")
                attr:data-testid=format!("tab-{}", label.to_lowercase())>
                {label} " " <span class="facet-count">{count}</span>
            </A>
        }
    };
    let tabs = view! {
        <nav class="tabs" aria-label="Kinds of results">
            {tab("All", None, results.datasets + results.files + results.dashboards + results.runs)}
            {tab("Datasets", Some(HitKind::Dataset), results.datasets)}
            {tab("Files", Some(HitKind::File), results.files)}
            {tab("Dashboards", Some(HitKind::Dashboard), results.dashboards)}
            {tab("Runs", Some(HitKind::Run), results.runs)}
        </nav>
    };
    let facets = (!results.facets.is_empty()).then(|| {
        let chips = results
            .facets
            .clone()
            .into_iter()
            .map(|facet| {
                let q = format!("{} label:{}", request.q.trim(), facet.label).trim().to_owned();
                let href = search_href(&SearchRequest { q, offset: 0, ..request.clone() });
                view! { <A href=href attr:class="chip chip-facet" attr:data-testid="search-facet">{facet.label} " " <span class="facet-count">{facet.count}</span></A> }
            })
            .collect_view();
        view! { <div class="facets"><span class="muted">"Labels: "</span>{chips}</div> }
    });
    let notes = results.notes.iter().map(|n| view! { <p class="notice" role="status">{n.clone()}</p> }).collect_view();
    let indexing =
        results.indexing.then(|| view! { <p class="notice" role="status">"Indexing… results may be incomplete for a minute."</p> });
    if results.hits.is_empty() {
        let hint = if request.q.is_empty() {
            "Type a word, a label such as label:split=train, or type:image."
        } else {
            "Check the spelling, remove a filter or a label:, or search all kinds."
        };
        return view! {
            {tabs} {notes} {indexing}
            <EmptyState icon=icondata::LuSearchX title="Nothing found">
                <p>{hint}</p>
            </EmptyState>
        }
        .into_any();
    }
    let (first, last) = (request.offset + 1, request.offset + results.hits.len());
    let prev = (request.offset > 0).then(|| SearchRequest { offset: request.offset.saturating_sub(PAGE), ..request.clone() });
    let next = ((last as u64) < results.total && last + PAGE <= agora_model::search::MAX_SEARCH_WINDOW)
        .then(|| SearchRequest { offset: last, ..request.clone() });
    view! {
        {tabs} {notes} {indexing} {facets}
        <ol class="search-results" data-testid="search-results" start=first>
            {results.hits.iter().map(|hit| view! { <Hit hit=hit.clone() /> }).collect_view()}
        </ol>
        <nav class="pager" aria-label="Pages">
            <span class="muted">{format!("{first}–{last} of {}", results.total)}</span>
            {prev.map(|p| view! { <A href=search_href(&p) attr:class="button button-small">"← Previous"</A> })}
            {next.map(|n| view! { <A href=search_href(&n) attr:class="button button-small" attr:data-testid="search-next">"Next →"</A> })}
        </nav>
    }
    .into_any()
}

#[component]
fn Hit(hit: SearchHit) -> impl IntoView {
    let href = hit_href(&hit);
    let detail = match hit.kind {
        HitKind::File => format!(
            "file in {} · {} · {} · {}",
            hit.dataset_name,
            hit.path.clone().unwrap_or_default(),
            human_bytes(hit.size),
            format_unix(hit.modified)
        ),
        HitKind::Dataset => format!("dataset · updated {}", format_unix(hit.modified)),
        HitKind::Dashboard => "dashboard".into(),
        HitKind::Run => format!("training run in {} · started {}", hit.dataset_name, format_unix(hit.modified)),
    };
    let title = highlighted(&hit);
    view! {
        <li class="search-hit" data-testid="search-hit">
            <A href=href>{title}</A>
            <p class="muted">{detail}</p>
            {(!hit.description.is_empty()).then(|| view! { <p>{hit.description.clone()}</p> })}
            {(!hit.labels.is_empty()).then(|| view! {
                <span class="chips">{hit.labels.iter().map(|t| view! {
                    <span class="chip">{if t.value.is_empty() { t.key.clone() } else { format!("{}={}", t.key, t.value) }}</span>
                }).collect_view()}</span>
            })}
        </li>
    }
}

#[component]
fn SyntaxHelp() -> impl IntoView {
    view! {
        <details class="card syntax-help" data-testid="syntax-help">
            <summary>"Search syntax"</summary>
            <ul>
                <li><code>"cats dogs"</code>" — both words (a typo is forgiven in words of 4+ letters)"</li>
                <li><code>"\"red fox\""</code>" — the exact phrase"</li>
                <li><code>"-blurry"</code>" — without this word"</li>
                <li><code>"label:split=train"</code>" — files with this label; " <code>"label:split"</code> " — with any value"</li>
                <li><code>"type:image"</code>" — image, table, json, text, audio, video, archive, model or other"</li>
            </ul>
            <p class="muted">"You only ever see what you may read: your datasets, those shared with you, and public ones."</p>
        </details>
    }
}
