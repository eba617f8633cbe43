//! Files in a dataset: path rules and the upload/download types.

use serde::{Deserialize, Serialize};

use crate::tags::Tag;
use crate::ApiError;

/// S3 keys are at most 1024 bytes; a file's key is `ds/<16 hex>/files/<path>`.
pub const PATH_MAX_BYTES: usize = 1024 - "ds/0123456789abcdef/files/".len();
/// One presigned PUT carries at most this much (S3's single-PUT limit).
pub const SINGLE_PUT_MAX_BYTES: u64 = 5 * 1024 * 1024 * 1024;

/// A file's path inside its dataset, as folders and a name separated by `/`
/// (a browser's `webkitRelativePath`). Refuses what could escape the dataset
/// or confuse a file system: empty, `.` or `..` segments, a leading or
/// trailing `/`, backslashes, control characters, more than 998 bytes.
pub fn normalize_file_path(raw: &str) -> Result<String, ApiError> {
    let bad = |rule: &str| Err(ApiError::invalid("path", rule.to_owned()));
    if raw.is_empty() {
        return bad("must not be empty");
    }
    if raw.len() > PATH_MAX_BYTES {
        return bad(&format!("must be at most {PATH_MAX_BYTES} bytes long (S3 keys are at most 1024); it has {}", raw.len()));
    }
    if raw.chars().any(char::is_control) {
        return bad("must not contain control characters");
    }
    if raw.contains('\\') {
        return bad("must use / between folders, not \\");
    }
    if raw.split('/').any(|segment| segment.is_empty() || segment == "." || segment == "..") {
        return bad(
            "must be folder names and a file name separated by single slashes, without . or .. and without a leading or trailing /",
        );
    }
    Ok(raw.to_owned())
}

/// What to do when a file with the same path exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum OnConflict {
    Replace,
    /// Upload under a free name: `name (1).ext`, `name (2).ext`, …
    KeepBoth,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadRequest {
    pub path: String,
    /// Bytes the file has; what arrives is checked against it.
    pub size: u64,
    #[serde(default)]
    pub content_type: Option<String>,
    /// Labels, stored as the object's tags.
    #[serde(default)]
    pub labels: Vec<Tag>,
    /// Unset: a file that exists already is a conflict (409).
    #[serde(default)]
    pub on_conflict: Option<OnConflict>,
    /// The MD5 of the file's bytes, base64 (what a `Content-MD5` header
    /// carries: `openssl dgst -md5 -binary FILE | base64`). Required when the
    /// file goes in one PUT (below the multipart threshold): it is signed
    /// into the URL, so storage refuses any other bytes, and completion
    /// checks it again. A multipart upload declares each part's MD5 instead.
    #[serde(default)]
    pub md5: Option<String>,
}

/// Checks that `value` is a base64 MD5 (decoding to 16 bytes) and returns
/// its bytes; the error names `field` and the rule.
pub fn parse_md5(field: &str, value: &str) -> Result<[u8; 16], ApiError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(value).ok().and_then(|bytes| <[u8; 16]>::try_from(bytes).ok()).ok_or_else(|| {
        ApiError::invalid(
            field,
            "must be the base64 of the 16-byte MD5 of the bytes (`openssl dgst -md5 -binary FILE | base64`), e.g. 1B2M2Y8AsgTpgAmY7PhCfg==",
        )
    })
}

/// The base64 (`Content-MD5`) form of 16 MD5 bytes.
pub fn md5_base64(md5: &[u8; 16]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(md5)
}

/// One request someone sends straight to storage: presigned, so it needs no
/// other credentials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PresignedCall {
    pub method: String,
    pub url: String,
    /// Headers to send exactly as given (they are signed; so is
    /// `content-length`, which the body sets).
    pub headers: Vec<(String, String)>,
    /// Unix seconds.
    pub expires_at: u64,
}

/// How a multipart upload is cut: every part `part_size` bytes except the
/// last, numbered from 1.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartPlan {
    pub part_size: u64,
    pub part_count: u32,
    /// Parts storage holds already (a resumed upload skips them).
    pub done: Vec<u32>,
}

