//! Listing a dataset's files from the index: one folder or everything
//! matching filters, sorted and paged, with sub-folder and label counts.

use agora_model::files::{FileEntry, FileQuery, FileSort, FolderEntry, LabelCount};
use agora_model::tags::Tag;
use tantivy::collector::sort_key::{SortByStaticFastValue, SortByString};
use tantivy::collector::{Count, FacetCollector, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, RegexQuery, TermQuery};
use tantivy::schema::{Facet, IndexRecordOption, Value};
use tantivy::{DocAddress, Order, Searcher, TantivyDocument, Term};

use super::{Fields, IndexError};

pub const DEFAULT_PAGE: usize = 100;
const MAX_FACETS: usize = 50;
const MAX_FOLDERS: usize = 1000;

pub(crate) fn term(field: tantivy::schema::Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(Term::from_field_text(field, text), IndexRecordOption::Basic))
}

/// A label filter: `key=value` for that label, `key` for any value.
pub(crate) fn label_filter(f: &Fields, label: &str) -> Box<dyn Query> {
    if label.contains('=') {
        term(f.label, label)
    } else {
        term(f.label_key, label)
    }
}

/// The most frequent labels of the counted files.
pub(crate) fn label_counts(counts: &tantivy::collector::FacetCounts, most: usize) -> Vec<LabelCount> {
    counts.top_k(Facet::root(), most).into_iter().map(|(facet, count)| LabelCount { label: facet.to_path().concat(), count }).collect()
}

/// Files (and sub-folders, label counts) of one dataset.
pub struct Listing {
    pub folders: Vec<FolderEntry>,
    pub files: Vec<FileEntry>,
    pub total: u64,
    pub facets: Vec<LabelCount>,
}

