//! Search: the query syntax, access filtering and results.
//!
//! Every query is restricted to the datasets the caller may read — decided
//! by `auth::access::allowed` on each dataset's document — before anything
//! is counted, so nothing leaks through totals, facets or highlights.

use std::collections::HashMap;

use agora_model::search::{parse_day, Fragment, HitKind, SearchHit, SearchRequest, SearchResults, SearchSort};
use agora_model::sharing::{Member, MemberRole, Visibility};
use agora_model::tags::Tag;
use tantivy::collector::sort_key::{SortByStaticFastValue, SortByString};
use tantivy::collector::{Collector, Count, DocSetCollector, FacetCollector, FacetCounts, TopDocs};
use tantivy::query::{BooleanQuery, FuzzyTermQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery, TermSetQuery};
use tantivy::schema::{Facet, IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Order, Searcher, TantivyDocument, Term};

use super::query::{label_counts, label_filter, term};
use super::schema::PUBLIC;
use super::{Fields, IndexError};
use crate::auth::access::{allowed, Kind, Resource};
use crate::auth::caller::{Caller, Identity};

/// Words (plain or in phrases) one query may hold.
const MAX_WORDS: usize = 32;
/// Words of at least this many letters forgive one typo.
const FUZZY_FROM: usize = 4;
const MAX_FACETS: usize = 30;

/// A query as typed, taken apart.
#[derive(Debug, Default, PartialEq)]
pub struct Parsed {
    pub words: Vec<String>,
    pub phrases: Vec<Vec<String>>,
    pub excluded: Vec<String>,
    pub labels: Vec<String>,
    pub types: Vec<String>,
    /// What was not taken literally.
    pub notes: Vec<String>,
}

/// Lower-cased alphanumeric runs: what the index's tokenizer makes of text.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty() && w.len() <= 40).map(str::to_lowercase).collect()
}

/// Parses the query syntax; never fails. An unbalanced quote makes the rest
/// plain words, an unknown `field:` is read as words, operators without a
/// word are dropped.
pub fn parse(q: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let mut rest = q;
    while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
        rest = &rest[start..];
        if let Some(inner) = rest.strip_prefix('"') {
            match inner.find('"') {
                Some(end) => {
                    let phrase = words(&inner[..end]);
                    match phrase.len() {
                        0 => {}
                        1 => parsed.words.extend(phrase),
                        _ => parsed.phrases.push(phrase),
                    }
                    rest = &inner[end + 1..];
                }
                None => {
                    parsed.notes.push("an opening quote has no closing one; the rest is read as plain words".into());
                    parsed.words.extend(words(inner));
                    rest = "";
                }
            }
            continue;
        }
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let token = &rest[..end];
        rest = &rest[end..];
        if let Some(word) = token.strip_prefix('-') {
            parsed.excluded.extend(words(word));
        } else if let Some(label) = token.strip_prefix("label:") {
            if label.is_empty() {
                parsed.notes.push("label: needs key=value or key".into());
            } else {
                parsed.labels.push(label.to_owned());
            }
        } else if let Some(kind) = token.strip_prefix("type:") {
            parsed.types.push(kind.to_lowercase());
        } else {
            if let Some((field, _)) = token.split_once(':').filter(|(f, v)| !f.is_empty() && !v.is_empty()) {
                if field.chars().all(char::is_alphabetic) {
                    parsed.notes.push(format!("{field}: is not a search field (label:, type:); searched as words"));
                }
            }
            parsed.words.extend(words(token));
        }
    }
    let total = parsed.words.len() + parsed.phrases.iter().map(Vec::len).sum::<usize>();
    if total > MAX_WORDS {
        parsed.notes.push(format!("only the first {MAX_WORDS} words are searched"));
        parsed.words.truncate(MAX_WORDS.saturating_sub(parsed.phrases.iter().map(Vec::len).sum()));
    }
    parsed
}