impl PartPlan {
    /// The plan for a file of `size` bytes: parts of at least
    /// [`MIN_PART_BYTES`], whole MiB, at most [`MAX_PARTS`] of them.
    pub fn for_size(size: u64) -> Self {
        let per_part = size.div_ceil(MAX_PARTS as u64).div_ceil(MIB) * MIB;
        let part_size = per_part.max(MIN_PART_BYTES);
        Self { part_size, part_count: size.div_ceil(part_size).max(1) as u32, done: Vec::new() }
    }

    /// Byte range `[start, end)` of part `number` in a file of `size` bytes.
    pub fn range(&self, size: u64, number: u32) -> (u64, u64) {
        let start = u64::from(number.saturating_sub(1)) * self.part_size;
        (start.min(size), (start + self.part_size).min(size))
    }
}

const MIB: u64 = 1024 * 1024;
/// Parts are at least this large (S3 needs 5 MiB for all but the last).
pub const MIN_PART_BYTES: u64 = 8 * MIB;
/// S3's limit of parts in one upload.
pub const MAX_PARTS: u32 = 10_000;
/// S3's largest object.
pub const MAX_FILE_BYTES: u64 = 5 * 1024 * 1024 * MIB;
/// Files this large go multipart unless configured otherwise.
pub const DEFAULT_MULTIPART_THRESHOLD: u64 = 64 * MIB;
/// Part URLs one request may ask for.
pub const MAX_PART_URLS: usize = 100;

/// An upload in progress and where its bytes go: one presigned PUT for a
/// file below the multipart threshold, else parts whose URLs are asked for
/// as they are needed. Send the bytes, then complete the upload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadTicket {
    pub upload_id: String,
    /// The path the file gets (differs from the asked one with `keep_both`).
    pub path: String,
    pub size: u64,
    /// Unix seconds.
    pub started_at: i64,
    /// The whole file in one request (small files).
    pub put: Option<PresignedCall>,
    /// The parts (large files); URLs from `POST …/uploads/{upload_id}/parts`.
    pub multipart: Option<PartPlan>,
}

/// Parts to get presigned URLs for (at most 100 per request), each with the
/// MD5 of its bytes: signed into its URL, so storage refuses other bytes, and
/// checked again when the upload is completed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartUrlsRequest {
    pub parts: Vec<PartRequest>,
}

/// One part: its number and the base64 MD5 of its bytes
/// (`range(size, part_number)` of the file).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartRequest {
    pub part_number: u32,
    pub md5: String,
}

/// Where to PUT one part: bytes `range(size, part_number)` of the file, sent
/// with `headers` exactly as given (they are signed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PartUrl {
    pub part_number: u32,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// Unix seconds; ask again for a fresh URL after that.
    pub expires_at: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileView {
    pub path: String,
    pub size: u64,
    pub etag: String,
    pub content_type: Option<String>,
    pub labels: Vec<Tag>,
}

/// One file of a download manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ManifestEntry {
    pub path: String,
    pub size: u64,
    pub url: String,
}

/// Presigned GETs for every file under a folder, for scripts that pull a
/// dataset at full speed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Manifest {
    pub dataset: String,
    pub folder: String,
    /// Unix seconds: every URL stops working then.
    pub expires_at: u64,
    pub files: Vec<ManifestEntry>,
}

/// Files one manifest may list.
pub const MANIFEST_MAX_FILES: usize = 100_000;

impl Manifest {
    /// A POSIX shell script that downloads every file into
    /// `./<dataset>/`, where `<dataset>` is the name made safe for a folder
    /// ([`safe_folder_name`]): whatever the names, it writes only there.
    pub fn curl_script(&self) -> String {
        let quote = |s: &str| format!("'{}'", s.replace('\'', "'\\''"));
        // Comments hold no line breaks (a name could otherwise end one).
        let comment = |s: &str| s.chars().map(|c| if c.is_control() { ' ' } else { c }).collect::<String>();
        let root = safe_folder_name(&self.dataset);
        let mut script = format!(
            "#!/bin/sh\n# Agora: {} file(s) of dataset {}{}, into ./{root}/; the links expire at Unix time {}.\nset -eu\n",
            self.files.len(),
            comment(&self.dataset),
            if self.folder.is_empty() { String::new() } else { format!(", folder {}", comment(&self.folder)) },
            self.expires_at
        );
        for file in &self.files {
            // Paths follow `normalize_file_path` (no `.`/`..` segments, no
            // leading `/`); the `./` prefix keeps a leading `-` an operand.
            let target = format!("./{root}/{}", file.path);
            let dir = target.rsplit_once('/').map(|(d, _)| d).unwrap_or(".");
            script.push_str(&format!("mkdir -p -- {} && curl -fsSL -o {} -- {}\n", quote(dir), quote(&target), quote(&file.url)));
        }
        script
    }
}

