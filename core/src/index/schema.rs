//! The index's fields, and how datasets and files become documents.
//!
//! Every document has a `key` that names the thing it describes (`d/{id}`,
//! `f/{dataset}/{path}`, `b/{id}`), so an update is "delete the key, add the
//! new document". Who may read a dataset or dashboard is on its document
//! (`readers`: user ids and `public`); a file is readable when its dataset
//! is, so sharing a dataset never rewrites its files.

use agora_model::tags::Tag;
use tantivy::schema::{Facet, FacetOptions, Field, NumericOptions, Schema, TextFieldIndexing, TextOptions, FAST, STORED, STRING};
use tantivy::TantivyDocument;

/// Bump when fields change: an index of another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 5;

pub const PUBLIC: &str = "public";

#[derive(Clone, Copy)]
pub struct Fields {
    pub kind: Field,
    pub key: Field,
    pub dataset: Field,
    pub path: Field,
    /// The folder a file is directly in (`""` or `a/b/`).
    pub folder: Field,
    /// Every folder a file is in, `""` included.
    pub ancestors: Field,
    /// The file's folder as a facet (`/a/b`), for sub-folder counts.
    pub tree: Field,
    pub name: Field,
    /// Lower-cased path (name for datasets), for sorting.
    pub name_sort: Field,
    /// Lower-cased name, for name filters.
    pub name_lower: Field,
    pub text: Field,
    /// `key=value` terms (`key=` for a key without value).
    pub label: Field,
    /// `key` terms: "has this label, any value".
    pub label_key: Field,
    /// `/key=value` facets, for counts.
    pub label_facet: Field,
    pub labels_json: Field,
    pub file_type: Field,
    pub content_type: Field,
    pub size: Field,
    pub modified: Field,
    pub readers: Field,
    pub owner: Field,
    pub description: Field,
    /// A dashboard's id.
    pub dashboard: Field,
    /// When a dashboard was last viewed or saved (eviction goes by it).
    pub last_used: Field,
    /// A dashboard's administrator flags: `whitelisted`, `protected`.
    pub flags: Field,
}

pub fn build() -> (Schema, Fields) {
    let mut s = Schema::builder();
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default().set_tokenizer("default").set_index_option(tantivy::schema::IndexRecordOption::WithFreqsAndPositions),
    );
    let number = NumericOptions::default().set_indexed().set_fast().set_stored();
    let fields = Fields {
        kind: s.add_text_field("kind", STRING | STORED),
        key: s.add_text_field("key", STRING | STORED),
        dataset: s.add_text_field("dataset", STRING | STORED | FAST),
        path: s.add_text_field("path", STRING | STORED),
        folder: s.add_text_field("folder", STRING),
        ancestors: s.add_text_field("ancestors", STRING),
        tree: s.add_facet_field("tree", FacetOptions::default()),
        name: s.add_text_field("name", words.clone().set_stored()),
        name_sort: s.add_text_field("name_sort", STRING | FAST),
        name_lower: s.add_text_field("name_lower", STRING),
        text: s.add_text_field("text", words),
        label: s.add_text_field("label", STRING),
        label_key: s.add_text_field("label_key", STRING),
        label_facet: s.add_facet_field("label_facet", FacetOptions::default()),
        labels_json: s.add_text_field("labels_json", STORED),
        file_type: s.add_text_field("file_type", STRING | STORED),
        content_type: s.add_text_field("content_type", STRING | STORED),
        size: s.add_u64_field("size", number.clone()),
        modified: s.add_i64_field("modified", number),
        readers: s.add_text_field("readers", STRING | STORED),
        owner: s.add_text_field("owner", STRING | STORED | FAST),
        description: s.add_text_field("description", STORED),
        dashboard: s.add_text_field("dashboard", STRING | STORED | FAST),
        last_used: s.add_i64_field("last_used", NumericOptions::default().set_indexed().set_fast().set_stored()),
        flags: s.add_text_field("flags", STRING | STORED),
    };
    (s.build(), fields)
}