/// Datasets the caller may read, id → name.
pub fn readable(searcher: &Searcher, f: &Fields, caller: &Caller) -> Result<HashMap<String, String>, IndexError> {
    let admin = matches!(&caller.identity, Identity::Session { user, .. } if user.is_admin());
    let mut readers = vec![PUBLIC.to_owned()];
    if let Some(user) = caller.user() {
        readers.push(user.id.clone());
    }
    let mut clauses: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, term(f.kind, "dataset"))];
    if !admin {
        let terms = readers.iter().map(|r| Term::from_field_text(f.readers, r));
        clauses.push((Occur::Must, Box::new(TermSetQuery::new(terms))));
    }
    let mut datasets = HashMap::new();
    for address in searcher.search(&BooleanQuery::new(clauses), &DocSetCollector)? {
        let doc: TantivyDocument = searcher.doc(address)?;
        let text = |field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let (id, owner) = (text(f.dataset), text(f.owner));
        let members: Vec<Member> = doc
            .get_all(f.readers)
            .filter_map(|v| v.as_str())
            .filter(|r| *r != PUBLIC && *r != owner)
            .map(|r| Member { user_id: r.to_owned(), role: MemberRole::Viewer })
            .collect();
        let public = doc.get_all(f.readers).any(|v| v.as_str() == Some(PUBLIC));
        let visibility = if public { Visibility::Public } else { Visibility::Private };
        let resource = Resource { kind: Kind::Dataset, id: &id, owner: &owner, members: &members, visibility };
        if allowed(caller, &resource).is_some() {
            datasets.insert(id, text(f.name));
        }
    }
    Ok(datasets)
}

/// A word in the name or text. Typo tolerance is for words the index does
/// not know: a known word matches exactly (fuzzy matching walks the whole
/// term dictionary, which is what makes it slow).
fn text_query(searcher: &Searcher, f: &Fields, word: &str) -> Box<dyn Query> {
    let exact: Vec<Term> = [f.name, f.text].into_iter().map(|field| Term::from_field_text(field, word)).collect();
    let known = exact.iter().any(|term| searcher.doc_freq(term).is_ok_and(|n| n > 0));
    let fuzzy = !known && word.chars().count() >= FUZZY_FROM;
    let mut any: Vec<(Occur, Box<dyn Query>)> = Vec::new();
    for term in exact {
        any.push((Occur::Should, Box::new(TermQuery::new(term.clone(), IndexRecordOption::WithFreqs))));
        if fuzzy {
            any.push((Occur::Should, Box::new(FuzzyTermQuery::new(term, 1, true))));
        }
    }
    Box::new(BooleanQuery::new(any))
}

fn phrase_query(f: &Fields, phrase: &[String]) -> Box<dyn Query> {
    let any = [f.name, f.text]
        .into_iter()
        .map(|field| {
            let terms = phrase.iter().map(|w| Term::from_field_text(field, w)).collect();
            (Occur::Should, Box::new(PhraseQuery::new(terms)) as Box<dyn Query>)
        })
        .collect();
    Box::new(BooleanQuery::new(any))
}

/// Readable datasets per caller, valid for one searcher generation (a commit
/// makes a new one, so access changes are seen at once).
#[derive(Default)]
pub struct ReadableCache {
    generation: u64,
    by_caller: HashMap<String, std::sync::Arc<HashMap<String, String>>>,
}

const CACHED_CALLERS: usize = 1000;

fn caller_key(caller: &Caller) -> String {
    match &caller.identity {
        Identity::Anonymous => String::new(),
        Identity::Session { user, .. } => format!("s:{}:{}", user.id, user.is_admin()),
        Identity::ApiKey { key, .. } => format!("k:{}", key.id),
    }
}

/// [`readable`], remembered for the searcher's generation.
pub fn readable_cached(
    searcher: &Searcher,
    f: &Fields,
    caller: &Caller,
    cache: &std::sync::Mutex<ReadableCache>,
) -> Result<std::sync::Arc<HashMap<String, String>>, IndexError> {
    let generation = searcher.generation().generation_id();
    let key = caller_key(caller);
    {
        let mut cache = cache.lock().unwrap();
        if cache.generation != generation {
            *cache = ReadableCache { generation, by_caller: HashMap::new() };
        }
        if let Some(found) = cache.by_caller.get(&key) {
            return Ok(found.clone());
        }
    }
    let found = std::sync::Arc::new(readable(searcher, f, caller)?);
    let mut cache = cache.lock().unwrap();
    if cache.generation == generation && cache.by_caller.len() < CACHED_CALLERS {
        cache.by_caller.insert(key, found.clone());
    }
    Ok(found)
}

