//! Dataset statistic panels: Plotly figures computed from the index when a
//! dashboard is viewed, so they follow the dataset as it changes.

use agora_model::dashboards::DatasetStat;
use serde_json::{json, Value};
use tantivy::collector::FacetCollector;
use tantivy::query::{BooleanQuery, Occur};
use tantivy::schema::Facet;

use crate::index::query::{all_files, label_counts, term};
use crate::index::{IndexError, SearchIndex};

/// Labels shown at most in a distribution.
const MOST_LABELS: usize = 30;

/// The statistic's figure, computed now.
pub async fn figure(index: &SearchIndex, dataset: &str, stat: DatasetStat) -> Result<Value, IndexError> {
    let dataset = dataset.to_owned();
    index
        .read(move |searcher, f| {
            Ok(match stat {
                DatasetStat::LabelDistribution => {
                    let scope = BooleanQuery::new(vec![(Occur::Must, term(f.kind, "file")), (Occur::Must, term(f.dataset, &dataset))]);
                    let mut facets = FacetCollector::for_field("label_facet");
                    facets.add_facet(Facet::root());
                    let counts = searcher.search(&scope, &facets)?;
                    label_distribution(label_counts(&counts, MOST_LABELS).into_iter().map(|c| (c.label, c.count)).collect())
                }
                DatasetStat::FilesOverTime => files_over_time(all_files(searcher, f, &dataset)?.into_values().collect()),
                DatasetStat::SizeHistogram => {
                    size_histogram(all_files(searcher, f, &dataset)?.into_values().map(|(size, _)| size).collect())
                }
            })
        })
        .await
}

fn empty_note(layout: &mut Value, text: &str) {
    layout["annotations"] = json!([{"text": text, "showarrow": false, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}]);
}

/// Files per label, most frequent first.
pub fn label_distribution(counts: Vec<(String, u64)>) -> Value {
    let (labels, values): (Vec<_>, Vec<_>) = counts.into_iter().unzip();
    let mut layout = json!({"xaxis": {"title": {"text": "label"}}, "yaxis": {"title": {"text": "files"}}});
    if labels.is_empty() {
        empty_note(&mut layout, "no labelled files yet");
    }
    json!({"data": [{"type": "bar", "x": labels, "y": values, "name": "files"}], "layout": layout})
}

/// Files and bytes in the dataset by the day they were last written
/// (cumulative), files on the left axis and bytes on the right.
pub fn files_over_time(mut files: Vec<(u64, i64)>) -> Value {
    files.sort_unstable_by_key(|(_, modified)| *modified);
    let (mut days, mut counts, mut bytes) = (Vec::<String>::new(), Vec::<u64>::new(), Vec::<u64>::new());
    let (mut count, mut total) = (0u64, 0u64);
    for (size, modified) in files {
        count += 1;
        total += size;
        let day = day_of(modified);
        if days.last() == Some(&day) {
            *counts.last_mut().unwrap() = count;
            *bytes.last_mut().unwrap() = total;
        } else {
            days.push(day);
            counts.push(count);
            bytes.push(total);
        }
    }
    let mut layout = json!({
        "xaxis": {"title": {"text": "day (UTC)"}, "type": "date"},
        "yaxis": {"title": {"text": "files"}},
        "yaxis2": {"title": {"text": "bytes"}, "overlaying": "y", "side": "right"},
        "legend": {"orientation": "h"}
    });
    if days.is_empty() {
        empty_note(&mut layout, "no files yet");
    }
    json!({"data": [
        {"type": "scatter", "mode": "lines+markers", "x": days, "y": counts, "name": "files", "line": {"shape": "hv"}},
        {"type": "scatter", "mode": "lines", "x": days, "y": bytes, "name": "bytes", "yaxis": "y2", "line": {"shape": "hv", "dash": "dot"}}
    ], "layout": layout})
}

/// Files per size class, in powers of two (`< 1 KiB`, `1–2 KiB`, …).
pub fn size_histogram(sizes: Vec<u64>) -> Value {
    let class = |size: u64| if size < 1024 { 0 } else { 64 - size.leading_zeros() as usize - 10 };
    let mut buckets = vec![0u64; 1];
    for size in &sizes {
        let c = class(*size);
        if buckets.len() <= c {
            buckets.resize(c + 1, 0);
        }
        buckets[c] += 1;
    }
    let names: Vec<String> = (0..buckets.len())
        .map(|c| if c == 0 { "< 1 KiB".to_owned() } else { format!("{}–{}", human(1u64 << (c + 9)), human(1u64 << (c + 10))) })
        .collect();
    let mut layout = json!({"xaxis": {"title": {"text": "file size"}}, "yaxis": {"title": {"text": "files"}}, "bargap": 0.05});
    if sizes.is_empty() {
        empty_note(&mut layout, "no files yet");
    }
    json!({"data": [{"type": "bar", "x": names, "y": buckets, "name": "files"}], "layout": layout})
}

/// Unix seconds → `YYYY-MM-DD` (UTC).
fn day_of(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix).map(|t| t.date().to_string()).unwrap_or_default()
}

fn human(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes;
    let mut unit = 0;
    while value >= 1024 && unit < UNITS.len() - 1 {
        value /= 1024;
        unit += 1;
    }
    format!("{value} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_fall_into_powers_of_two() {
        let figure = size_histogram(vec![10, 1023, 1024, 2047, 2048, 5 * 1024 * 1024]);
        assert_eq!(figure["data"][0]["y"][0], 2);
        assert_eq!(figure["data"][0]["y"][1], 2);
        assert_eq!(figure["data"][0]["x"][1], "1 KiB–2 KiB");
        assert_eq!(figure["data"][0]["y"][2], 1);
        assert_eq!(figure["data"][0]["x"].as_array().unwrap().last().unwrap(), "4 MiB–8 MiB");
    }

    #[test]
    fn files_accumulate_by_day() {
        let day = 86_400;
        let figure = files_over_time(vec![(10, day + 5), (5, 5), (1, day + 9)]);
        assert_eq!(figure["data"][0]["x"], json!(["1970-01-01", "1970-01-02"]));
        assert_eq!(figure["data"][0]["y"], json!([1, 3]));
        assert_eq!(figure["data"][1]["y"], json!([5, 16]));
        assert!(label_distribution(Vec::new())["layout"]["annotations"].is_array());
    }
}