pub fn dataset_key(id: &str) -> String {
    format!("d/{id}")
}

pub fn file_key(dataset: &str, path: &str) -> String {
    format!("f/{dataset}/{path}")
}

pub fn run_key(dataset: &str, run: &str) -> String {
    format!("r/{dataset}/{run}")
}

/// A training run as search knows it (readable with its dataset).
#[derive(Debug, Clone, PartialEq)]
pub struct RunDoc {
    pub dataset: String,
    pub id: String,
    pub name: String,
    /// Parameters (flattened) and metric names.
    pub text: Vec<String>,
    pub started_at: i64,
}

pub fn run_document(f: &Fields, r: &RunDoc) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    doc.add_text(f.kind, "run");
    doc.add_text(f.key, run_key(&r.dataset, &r.id));
    doc.add_text(f.dataset, &r.dataset);
    doc.add_text(f.path, &r.id);
    doc.add_text(f.name, &r.name);
    doc.add_text(f.name_sort, r.name.to_lowercase());
    doc.add_text(f.name_lower, r.name.to_lowercase());
    for text in &r.text {
        doc.add_text(f.text, text);
    }
    doc.add_i64(f.modified, r.started_at);
    doc.add_u64(f.size, 0);
    doc
}

pub fn dashboard_key(id: &str) -> String {
    format!("b/{id}")
}

/// A dashboard as the index knows it: what search finds in it, who may
/// list it, and what eviction needs.
#[derive(Debug, Clone, PartialEq)]
pub struct DashboardDoc {
    pub id: String,
    pub title: String,
    pub description: String,
    /// Panel titles and markdown text.
    pub text: Vec<String>,
    pub owner: String,
    /// User ids that may list it: the owner and members. A dashboard shared
    /// by link is read by whoever has the link, not listed for everyone.
    pub readers: Vec<String>,
    pub updated_at: i64,
    pub last_used: i64,
    pub bytes: u64,
    pub whitelisted: bool,
    pub protected: bool,
}

/// A dataset as the index knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetDoc {
    pub id: String,
    pub name: String,
    pub description: String,
    pub owner: String,
    /// User ids that may read it (owner and members), plus [`PUBLIC`].
    pub readers: Vec<String>,
    pub updated_at: i64,
}

/// A file as the index knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FileDoc {
    pub dataset: String,
    pub path: String,
    pub size: u64,
    pub modified: i64,
    pub content_type: Option<String>,
    pub labels: Vec<Tag>,
}

/// What kind of content a file holds, from its extension (or content type):
/// the `type:` filter and the preview to offer.
pub fn file_type(path: &str, content_type: Option<&str>) -> &'static str {
    let ext = path.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "jpg" | "jpeg" | "png" | "gif" | "webp" | "bmp" | "svg" | "tif" | "tiff" => "image",
        "csv" | "tsv" | "parquet" => "table",
        "json" | "jsonl" | "ndjson" => "json",
        "txt" | "md" | "log" | "yaml" | "yml" | "toml" | "xml" | "py" | "rs" | "sh" | "ini" | "cfg" => "text",
        "wav" | "mp3" | "flac" | "ogg" => "audio",
        "mp4" | "webm" | "mov" | "avi" | "mkv" => "video",
        "zip" | "tar" | "gz" | "tgz" | "bz2" | "xz" | "zst" | "7z" => "archive",
        "h5" | "pt" | "pth" | "onnx" | "ckpt" | "safetensors" | "pb" | "tflite" | "pkl" | "npy" | "npz" => "model",
        _ => match content_type.unwrap_or_default().split('/').next().unwrap_or_default() {
            "image" => "image",
            "text" => "text",
            "audio" => "audio",
            "video" => "video",
            _ => "other",
        },
    }
}

pub fn label_term(tag: &Tag) -> String {
    format!("{}={}", tag.key, tag.value)
}