/// Runs a search for `caller`.
pub fn search(searcher: &Searcher, f: &Fields, caller: &Caller, request: &SearchRequest) -> Result<SearchResults, IndexError> {
    search_with(searcher, f, caller, request, &std::sync::Mutex::default())
}

/// [`search`] with a cache of readable datasets kept across queries.
pub fn search_with(
    searcher: &Searcher,
    f: &Fields,
    caller: &Caller,
    request: &SearchRequest,
    cache: &std::sync::Mutex<ReadableCache>,
) -> Result<SearchResults, IndexError> {
    let parsed = parse(&request.q);
    let datasets = readable_cached(searcher, f, caller, cache)?;
    let mut scope: Vec<String> = datasets.keys().cloned().collect();
    if let Some(only) = &request.dataset {
        scope.retain(|id| id == only);
    }
    let in_datasets: Box<dyn Query> = Box::new(TermSetQuery::new(scope.iter().map(|id| Term::from_field_text(f.dataset, id))));
    // Dashboards are found by their owner and members (administrators: all);
    // one shared by link is read by whoever has the link, not listed.
    let dashboards = match (&caller.identity, &request.dataset) {
        (_, Some(_)) | (Identity::Anonymous | Identity::ApiKey { .. }, _) => None,
        (Identity::Session { user, .. }, None) if user.is_admin() => Some(term(f.kind, "dashboard")),
        (Identity::Session { user, .. }, None) => {
            Some(Box::new(BooleanQuery::new(vec![(Occur::Must, term(f.kind, "dashboard")), (Occur::Must, term(f.readers, &user.id))]))
                as Box<dyn Query>)
        }
    };
    let visible: Box<dyn Query> = match dashboards {
        Some(dashboards) => Box::new(BooleanQuery::new(vec![(Occur::Should, in_datasets), (Occur::Should, dashboards)])),
        None => in_datasets,
    };
    let mut must: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, visible)];
    for word in &parsed.words {
        must.push((Occur::Must, text_query(searcher, f, word)));
    }
    for phrase in &parsed.phrases {
        must.push((Occur::Must, phrase_query(f, phrase)));
    }
    for word in &parsed.excluded {
        for field in [f.name, f.text] {
            must.push((Occur::MustNot, Box::new(TermQuery::new(Term::from_field_text(field, word), IndexRecordOption::Basic))));
        }
    }
    // File-only conditions make the search a file search.
    let file_only = !parsed.labels.is_empty()
        || !parsed.types.is_empty()
        || request.size_min.is_some()
        || request.size_max.is_some()
        || request.modified_from.is_some()
        || request.modified_to.is_some();
    for label in &parsed.labels {
        must.push((Occur::Must, label_filter(f, label)));
    }
    if !parsed.types.is_empty() {
        let types = parsed.types.iter().map(|t| Term::from_field_text(f.file_type, t));
        must.push((Occur::Must, Box::new(TermSetQuery::new(types))));
    }
    if request.size_min.is_some() || request.size_max.is_some() {
        let low = Term::from_field_u64(f.size, request.size_min.unwrap_or(0));
        let high = Term::from_field_u64(f.size, request.size_max.unwrap_or(u64::MAX));
        must.push((Occur::Must, Box::new(RangeQuery::new(std::ops::Bound::Included(low), std::ops::Bound::Included(high)))));
    }
    if request.modified_from.is_some() || request.modified_to.is_some() {
        let from = request.modified_from.as_deref().and_then(parse_day).unwrap_or(i64::MIN);
        // The whole "to" day counts.
        let to = request.modified_to.as_deref().and_then(parse_day).map_or(i64::MAX, |d| d + 86_399);
        let (low, high) = (Term::from_field_i64(f.modified, from), Term::from_field_i64(f.modified, to));
        must.push((Occur::Must, Box::new(RangeQuery::new(std::ops::Bound::Included(low), std::ops::Bound::Included(high)))));
    }
    let base = BooleanQuery::new(must);
    let of_kind =
        |kind: &str| BooleanQuery::new(vec![(Occur::Must, Box::new(base.clone()) as Box<dyn Query>), (Occur::Must, term(f.kind, kind))]);
    let dataset_count = if file_only { 0 } else { searcher.search(&of_kind("dataset"), &Count)? as u64 };
    let dashboard_count = if file_only { 0 } else { searcher.search(&of_kind("dashboard"), &Count)? as u64 };
    let run_count = if file_only { 0 } else { searcher.search(&of_kind("run"), &Count)? as u64 };
    let kind = match request.kind {
        Some(HitKind::Dataset) if !file_only => Some("dataset"),
        Some(HitKind::Dashboard) if !file_only => Some("dashboard"),
        Some(HitKind::Run) if !file_only => Some("run"),
        Some(HitKind::Dataset | HitKind::Dashboard | HitKind::Run) => None,
        Some(HitKind::File) => Some("file"),
        None if file_only => Some("file"),
        None => None,
    };
    let wanted = match (request.kind, kind) {
        (Some(HitKind::Dashboard | HitKind::Dataset | HitKind::Run), None) => None,
        (_, Some(kind)) => Some(of_kind(kind)),
        (_, None) => Some(base.clone()),
    };
    let limit = request.limit.unwrap_or(20);
    let mut hits = Vec::new();
    let mut total = 0;
    let label_facets = || {
        let mut facets = FacetCollector::for_field("label_facet");
        facets.add_facet(Facet::root());
        facets
    };
    let mut facet_counts = None;
    // Files are counted in the page's own pass where it covers them.
    let mut file_count = None;
    if let Some(query) = &wanted {
        // Only files carry label facets, so unless datasets alone are asked
        // for, the page and the facets come from one pass.
        let facets_here = !matches!(kind, Some("dataset" | "dashboard" | "run"));
        let page = TopDocs::with_limit(limit).and_offset(request.offset);
        let by_path = || (SortByString::for_field("name_sort"), Order::Asc);
        let (matched, addresses, counts) = match request.sort {
            SearchSort::Relevance => page_and_facets(searcher, query, page.order_by_score(), facets_here.then(label_facets))?,
            SearchSort::Newest => {
                let key = ((SortByStaticFastValue::<i64>::for_field("modified"), Order::Desc), by_path());
                page_and_facets(searcher, query, page.order_by(key), facets_here.then(label_facets))?
            }
            SearchSort::Name => page_and_facets(searcher, query, page.order_by(by_path()), facets_here.then(label_facets))?,
            SearchSort::Size => {
                let key = ((SortByStaticFastValue::<u64>::for_field("size"), Order::Desc), by_path());
                page_and_facets(searcher, query, page.order_by(key), facets_here.then(label_facets))?
            }
        };
        facet_counts = counts;
        total = matched;
        file_count = match kind {
            Some("dataset" | "dashboard" | "run") => None,
            Some(_) => Some(matched),
            None => Some(matched.saturating_sub(dataset_count + dashboard_count + run_count)),
        };
        let highlight = if parsed.words.is_empty() && parsed.phrases.is_empty() {
            None
        } else {
            let mut words = parsed.words.clone();
            words.extend(parsed.phrases.iter().flatten().cloned());
            let terms: Vec<(Occur, Box<dyn Query>)> = words
                .iter()
                .map(|w| {
                    (Occur::Should, Box::new(TermQuery::new(Term::from_field_text(f.name, w), IndexRecordOption::Basic)) as Box<dyn Query>)
                })
                .collect();
            SnippetGenerator::create(searcher, &BooleanQuery::new(terms), f.name).ok()
        };
        for address in addresses {
            hits.push(hit(searcher, f, address, &datasets, highlight.as_ref())?);
        }
    }
    let (file_count, counts) = match (file_count, facet_counts) {
        (Some(files), Some(counts)) => (files, counts),
        _ => {
            let (files, counts) = searcher.search(&of_kind("file"), &(Count, label_facets()))?;
            (files as u64, counts)
        }
    };
    let facets = label_counts(&counts, MAX_FACETS);
    Ok(SearchResults {
        total,
        datasets: dataset_count,
        files: file_count,
        dashboards: dashboard_count,
        runs: run_count,
        hits,
        facets,
        notes: parsed.notes,
        indexing: false,
    })
}