/// `a b` → `.*a b.*` with every regex character escaped.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from(".*");
    for c in text.to_lowercase().chars() {
        if "\\.+*?()|[]{}^$#&-~\"<>@".contains(c) {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push_str(".*");
    pattern
}

pub fn list_files(searcher: &Searcher, f: &Fields, dataset: &str, query: &FileQuery) -> Result<Listing, IndexError> {
    let filtered = query.filtered();
    let mut must: Vec<Box<dyn Query>> = vec![term(f.kind, "file"), term(f.dataset, dataset)];
    must.push(if filtered { term(f.ancestors, &query.folder) } else { term(f.folder, &query.folder) });
    for label in &query.labels {
        must.push(label_filter(f, label));
    }
    if let Some(name) = query.name.as_deref().map(str::trim).filter(|n| !n.is_empty()) {
        let regex = RegexQuery::from_pattern(&contains_pattern(name), f.name_lower).map_err(|e| IndexError::Tantivy(e.to_string()))?;
        must.push(Box::new(regex));
    }
    let scope = BooleanQuery::new(must.into_iter().map(|q| (Occur::Must, q)).collect());

    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    let order = if query.descending { Order::Desc } else { Order::Asc };
    let page = TopDocs::with_limit(limit).and_offset(query.offset);
    // Ties (same size or time) fall back to the path, so pages are stable
    // and a rebuilt index orders exactly like the live one.
    let by_path = || (SortByString::for_field("name_sort"), Order::Asc);
    let (total, addresses): (usize, Vec<DocAddress>) = match query.sort {
        FileSort::Name => {
            let (n, hits) = searcher.search(&scope, &(Count, page.order_by((SortByString::for_field("name_sort"), order))))?;
            (n, hits.into_iter().map(|(_, a)| a).collect())
        }
        FileSort::Size => {
            let key = ((SortByStaticFastValue::<u64>::for_field("size"), order), by_path());
            let (n, hits) = searcher.search(&scope, &(Count, page.order_by(key)))?;
            (n, hits.into_iter().map(|(_, a)| a).collect())
        }
        FileSort::Modified => {
            let key = ((SortByStaticFastValue::<i64>::for_field("modified"), order), by_path());
            let (n, hits) = searcher.search(&scope, &(Count, page.order_by(key)))?;
            (n, hits.into_iter().map(|(_, a)| a).collect())
        }
    };
    let files = addresses.into_iter().map(|a| file_entry(searcher, f, a)).collect::<Result<Vec<_>, _>>()?;

    let mut facets = FacetCollector::for_field("label_facet");
    facets.add_facet(Facet::root());
    let counts = searcher.search(&scope, &facets)?;
    let facets = label_counts(&counts, MAX_FACETS);

    let folders = if filtered {
        Vec::new()
    } else {
        let everything_below =
            BooleanQuery::new(vec![(Occur::Must, term(f.dataset, dataset)), (Occur::Must, term(f.ancestors, &query.folder))]);
        let here = Facet::from_path(query.folder.split('/').filter(|s| !s.is_empty()));
        let mut tree = FacetCollector::for_field("tree");
        tree.add_facet(here.clone());
        let counts = searcher.search(&everything_below, &tree)?;
        let mut folders: Vec<FolderEntry> = counts
            .get(here)
            .take(MAX_FOLDERS)
            .map(|(facet, files)| FolderEntry { path: format!("{}/", facet.to_path().join("/")), files })
            .collect();
        folders.sort_by_key(|f| f.path.to_lowercase());
        if query.descending && query.sort == FileSort::Name {
            folders.reverse();
        }
        folders
    };
    Ok(Listing { folders, files, total: total as u64, facets })
}

fn text(doc: &TantivyDocument, field: tantivy::schema::Field) -> Option<String> {
    doc.get_first(field).and_then(|v| v.as_str().map(str::to_owned))
}

pub(crate) fn file_entry(searcher: &Searcher, f: &Fields, address: DocAddress) -> Result<FileEntry, IndexError> {
    let doc: TantivyDocument = searcher.doc(address)?;
    let path = text(&doc, f.path).unwrap_or_default();
    let labels: Vec<Tag> = text(&doc, f.labels_json).and_then(|j| serde_json::from_str(&j).ok()).unwrap_or_default();
    Ok(FileEntry {
        name: path.rsplit('/').next().unwrap_or(&path).to_owned(),
        size: doc.get_first(f.size).and_then(|v| v.as_u64()).unwrap_or_default(),
        modified: doc.get_first(f.modified).and_then(|v| v.as_i64()).unwrap_or_default(),
        file_type: text(&doc, f.file_type).unwrap_or_else(|| "other".into()),
        content_type: text(&doc, f.content_type),
        labels,
        path,
    })
}

/// Every file of a dataset the index knows: path → (size, modified).
pub fn all_files(searcher: &Searcher, f: &Fields, dataset: &str) -> Result<std::collections::HashMap<String, (u64, i64)>, IndexError> {
    let scope = BooleanQuery::new(vec![(Occur::Must, term(f.kind, "file")), (Occur::Must, term(f.dataset, dataset))]);
    let addresses = searcher.search(&scope, &tantivy::collector::DocSetCollector)?;
    let mut files = std::collections::HashMap::with_capacity(addresses.len());
    for address in addresses {
        let entry = file_entry(searcher, f, address)?;
        files.insert(entry.path, (entry.size, entry.modified));
    }
    Ok(files)
}

/// Bytes and files a dataset holds, summed from the index.
pub fn usage(searcher: &Searcher, f: &Fields, dataset: &str) -> Result<(u64, u64), IndexError> {
    let scope = BooleanQuery::new(vec![(Occur::Must, term(f.kind, "file")), (Occur::Must, term(f.dataset, dataset))]);
    let (files, bytes) = searcher.search(&scope, &(Count, SizeSum))?;
    Ok((bytes, files as u64))
}

/// Sums the `size` fast field of the matching documents.
pub(crate) struct SizeSum;

pub(crate) struct SegmentSizeSum {
    sizes: tantivy::columnar::Column<u64>,
    sum: u64,
}

impl tantivy::collector::Collector for SizeSum {
    type Fruit = u64;
    type Child = SegmentSizeSum;

    fn for_segment(&self, _: tantivy::SegmentOrdinal, segment: &tantivy::SegmentReader) -> tantivy::Result<SegmentSizeSum> {
        Ok(SegmentSizeSum { sizes: segment.fast_fields().u64("size")?, sum: 0 })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, sums: Vec<u64>) -> tantivy::Result<u64> {
        Ok(sums.into_iter().sum())
    }
}

impl tantivy::collector::SegmentCollector for SegmentSizeSum {
    type Fruit = u64;

    fn collect(&mut self, doc: tantivy::DocId, _: tantivy::Score) {
        self.sum += self.sizes.first(doc).unwrap_or_default();
    }

    fn harvest(self) -> u64 {
        self.sum
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_filters_match_literally() {
        assert_eq!(contains_pattern("A.b"), ".*a\\.b.*");
        assert_eq!(contains_pattern("x(1)"), ".*x\\(1\\).*");
    }
}