pub fn dataset_document(f: &Fields, d: &DatasetDoc) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    doc.add_text(f.kind, "dataset");
    doc.add_text(f.key, dataset_key(&d.id));
    doc.add_text(f.dataset, &d.id);
    doc.add_text(f.name, &d.name);
    doc.add_text(f.name_sort, d.name.to_lowercase());
    doc.add_text(f.name_lower, d.name.to_lowercase());
    doc.add_text(f.text, &d.description);
    doc.add_text(f.description, &d.description);
    doc.add_text(f.owner, &d.owner);
    for reader in &d.readers {
        doc.add_text(f.readers, reader);
    }
    doc.add_i64(f.modified, d.updated_at);
    doc.add_u64(f.size, 0);
    doc
}

pub fn dashboard_document(f: &Fields, d: &DashboardDoc) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    doc.add_text(f.kind, "dashboard");
    doc.add_text(f.key, dashboard_key(&d.id));
    doc.add_text(f.dashboard, &d.id);
    doc.add_text(f.name, &d.title);
    doc.add_text(f.name_sort, d.title.to_lowercase());
    doc.add_text(f.name_lower, d.title.to_lowercase());
    doc.add_text(f.text, &d.description);
    for text in &d.text {
        doc.add_text(f.text, text);
    }
    doc.add_text(f.description, &d.description);
    doc.add_text(f.owner, &d.owner);
    for reader in &d.readers {
        doc.add_text(f.readers, reader);
    }
    for (flag, on) in [("whitelisted", d.whitelisted), ("protected", d.protected)] {
        if on {
            doc.add_text(f.flags, flag);
        }
    }
    doc.add_i64(f.modified, d.updated_at);
    doc.add_i64(f.last_used, d.last_used);
    doc.add_u64(f.size, d.bytes);
    doc
}

pub fn file_document(f: &Fields, file: &FileDoc) -> TantivyDocument {
    let mut doc = TantivyDocument::new();
    let (folder, name) = match file.path.rsplit_once('/') {
        Some((folder, name)) => (format!("{folder}/"), name),
        None => (String::new(), file.path.as_str()),
    };
    doc.add_text(f.kind, "file");
    doc.add_text(f.key, file_key(&file.dataset, &file.path));
    doc.add_text(f.dataset, &file.dataset);
    doc.add_text(f.path, &file.path);
    doc.add_text(f.folder, &folder);
    let mut ancestor = String::new();
    doc.add_text(f.ancestors, "");
    for segment in folder.split('/').filter(|s| !s.is_empty()) {
        ancestor.push_str(segment);
        ancestor.push('/');
        doc.add_text(f.ancestors, &ancestor);
    }
    doc.add_facet(f.tree, Facet::from_path(folder.split('/').filter(|s| !s.is_empty())));
    doc.add_text(f.name, name);
    doc.add_text(f.name_sort, file.path.to_lowercase());
    doc.add_text(f.name_lower, name.to_lowercase());
    doc.add_text(f.text, &file.path);
    let kind = file_type(&file.path, file.content_type.as_deref());
    doc.add_text(f.file_type, kind);
    if let Some(content_type) = &file.content_type {
        doc.add_text(f.content_type, content_type);
    }
    for tag in &file.labels {
        doc.add_text(f.label, label_term(tag));
        doc.add_text(f.label_key, &tag.key);
        doc.add_facet(f.label_facet, Facet::from_path([label_term(tag)]));
        doc.add_text(f.text, format!("{} {}", tag.key, tag.value));
    }
    doc.add_text(f.labels_json, serde_json::to_string(&file.labels).unwrap_or_default());
    doc.add_u64(f.size, file.size);
    doc.add_i64(f.modified, file.modified);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_extension_then_the_content_type() {
        assert_eq!(file_type("a/cat.JPG", None), "image");
        assert_eq!(file_type("labels.csv", Some("application/octet-stream")), "table");
        assert_eq!(file_type("README", Some("text/plain")), "text");
        assert_eq!(file_type("blob", None), "other");
        assert_eq!(file_type("model.h5", None), "model");
    }
}