/// In one pass: how many match, one page of them, and the label facets of
/// everything matching when asked.
fn page_and_facets<K, C>(
    searcher: &Searcher,
    query: &dyn Query,
    page: C,
    facets: Option<FacetCollector>,
) -> Result<(u64, Vec<DocAddress>, Option<FacetCounts>), IndexError>
where
    C: Collector<Fruit = Vec<(K, DocAddress)>>,
{
    let (matched, hits, counts) = searcher.search(query, &(Count, page, facets))?;
    Ok((matched as u64, hits.into_iter().map(|(_, a)| a).collect(), counts))
}

fn hit(
    searcher: &Searcher,
    f: &Fields,
    address: DocAddress,
    datasets: &HashMap<String, String>,
    highlight: Option<&SnippetGenerator>,
) -> Result<SearchHit, IndexError> {
    let doc: TantivyDocument = searcher.doc(address)?;
    let text = |field| doc.get_first(field).and_then(|v| v.as_str()).map(str::to_owned);
    let kind = match text(f.kind).as_deref() {
        Some("file") => HitKind::File,
        Some("dashboard") => HitKind::Dashboard,
        Some("run") => HitKind::Run,
        _ => HitKind::Dataset,
    };
    let id = if kind == HitKind::Dashboard { text(f.dashboard) } else { text(f.dataset) }.unwrap_or_default();
    let name = text(f.name).unwrap_or_default();
    let title = match highlight {
        Some(generator) => fragments(&name, &generator.snippet_from_doc(&doc)),
        None => vec![Fragment { text: name.clone(), hit: false }],
    };
    Ok(SearchHit {
        kind,
        dataset_name: datasets.get(&id).cloned().unwrap_or_default(),
        id,
        path: matches!(kind, HitKind::File | HitKind::Run).then(|| text(f.path).unwrap_or_default()),
        title,
        description: text(f.description).unwrap_or_default(),
        size: doc.get_first(f.size).and_then(|v| v.as_u64()).unwrap_or_default(),
        modified: doc.get_first(f.modified).and_then(|v| v.as_i64()).unwrap_or_default(),
        file_type: text(f.file_type),
        labels: text(f.labels_json).and_then(|j| serde_json::from_str::<Vec<Tag>>(&j).ok()).unwrap_or_default(),
    })
}