/// A folder name for `name`: letters, digits, `-`, `_`, `.` and spaces kept,
/// anything else `_`, never starting with `.` or `-`, never empty.
pub fn safe_folder_name(name: &str) -> String {
    let kept: String = name.chars().map(|c| if c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ') { c } else { '_' }).collect();
    let trimmed = kept.trim().trim_start_matches(['.', '-']).trim();
    if trimmed.is_empty() {
        "dataset".to_owned()
    } else {
        trimmed.to_owned()
    }
}

/// The type a browser may show a file as, inline, from its name: raster
/// images as themselves, text as `text/plain`. Everything else (HTML, SVG,
/// XML, scripts, PDF, anything unknown) is only ever served as an attachment,
/// so nothing uploaded can run as a page of storage's origin.
pub fn inline_content_type(path: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    Some(match ext.as_str() {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "avif" => "image/avif",
        "txt" | "csv" | "tsv" | "json" | "jsonl" | "ndjson" | "md" | "log" | "yaml" | "yml" | "toml" | "ini" | "cfg" | "py" | "rs"
        | "sh" | "r" | "sql" | "tex" => "text/plain; charset=utf-8",
        _ => return None,
    })
}

/// A presigned download.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DownloadLink {
    pub path: String,
    pub url: String,
    /// Unix seconds.
    pub expires_at: u64,
}

/// One file in a listing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileEntry {
    /// Full path in the dataset.
    pub path: String,
    /// The last segment.
    pub name: String,
    pub size: u64,
    /// Unix seconds.
    pub modified: i64,
    /// image, table, json, text, audio, video, archive, model or other.
    pub file_type: String,
    pub content_type: Option<String>,
    /// The object's tags.
    pub labels: Vec<Tag>,
}

/// How a file listing is ordered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FileSort {
    #[default]
    Name,
    Size,
    Modified,
}

/// Files listed per page at most.
pub const MAX_PAGE_FILES: usize = 1000;

/// Which files of a dataset to list. Without filters: one folder's files and
/// sub-folders. With a label or name filter: every matching file under the
/// folder, at any depth.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileQuery {
    #[serde(default)]
    pub folder: String,
    /// `key=value` (that label) or `key` (that label, any value); all must match.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Part of the file name, any case.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub sort: FileSort,
    #[serde(default)]
    pub descending: bool,
    #[serde(default)]
    pub offset: usize,
    /// 1 to 1000 [default: 100].
    #[serde(default)]
    pub limit: Option<usize>,
}

impl FileQuery {
    pub fn filtered(&self) -> bool {
        !self.labels.is_empty() || self.name.as_deref().is_some_and(|n| !n.trim().is_empty())
    }

    /// Checks the limits, naming the field.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.labels.len() > 10 {
            return Err(ApiError::invalid("labels", "at most 10 label filters"));
        }
        if let Some(bad) = self.labels.iter().find(|l| l.is_empty() || l.len() > 400) {
            return Err(ApiError::invalid("labels", format!("{bad:?} must be key=value or key, at most 400 bytes")));
        }
        if self.name.as_deref().is_some_and(|n| n.len() > 200) {
            return Err(ApiError::invalid("name", "must be at most 200 bytes"));
        }
        if self.limit.is_some_and(|l| l == 0 || l > MAX_PAGE_FILES) {
            return Err(ApiError::invalid("limit", format!("must be 1 to {MAX_PAGE_FILES}")));
        }
        if self.offset > 1_000_000 {
            return Err(ApiError::invalid("offset", "must be at most 1000000; narrow the listing with filters"));
        }
        normalize_folder(&self.folder)?;
        Ok(())
    }
}

