//! Properties of the store as a whole: concurrency, multipart, crash recovery.

use std::sync::Arc;

use agora_model::tags::Tag;
use bytes::Bytes;
use futures::TryStreamExt;

use super::*;

fn body(bytes: Vec<u8>) -> impl futures::Stream<Item = Result<Bytes, std::io::Error>> + Send {
    // Several chunks, as a network would deliver them.
    let chunks: Vec<_> = bytes.chunks(64 * 1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
    futures::stream::iter(chunks)
}

async fn read_all(store: &Store, key: &str, range: Option<std::ops::Range<u64>>) -> Vec<u8> {
    let object = store.read("bkt", key, range).await.unwrap();
    let chunks: Vec<Bytes> = object.stream.try_collect().await.unwrap();
    chunks.concat()
}

fn open() -> (tempfile::TempDir, Arc<Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.create_bucket("bkt").unwrap();
    (dir, Arc::new(store))
}

fn put_req(key: &str) -> PutRequest {
    PutRequest { key: key.into(), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_one_of_100_racing_create_once_writes_wins() {
    let (_dir, store) = open();
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let request = PutRequest { conditions: vec![Condition::NoneExists], ..put_req("sys/names/alice") };
                store.put("bkt", request, body(format!("writer {i}").into_bytes())).await
            })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap() {
            Ok(_) => winners.push(i),
            Err(StoreError::PreconditionFailed) => {}
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert_eq!(winners.len(), 1, "winners: {winners:?}");
    assert_eq!(read_all(&store, "sys/names/alice", None).await, format!("writer {}", winners[0]).into_bytes());
}

#[tokio::test]
async fn if_match_guards_read_modify_write() {
    let (_dir, store) = open();
    let first = store.put("bkt", put_req("doc.json"), body(b"v1".to_vec())).await.unwrap();
    let stale = first.etag.clone();
    let second = store
        .put("bkt", PutRequest { conditions: vec![Condition::ETagIs(stale.clone())], ..put_req("doc.json") }, body(b"v2".to_vec()))
        .await
        .unwrap();
    assert_ne!(second.etag, stale);
    let err = store
        .put("bkt", PutRequest { conditions: vec![Condition::ETagIs(stale)], ..put_req("doc.json") }, body(b"v3".to_vec()))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::PreconditionFailed));
    assert_eq!(read_all(&store, "doc.json", None).await, b"v2");
    let missing = store
        .put("bkt", PutRequest { conditions: vec![Condition::ETagIs("x".into())], ..put_req("nope") }, body(b"v".to_vec()))
        .await
        .unwrap_err();
    assert!(matches!(missing, StoreError::NoSuchKey));
}

#[tokio::test]
async fn etag_is_the_md5_and_a_short_body_is_refused() {
    let (_dir, store) = open();
    let meta = store.put("bkt", put_req("a"), body(b"hello".to_vec())).await.unwrap();
    assert_eq!(meta.etag, "5d41402abc4b2a76b9719d911017c592");
    let short = PutRequest { content_length: Some(10), ..put_req("b") };
    assert!(matches!(store.put("bkt", short, body(b"hello".to_vec())).await, Err(StoreError::IncompleteBody(_))));
    assert!(matches!(store.head("bkt", "b"), Err(StoreError::NoSuchKey)), "nothing half-written is visible");
}

#[tokio::test]
async fn tags_are_validated_and_replaced_atomically() {
    let (_dir, store) = open();
    let request = PutRequest { tags: vec![Tag::new("split", "train")], ..put_req("img.png") };
    store.put("bkt", request, body(vec![1, 2, 3])).await.unwrap();
    assert_eq!(store.head("bkt", "img.png").unwrap().tags, vec![Tag::new("split", "train")]);
    store.put_tags("bkt", "img.png", vec![Tag::new("split", "val"), Tag::new("cam", "2")]).await.unwrap();
    assert_eq!(store.head("bkt", "img.png").unwrap().tags.len(), 2);
    let bad = store.put_tags("bkt", "img.png", vec![Tag::new("aws:x", "1")]).await.unwrap_err();
    assert!(matches!(bad, StoreError::InvalidTag(_)));
    assert_eq!(store.head("bkt", "img.png").unwrap().tags.len(), 2, "a refused change changes nothing");
    assert_eq!(read_all(&store, "img.png", None).await, vec![1, 2, 3]);
}

#[tokio::test]
async fn multipart_objects_read_back_whole_and_in_ranges() {
    let (_dir, store) = open();
    let upload = store.create_upload("bkt", "big.bin".into(), ObjectHeaders::default(), vec![]).await.unwrap();
    let part = |n: u8, len: usize| (0..len).map(|i| n.wrapping_mul(31).wrapping_add(i as u8)).collect::<Vec<u8>>();
    let sizes = [(1u8, multipart::MIN_PART_SIZE as usize), (2, multipart::MIN_PART_SIZE as usize), (3, 1234)];
    let mut listed = Vec::new();
    let mut expected = Vec::new();
    // Upload out of order, as parallel clients do.
    for &(n, len) in sizes.iter().rev() {
        let meta =
            store.upload_part("bkt", "big.bin", &upload.upload_id, n as i32, Some(len as u64), None, body(part(n, len))).await.unwrap();
        listed.push(CompletedPartRef { part_number: n as i32, etag: meta.etag });
    }
    listed.reverse();
    for &(n, len) in &sizes {
        expected.extend(part(n, len));
    }
    let (_, parts) = store.list_parts("bkt", "big.bin", &upload.upload_id).await.unwrap();
    assert_eq!(parts.iter().map(|p| p.part_number).collect::<Vec<_>>(), [1, 2, 3]);

    let meta = store.complete_upload("bkt", "big.bin", &upload.upload_id, &listed, &[]).await.unwrap();
    assert!(meta.etag.ends_with("-3"), "{}", meta.etag);
    assert_eq!(meta.size, expected.len() as u64);
    assert_eq!(read_all(&store, "big.bin", None).await, expected);
    let across = (multipart::MIN_PART_SIZE - 10)..(2 * multipart::MIN_PART_SIZE + 5);
    assert_eq!(read_all(&store, "big.bin", Some(across.clone())).await, expected[across.start as usize..across.end as usize]);
    assert!(matches!(store.list_parts("bkt", "big.bin", &upload.upload_id).await, Err(StoreError::NoSuchUpload)));
}