/// The name cut into plain and matching pieces (the snippet's highlights
/// apply to its fragment, which for a short name is the whole name).
fn fragments(name: &str, snippet: &tantivy::snippet::Snippet) -> Vec<Fragment> {
    if snippet.fragment() != name {
        return vec![Fragment { text: name.to_owned(), hit: false }];
    }
    let mut pieces = Vec::new();
    let mut at = 0;
    for range in snippet.highlighted() {
        if range.start > at {
            pieces.push(Fragment { text: name[at..range.start].to_owned(), hit: false });
        }
        pieces.push(Fragment { text: name[range.clone()].to_owned(), hit: true });
        at = range.end;
    }
    if at < name.len() {
        pieces.push(Fragment { text: name[at..].to_owned(), hit: false });
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_syntax_is_taken_apart() {
        let parsed = parse(r#"cats "red fox" -dogs label:split=train type:IMAGE size:big"#);
        assert_eq!(parsed.words, ["cats", "size", "big"]);
        assert_eq!(parsed.phrases, [vec!["red".to_string(), "fox".into()]]);
        assert_eq!(parsed.excluded, ["dogs"]);
        assert_eq!(parsed.labels, ["split=train"]);
        assert_eq!(parsed.types, ["image"]);
        assert_eq!(parsed.notes.len(), 1, "{:?}", parsed.notes);
    }

    #[test]
    fn broken_input_degrades_to_words() {
        let parsed = parse(r#"" "unbalanced quote -  - label: ((("#);
        assert!(parsed.words.contains(&"unbalanced".to_string()), "{parsed:?}");
        assert!(!parsed.notes.is_empty());
        let huge = parse(&"word ".repeat(100));
        assert_eq!(huge.words.len(), MAX_WORDS);
        assert_eq!(parse("").words.len(), 0);
    }
}
