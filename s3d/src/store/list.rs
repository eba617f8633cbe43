//! ListObjectsV2 over the in-memory key index: prefix, delimiter, start-after
//! and continuation tokens, in S3's byte order of keys.

use std::ops::Bound;
use std::sync::Arc;

use super::{ObjectMeta, Store, StoreError, StoreResult};

/// The most keys one page returns, and the default when none is asked for.
pub const MAX_KEYS: usize = 1000;
pub const MAX_KEYS_DEFAULT: usize = MAX_KEYS;

#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    pub prefix: String,
    pub delimiter: Option<String>,
    /// List keys after this one (exclusive).
    pub start_after: Option<String>,
    /// The `next_continuation_token` of the previous page.
    pub continuation_token: Option<String>,
    /// ListObjects (v1) `marker`: like `start_after`, except that a marker
    /// that is a common prefix (a previous page's `NextMarker`) skips every
    /// key rolled up under it.
    pub marker: Option<String>,
    /// 0–1000; more is capped at 1000.
    pub max_keys: usize,
}

#[derive(Debug, Clone, Default)]
pub struct ListPage {
    pub objects: Vec<Arc<ObjectMeta>>,
    pub common_prefixes: Vec<String>,
    pub next_continuation_token: Option<String>,
    /// When truncated: the last key or common prefix returned (v1's `NextMarker`).
    pub next_marker: Option<String>,
}

impl ListPage {
    pub fn is_truncated(&self) -> bool {
        self.next_continuation_token.is_some()
    }
}

/// Where the previous page stopped: after a key, or after a whole common
/// prefix (everything under it was rolled up and must be skipped).
#[derive(Debug, Clone, PartialEq)]
enum Resume {
    AfterKey(String),
    AfterPrefix(String),
}

/// Tokens are `k` or `p` and the hex of the last key or prefix returned:
/// opaque, URL- and XML-safe whatever the key holds.
fn encode_token(resume: &Resume) -> String {
    match resume {
        Resume::AfterKey(key) => format!("k{}", hex::encode(key)),
        Resume::AfterPrefix(prefix) => format!("p{}", hex::encode(prefix)),
    }
}

fn decode_token(token: &str) -> StoreResult<Resume> {
    let decode = |hexed: &str| hex::decode(hexed).ok().and_then(|bytes| String::from_utf8(bytes).ok());
    let resume = match token.split_at_checked(1) {
        Some(("k", rest)) => decode(rest).map(Resume::AfterKey),
        Some(("p", rest)) => decode(rest).map(Resume::AfterPrefix),
        _ => None,
    };
    resume.ok_or_else(|| StoreError::InvalidArgument("the continuation token is not one this endpoint issued".into()))
}

impl Store {
    pub fn list(&self, bucket: &str, request: &ListRequest) -> StoreResult<ListPage> {
        let bucket = self.bucket(bucket)?;
        let max_keys = request.max_keys.min(MAX_KEYS);
        let delimiter = request.delimiter.as_deref().filter(|d| !d.is_empty());
        let resume = match (&request.continuation_token, &request.marker) {
            (Some(token), _) => Some(decode_token(token)?),
            (None, Some(marker)) => {
                let is_common_prefix = delimiter.is_some_and(|d| {
                    marker.starts_with(&request.prefix)
                        && marker.ends_with(d)
                        && marker[request.prefix.len()..].find(d) == Some(marker.len() - request.prefix.len() - d.len())
                });
                Some(if is_common_prefix { Resume::AfterPrefix(marker.clone()) } else { Resume::AfterKey(marker.clone()) })
            }
            (None, None) => request.start_after.clone().map(Resume::AfterKey),
        };
        let after = resume.map(|resume| match resume {
            Resume::AfterKey(key) => key,
            Resume::AfterPrefix(prefix) => successor_floor(&prefix),
        });
        let index = bucket.index.read().unwrap_or_else(|e| e.into_inner());

        let lower = match after.as_deref() {
            Some(after) if after >= request.prefix.as_str() => Bound::Excluded(after.to_owned()),
            _ => Bound::Included(request.prefix.clone()),
        };
        let mut page = ListPage::default();
        let mut cursor = index.range::<String, _>((lower, Bound::Unbounded));
        let mut last_returned: Option<Resume> = None;
        while let Some((key, meta)) = cursor.next() {
            if !key.starts_with(&request.prefix) {
                break;
            }
            let rolled_up =
                delimiter.and_then(|d| key[request.prefix.len()..].find(d).map(|at| key[..request.prefix.len() + at + d.len()].to_owned()));
            if page.objects.len() + page.common_prefixes.len() == max_keys {
                page.next_continuation_token = last_returned.as_ref().map(encode_token);
                page.next_marker = last_returned.map(|last| match last {
                    Resume::AfterKey(key) => key,
                    Resume::AfterPrefix(prefix) => prefix,
                });
                break;
            }
            match rolled_up {
                Some(common) => {
                    // Skip every other key under this common prefix.
                    cursor = index.range::<String, _>((Bound::Excluded(successor_floor(&common)), Bound::Unbounded));
                    last_returned = Some(Resume::AfterPrefix(common.clone()));
                    page.common_prefixes.push(common);
                }
                None => {
                    last_returned = Some(Resume::AfterKey(key.clone()));
                    page.objects.push(Arc::clone(meta));
                }
            }
        }
        Ok(page)
    }
}