#[tokio::test]
async fn multipart_rules_are_enforced() {
    let (_dir, store) = open();
    let upload = store.create_upload("bkt", "k".into(), ObjectHeaders::default(), vec![]).await.unwrap();
    for n in [0, 10_001, -1] {
        let err = store.upload_part("bkt", "k", &upload.upload_id, n, None, None, body(vec![1])).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidArgument(_)), "part {n}");
    }
    let p1 = store.upload_part("bkt", "k", &upload.upload_id, 1, None, None, body(vec![1; 10])).await.unwrap();
    let p2 = store.upload_part("bkt", "k", &upload.upload_id, 2, None, None, body(vec![2; 10])).await.unwrap();
    let refs =
        |parts: &[(i32, &str)]| parts.iter().map(|(n, e)| CompletedPartRef { part_number: *n, etag: e.to_string() }).collect::<Vec<_>>();
    let too_small = store.complete_upload("bkt", "k", &upload.upload_id, &refs(&[(1, &p1.etag), (2, &p2.etag)]), &[]).await;
    assert!(matches!(too_small, Err(StoreError::EntityTooSmall { part: 1, .. })));
    let unordered = store.complete_upload("bkt", "k", &upload.upload_id, &refs(&[(2, &p2.etag), (1, &p1.etag)]), &[]).await;
    assert!(matches!(unordered, Err(StoreError::InvalidPartOrder)));
    let wrong_etag = store.complete_upload("bkt", "k", &upload.upload_id, &refs(&[(1, "00")]), &[]).await;
    assert!(matches!(wrong_etag, Err(StoreError::InvalidPart(_))));
    for forged in ["../../etc", "x", "0123456789abcdef0123456789abcdeg"] {
        assert!(matches!(store.list_parts("bkt", "k", forged).await, Err(StoreError::NoSuchUpload)), "{forged}");
    }
    assert!(matches!(store.list_parts("bkt", "other-key", &upload.upload_id).await, Err(StoreError::NoSuchUpload)));
    store.abort_upload("bkt", "k", &upload.upload_id).await.unwrap();
    assert!(matches!(store.abort_upload("bkt", "k", &upload.upload_id).await, Err(StoreError::NoSuchUpload)));
    assert!(matches!(store.head("bkt", "k"), Err(StoreError::NoSuchKey)));
}

#[tokio::test]
async fn a_reopened_store_has_every_committed_object_and_no_debris() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path()).unwrap();
        store.create_bucket("bkt").unwrap();
        store.put("bkt", put_req("kept"), body(b"data".to_vec())).await.unwrap();
        store.put("bkt", put_req("replaced"), body(b"old".to_vec())).await.unwrap();
        store.put("bkt", put_req("replaced"), body(b"new".to_vec())).await.unwrap();
        store.put("bkt", put_req("gone"), body(b"x".to_vec())).await.unwrap();
        store.delete("bkt", "gone").await.unwrap();
    }
    // Simulate a crash: a blob written but never committed, a half-written temp file.
    std::fs::write(dir.path().join("buckets/bkt/blobs/0123456789abcdef0123456789abcdef"), b"orphan").unwrap();
    std::fs::write(dir.path().join("tmp/partial"), b"torn").unwrap();

    let store = Store::open(dir.path()).unwrap();
    assert_eq!(read_all(&store, "kept", None).await, b"data");
    assert_eq!(read_all(&store, "replaced", None).await, b"new");
    assert!(matches!(store.head("bkt", "gone"), Err(StoreError::NoSuchKey)));
    let blobs = std::fs::read_dir(dir.path().join("buckets/bkt/blobs")).unwrap().count();
    assert_eq!(blobs, 2, "only the blobs of live objects remain");
    assert_eq!(std::fs::read_dir(dir.path().join("tmp")).unwrap().count(), 0);
}

#[tokio::test]
async fn copies_share_nothing_observable() {
    let (_dir, store) = open();
    let request = PutRequest { tags: vec![Tag::new("a", "1")], ..put_req("src") };
    store.put("bkt", request, body(b"payload".to_vec())).await.unwrap();
    store.copy(("bkt", "src"), "bkt", put_req("dst"), false, false, &[]).await.unwrap();
    store.delete("bkt", "src").await.unwrap();
    assert_eq!(read_all(&store, "dst", None).await, b"payload");
    assert_eq!(store.head("bkt", "dst").unwrap().tags, vec![Tag::new("a", "1")]);
}

#[tokio::test]
async fn stale_uploads_are_swept() {
    let (_dir, store) = open();
    let upload = store.create_upload("bkt", "k".into(), ObjectHeaders::default(), vec![]).await.unwrap();
    assert_eq!(store.sweep_uploads(upload.initiated).await.unwrap(), 0, "not older than the cutoff");
    let later = upload.initiated + time::Duration::seconds(1);
    assert_eq!(store.sweep_uploads(later).await.unwrap(), 1);
    assert!(store.list_uploads("bkt").await.unwrap().is_empty());
}