/// A sub-folder and how many files it holds (at any depth).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FolderEntry {
    /// Full path, ending in `/`.
    pub path: String,
    pub files: u64,
}

/// A label (`key=value`) and how many of the listed files carry it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LabelCount {
    pub label: String,
    pub count: u64,
}

/// A file's complete new label set (it replaces the old one).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LabelsRequest {
    pub path: String,
    pub labels: Vec<Tag>,
}

/// Files whose thumbnails to link (at most 200).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThumbnailsRequest {
    pub paths: Vec<String>,
}

/// A presigned link to a file's thumbnail (404 until it is made).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ThumbnailLink {
    pub path: String,
    pub url: String,
}

/// Paths one bulk label request may change.
pub const MAX_BULK_PATHS: usize = 200;

/// Adds and removes labels on many files at once. `add` replaces a label
/// with the same key; `remove` names keys.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkLabelsRequest {
    /// At most 200 per request; page through a listing for more.
    pub paths: Vec<String>,
    #[serde(default)]
    pub add: Vec<Tag>,
    #[serde(default)]
    pub remove: Vec<String>,
}

/// A file a bulk change could not change, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FileFailure {
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkLabelsResult {
    pub changed: u64,
    /// Files that had the labels already (or lacked the removed ones).
    pub unchanged: u64,
    pub failed: Vec<FileFailure>,
}

/// Labels as people type them: `key=value` pairs separated by commas or
/// line breaks; a pair without `=` is a key with an empty value.
pub fn parse_labels(text: &str) -> Vec<Tag> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) => Tag::new(key.trim(), value.trim()),
            None => Tag::new(pair, ""),
        })
        .collect()
}

/// One page of a listing, with what the filters can narrow to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FilePage {
    /// The folder listed: empty for the top, else ending in `/`.
    pub folder: String,
    /// Sub-folders with their file counts (unfiltered listings only).
    pub folders: Vec<FolderEntry>,
    pub files: Vec<FileEntry>,
    /// Files matching, over all pages.
    pub total: u64,
    pub offset: u64,
    /// Labels of the matching files, most frequent first.
    pub facets: Vec<LabelCount>,
    /// While the index is being rebuilt the listing may be incomplete.
    pub indexing: bool,
}

/// A folder to list: empty (the top) or folder names each followed by `/`.
pub fn normalize_folder(raw: &str) -> Result<String, ApiError> {
    if raw.is_empty() {
        return Ok(String::new());
    }
    let folder = if raw.ends_with('/') { raw.to_owned() } else { format!("{raw}/") };
    normalize_file_path(folder.trim_end_matches('/')).map_err(|e| ApiError { field: Some("folder".into()), ..e })?;
    Ok(folder)
}

/// `512 B`, `1.5 KiB`, `2.0 GiB`: sizes as people read them.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

