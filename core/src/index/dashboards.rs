//! Dashboards in the index: lists for their readers, and what the storage
//! budget needs (usage, and the least recently used that may be evicted)
//! read from fast fields, so a pass over 100,000 dashboards stays cheap.

use tantivy::collector::sort_key::SortByStaticFastValue;
use tantivy::collector::{Collector, Count, SegmentCollector, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query};
use tantivy::schema::Value;
use tantivy::{DocId, Order, Score, Searcher, SegmentOrdinal, SegmentReader, TantivyDocument};

use agora_model::dashboards::DashboardSummary;

use super::query::term;
use super::{Fields, IndexError};
use crate::dashboards::budget::{Candidate, Usage};

/// Dashboards `reader` may list (every one for `None`), most recently used
/// first: how many, and the first `limit` (not marked at risk: the budget
/// knows which are).
pub fn list(searcher: &Searcher, f: &Fields, reader: Option<&str>, limit: usize) -> Result<(u64, Vec<DashboardSummary>), IndexError> {
    let mut must: Vec<(Occur, Box<dyn Query>)> = vec![(Occur::Must, term(f.kind, "dashboard"))];
    if let Some(reader) = reader {
        must.push((Occur::Must, term(f.readers, reader)));
    }
    let order = (SortByStaticFastValue::<i64>::for_field("last_used"), Order::Desc);
    let (count, top) = searcher.search(&BooleanQuery::new(must), &(Count, TopDocs::with_limit(limit.max(1)).order_by(order)))?;
    let mut rows = Vec::with_capacity(top.len());
    for (_, address) in top {
        let doc: TantivyDocument = searcher.doc(address)?;
        let text = |field| doc.get_first(field).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
        let flag = |name: &str| doc.get_all(f.flags).any(|v| v.as_str() == Some(name));
        rows.push(DashboardSummary {
            id: text(f.dashboard),
            title: text(f.name),
            description: text(f.description),
            owner: text(f.owner),
            updated_at: doc.get_first(f.modified).and_then(|v| v.as_i64()).unwrap_or_default(),
            // Milliseconds in the index, seconds on the wire.
            last_used: doc.get_first(f.last_used).and_then(|v| v.as_i64()).unwrap_or_default() / 1000,
            bytes: doc.get_first(f.size).and_then(|v| v.as_u64()).unwrap_or_default(),
            whitelisted: flag("whitelisted"),
            protected: flag("protected"),
            at_risk: false,
        });
    }
    Ok((count as u64, rows))
}

/// What all dashboards take (in total and per owner), and the ones
/// eviction may delete (neither whitelisted nor protected).
pub fn budget_view(searcher: &Searcher, f: &Fields) -> Result<(Usage, Vec<Candidate>), IndexError> {
    let mut usage = Usage::default();
    for dashboard in searcher.search(&*term(f.kind, "dashboard"), &Candidates)? {
        usage.add(&dashboard.owner, dashboard.bytes);
    }
    let evictable = BooleanQuery::new(vec![
        (Occur::Must, term(f.kind, "dashboard")),
        (Occur::MustNot, term(f.flags, "whitelisted")),
        (Occur::MustNot, term(f.flags, "protected")),
    ]);
    let candidates = searcher.search(&evictable, &Candidates)?;
    Ok((usage, candidates))
}

/// Collects [`Candidate`]s from the fast fields.
struct Candidates;

struct SegmentCandidates {
    ids: tantivy::columnar::StrColumn,
    owners: tantivy::columnar::StrColumn,
    sizes: tantivy::columnar::Column<u64>,
    used: tantivy::columnar::Column<i64>,
    found: Vec<Candidate>,
}

impl Collector for Candidates {
    type Fruit = Vec<Candidate>;
    type Child = SegmentCandidates;

    fn for_segment(&self, _: SegmentOrdinal, segment: &SegmentReader) -> tantivy::Result<SegmentCandidates> {
        let fast = segment.fast_fields();
        let ids = fast.str("dashboard")?.ok_or_else(|| tantivy::TantivyError::SchemaError("dashboard is not a fast field".into()))?;
        let owners = fast.str("owner")?.ok_or_else(|| tantivy::TantivyError::SchemaError("owner is not a fast field".into()))?;
        Ok(SegmentCandidates { ids, owners, sizes: fast.u64("size")?, used: fast.i64("last_used")?, found: Vec::new() })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, parts: Vec<Vec<Candidate>>) -> tantivy::Result<Vec<Candidate>> {
        Ok(parts.into_iter().flatten().collect())
    }
}

impl SegmentCollector for SegmentCandidates {
    type Fruit = Vec<Candidate>;

    fn collect(&mut self, doc: DocId, _: Score) {
        let text = |column: &tantivy::columnar::StrColumn| {
            let mut text = String::new();
            if let Some(ord) = column.term_ords(doc).next() {
                let _ = column.ord_to_str(ord, &mut text);
            }
            text
        };
        self.found.push(Candidate {
            id: text(&self.ids),
            owner: text(&self.owners),
            bytes: self.sizes.first(doc).unwrap_or_default(),
            last_used: self.used.first(doc).unwrap_or_default(),
        });
    }

    fn harvest(self) -> Vec<Candidate> {
        self.found
    }
}

/// How many dashboards the index holds.
pub fn count(searcher: &Searcher, f: &Fields) -> Result<u64, IndexError> {
    Ok(searcher.search(&*term(f.kind, "dashboard"), &Count)? as u64)
}