/// The greatest string that still starts with `prefix` in every case that
/// matters for skipping: `prefix` followed by U+10FFFF repeated. Keys are at
/// most 1024 bytes, so 256 such characters reach past any of them.
fn successor_floor(prefix: &str) -> String {
    let mut s = String::with_capacity(prefix.len() + 1024);
    s.push_str(prefix);
    s.extend(std::iter::repeat_n(char::MAX, 256));
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::PutRequest;

    async fn store_with(keys: &[&str]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        store.create_bucket("bkt").await.unwrap();
        for key in keys {
            let body = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from_static(b"x"))]);
            store.put("bkt", PutRequest { key: key.to_string(), ..Default::default() }, body).await.unwrap();
        }
        (dir, store)
    }

    fn keys(page: &ListPage) -> Vec<&str> {
        page.objects.iter().map(|o| o.key.as_str()).collect()
    }

    #[tokio::test]
    async fn prefix_and_delimiter_roll_up_folders() {
        let (_dir, store) = store_with(&["a/1", "a/2", "a/b/3", "a0", "b/1", "top"]).await;
        let all = store.list("bkt", &ListRequest { max_keys: 1000, ..Default::default() }).unwrap();
        assert_eq!(keys(&all), ["a/1", "a/2", "a/b/3", "a0", "b/1", "top"]);

        let root = store.list("bkt", &ListRequest { delimiter: Some("/".into()), max_keys: 1000, ..Default::default() }).unwrap();
        assert_eq!(keys(&root), ["a0", "top"]);
        assert_eq!(root.common_prefixes, ["a/", "b/"]);

        let a = store
            .list("bkt", &ListRequest { prefix: "a/".into(), delimiter: Some("/".into()), max_keys: 1000, ..Default::default() })
            .unwrap();
        assert_eq!(keys(&a), ["a/1", "a/2"]);
        assert_eq!(a.common_prefixes, ["a/b/"]);
    }

    #[tokio::test]
    async fn pages_follow_continuation_tokens_without_gaps_or_repeats() {
        let names: Vec<String> = (0..25).map(|i| format!("k{i:03}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let (_dir, store) = store_with(&refs).await;
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let page = store.list("bkt", &ListRequest { max_keys: 10, continuation_token: token.clone(), ..Default::default() }).unwrap();
            seen.extend(keys(&page).into_iter().map(str::to_owned));
            match page.next_continuation_token {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, names);
    }

    #[tokio::test]
    async fn start_after_and_folder_pages() {
        let (_dir, store) = store_with(&["a/1", "a/2", "b/1", "c", "d/1"]).await;
        let page = store.list("bkt", &ListRequest { start_after: Some("a/2".into()), max_keys: 1000, ..Default::default() }).unwrap();
        assert_eq!(keys(&page), ["b/1", "c", "d/1"]);

        let first = store.list("bkt", &ListRequest { delimiter: Some("/".into()), max_keys: 2, ..Default::default() }).unwrap();
        assert_eq!(first.common_prefixes, ["a/", "b/"]);
        let second = store
            .list(
                "bkt",
                &ListRequest {
                    delimiter: Some("/".into()),
                    max_keys: 2,
                    continuation_token: first.next_continuation_token,
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(keys(&second), ["c"]);
        assert_eq!(second.common_prefixes, ["d/"]);
        assert!(!second.is_truncated());
    }

    #[tokio::test]
    async fn v1_markers_resume_after_keys_and_past_common_prefixes() {
        let (_dir, store) = store_with(&["a/1", "a/2", "b", "c/1", "c/2", "d"]).await;
        let request = |marker: Option<String>| ListRequest { delimiter: Some("/".into()), max_keys: 2, marker, ..Default::default() };
        let mut seen = Vec::new();
        let mut marker = None;
        loop {
            let page = store.list("bkt", &request(marker.clone())).unwrap();
            seen.extend(keys(&page).into_iter().map(str::to_owned));
            seen.extend(page.common_prefixes.iter().cloned());
            match page.next_marker {
                Some(next) => marker = Some(next),
                None => break,
            }
        }
        seen.sort();
        assert_eq!(seen, ["a/", "b", "c/", "d"], "each key or prefix once");
        let page = store.list("bkt", &ListRequest { marker: Some("a/1".into()), max_keys: 1000, ..Default::default() }).unwrap();
        assert_eq!(keys(&page), ["a/2", "b", "c/1", "c/2", "d"]);
    }

    #[tokio::test]
    async fn a_forged_token_is_a_clear_error() {
        let (_dir, store) = store_with(&["a"]).await;
        let err =
            store.list("bkt", &ListRequest { continuation_token: Some("zz".into()), max_keys: 10, ..Default::default() }).unwrap_err();
        assert!(matches!(err, StoreError::InvalidArgument(_)));
    }
}