/// `a/b/name (n).ext` for the n-th copy of `a/b/name.ext`.
pub fn numbered_copy(path: &str, n: u32) -> String {
    let (dir, name) = match path.rsplit_once('/') {
        Some((dir, name)) => (format!("{dir}/"), name),
        None => (String::new(), path),
    };
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => format!("{dir}{stem} ({n}).{ext}"),
        _ => format!("{dir}{name} ({n})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_could_escape_or_confuse_are_refused() {
        assert_eq!(normalize_file_path("train/cats/001.jpg").unwrap(), "train/cats/001.jpg");
        assert_eq!(normalize_file_path("ünï code.txt").unwrap(), "ünï code.txt");
        for bad in ["", "/etc/passwd", "a/../b", "../x", "a//b", "a/", "./a", "a\\b", "a\nb", "a\u{0}b"] {
            assert_eq!(normalize_file_path(bad).unwrap_err().field.as_deref(), Some("path"), "{bad:?}");
        }
        assert!(normalize_file_path(&"x".repeat(PATH_MAX_BYTES)).is_ok());
        assert!(normalize_file_path(&"x".repeat(PATH_MAX_BYTES + 1)).unwrap_err().message.contains("1024"));
    }

    #[test]
    fn folders_end_in_a_slash_and_follow_the_path_rules() {
        assert_eq!(normalize_folder("").unwrap(), "");
        assert_eq!(normalize_folder("train/cats").unwrap(), "train/cats/");
        assert_eq!(normalize_folder("train/").unwrap(), "train/");
        assert_eq!(normalize_folder("../x").unwrap_err().field.as_deref(), Some("folder"));
    }

    #[test]
    fn curl_scripts_quote_every_path() {
        let manifest = Manifest {
            dataset: "cats".into(),
            folder: String::new(),
            expires_at: 1,
            files: vec![ManifestEntry { path: "it's/a b.txt".into(), size: 1, url: "http://s3/x?a=1&b=2".into() }],
        };
        let script = manifest.curl_script();
        assert!(
            script.contains("mkdir -p -- './cats/it'\\''s' && curl -fsSL -o './cats/it'\\''s/a b.txt' -- 'http://s3/x?a=1&b=2'"),
            "{script}"
        );
    }

    #[test]
    fn curl_scripts_write_only_under_a_safe_folder_whatever_the_names() {
        for (name, folder) in [
            ("..", "dataset"),
            ("../x", "_x"),
            ("-rf", "rf"),
            ("a/b", "a_b"),
            ("it's \"quoted\"", "it_s _quoted_"),
            ("line\nbreak", "line_break"),
            ("$(reboot)", "__reboot_"),
            ("Cats v2", "Cats v2"),
        ] {
            assert_eq!(safe_folder_name(name), folder, "{name:?}");
            let manifest = Manifest {
                dataset: name.into(),
                folder: "f\no".into(),
                expires_at: 1,
                files: vec![ManifestEntry { path: "-x/y.txt".into(), size: 1, url: "http://s3/x".into() }],
            };
            let script = manifest.curl_script();
            assert_eq!(script.lines().count(), 4, "{script}");
            assert!(script.contains(&format!("-o './{folder}/-x/y.txt' --")), "{script}");
        }
    }

    #[test]
    fn only_passive_types_are_shown_inline() {
        assert_eq!(inline_content_type("a/cat.JPG"), Some("image/jpeg"));
        assert_eq!(inline_content_type("labels.csv"), Some("text/plain; charset=utf-8"));
        for active in ["x.html", "x.htm", "x.svg", "x.xml", "x.js", "x.pdf", "x.xhtml", "noext", "x.exe", "x.html.", ".svg"] {
            assert_eq!(inline_content_type(active), None, "{active}");
        }
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }

    #[test]
    fn typed_labels_become_tags() {
        assert_eq!(
            parse_labels(" split=train, source = cam 2\nreviewed "),
            vec![Tag::new("split", "train"), Tag::new("source", "cam 2"), Tag::new("reviewed", ""),]
        );
        assert!(parse_labels(" , ").is_empty());
    }

    #[test]
    fn parts_are_at_least_8_mib_and_at_most_10000() {
        let small = PartPlan::for_size(100 * MIB + 1);
        assert_eq!((small.part_size, small.part_count), (MIN_PART_BYTES, 13));
        assert_eq!(small.range(100 * MIB + 1, 13), (96 * MIB, 100 * MIB + 1));
        assert_eq!(small.range(100 * MIB + 1, 1), (0, 8 * MIB));
        let huge = PartPlan::for_size(MAX_FILE_BYTES);
        assert!(huge.part_count <= MAX_PARTS && huge.part_size.is_multiple_of(MIB), "{huge:?}");
        assert!(u64::from(huge.part_count) * huge.part_size >= MAX_FILE_BYTES);
        assert_eq!(PartPlan::for_size(8 * MIB).part_count, 1);
    }

    #[test]
    fn copies_are_numbered_before_the_extension() {
        assert_eq!(numbered_copy("a/b/cat.jpg", 1), "a/b/cat (1).jpg");
        assert_eq!(numbered_copy("README", 2), "README (2)");
        assert_eq!(numbered_copy(".env", 1), ".env (1)");
        assert_eq!(numbered_copy("x.tar.gz", 3), "x.tar (3).gz");
    }
}
