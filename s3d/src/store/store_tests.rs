//! Properties of the store as a whole: concurrency, multipart, crash recovery.

use std::sync::Arc;

use agora_model::tags::Tag;
use bytes::Bytes;
use futures::TryStreamExt;
use md5::Md5;

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

async fn open() -> (tempfile::TempDir, Arc<Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.create_bucket("bkt").await.unwrap();
    (dir, Arc::new(store))
}

fn put_req(key: &str) -> PutRequest {
    PutRequest { key: key.into(), ..Default::default() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_one_of_100_racing_create_once_writes_wins() {
    let (_dir, store) = open().await;
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
    let (_dir, store) = open().await;
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
    let (_dir, store) = open().await;
    let meta = store.put("bkt", put_req("a"), body(b"hello".to_vec())).await.unwrap();
    assert_eq!(meta.etag, "5d41402abc4b2a76b9719d911017c592");
    let short = PutRequest { content_length: Some(10), ..put_req("b") };
    assert!(matches!(store.put("bkt", short, body(b"hello".to_vec())).await, Err(StoreError::IncompleteBody(_))));
    assert!(matches!(store.head("bkt", "b"), Err(StoreError::NoSuchKey)), "nothing half-written is visible");
}

#[tokio::test]
async fn tags_are_validated_and_replaced_atomically() {
    let (_dir, store) = open().await;
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
    let (_dir, store) = open().await;
    let upload = store.create_upload("bkt", "big.bin".into(), ObjectHeaders::default(), vec![], None).await.unwrap();
    let part = |n: u8, len: usize| (0..len).map(|i| n.wrapping_mul(31).wrapping_add(i as u8)).collect::<Vec<u8>>();
    let sizes = [(1u8, multipart::MIN_PART_SIZE as usize), (2, multipart::MIN_PART_SIZE as usize), (3, 1234)];
    let mut listed = Vec::new();
    let mut expected = Vec::new();
    // Upload out of order, as parallel clients do.
    for &(n, len) in sizes.iter().rev() {
        let meta = store
            .upload_part("bkt", "big.bin", &upload.upload_id, n as i32, Some(len as u64), None, None, body(part(n, len)))
            .await
            .unwrap();
        listed.push(CompletedPartRef { part_number: n as i32, etag: meta.etag, checksum: None });
    }
    listed.reverse();
    for &(n, len) in &sizes {
        expected.extend(part(n, len));
    }
    let (_, parts) = store.list_parts("bkt", "big.bin", &upload.upload_id).await.unwrap();
    assert_eq!(parts.iter().map(|p| p.part_number).collect::<Vec<_>>(), [1, 2, 3]);

    let meta = store.complete_upload("bkt", "big.bin", &upload.upload_id, &listed, &[], None).await.unwrap();
    assert!(meta.etag.ends_with("-3"), "{}", meta.etag);
    assert_eq!(meta.size, expected.len() as u64);
    assert_eq!(read_all(&store, "big.bin", None).await, expected);
    let across = (multipart::MIN_PART_SIZE - 10)..(2 * multipart::MIN_PART_SIZE + 5);
    assert_eq!(read_all(&store, "big.bin", Some(across.clone())).await, expected[across.start as usize..across.end as usize]);
    assert!(matches!(store.list_parts("bkt", "big.bin", &upload.upload_id).await, Err(StoreError::NoSuchUpload)));
}

#[tokio::test]
async fn multipart_rules_are_enforced() {
    let (_dir, store) = open().await;
    let upload = store.create_upload("bkt", "k".into(), ObjectHeaders::default(), vec![], None).await.unwrap();
    for n in [0, 10_001, -1] {
        let err = store.upload_part("bkt", "k", &upload.upload_id, n, None, None, None, body(vec![1])).await.unwrap_err();
        assert!(matches!(err, StoreError::InvalidArgument(_)), "part {n}");
    }
    let p1 = store.upload_part("bkt", "k", &upload.upload_id, 1, None, None, None, body(vec![1; 10])).await.unwrap();
    let p2 = store.upload_part("bkt", "k", &upload.upload_id, 2, None, None, None, body(vec![2; 10])).await.unwrap();
    let refs = |parts: &[(i32, &str)]| {
        parts.iter().map(|(n, e)| CompletedPartRef { part_number: *n, etag: e.to_string(), checksum: None }).collect::<Vec<_>>()
    };
    let too_small = store.complete_upload("bkt", "k", &upload.upload_id, &refs(&[(1, &p1.etag), (2, &p2.etag)]), &[], None).await;
    assert!(matches!(too_small, Err(StoreError::EntityTooSmall { part: 1, .. })));
    let unordered = store.complete_upload("bkt", "k", &upload.upload_id, &refs(&[(2, &p2.etag), (1, &p1.etag)]), &[], None).await;
    assert!(matches!(unordered, Err(StoreError::InvalidPartOrder)));
    let wrong_etag = store.complete_upload("bkt", "k", &upload.upload_id, &refs(&[(1, "00")]), &[], None).await;
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
        store.create_bucket("bkt").await.unwrap();
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
    let (_dir, store) = open().await;
    let request = PutRequest { tags: vec![Tag::new("a", "1")], ..put_req("src") };
    store.put("bkt", request, body(b"payload".to_vec())).await.unwrap();
    store.copy(("bkt", "src"), "bkt", put_req("dst"), false, false, |_| Ok(())).await.unwrap();
    store.delete("bkt", "src").await.unwrap();
    assert_eq!(read_all(&store, "dst", None).await, b"payload");
    assert_eq!(store.head("bkt", "dst").unwrap().tags, vec![Tag::new("a", "1")]);
}

#[tokio::test]
async fn stale_uploads_are_swept() {
    let (_dir, store) = open().await;
    let upload = store.create_upload("bkt", "k".into(), ObjectHeaders::default(), vec![], None).await.unwrap();
    assert_eq!(store.sweep_uploads(upload.initiated).await.unwrap(), 0, "not older than the cutoff");
    let later = upload.initiated + time::Duration::seconds(1);
    assert_eq!(store.sweep_uploads(later).await.unwrap(), 1);
    assert!(store.list_uploads("bkt").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_read_in_flight_keeps_reading_its_version_to_the_end() {
    let (_dir, store) = open().await;
    let upload = store.create_upload("bkt", "v".into(), ObjectHeaders::default(), vec![], None).await.unwrap();
    let part = |n: u8, len: usize| vec![n; len];
    let min = multipart::MIN_PART_SIZE as usize;
    let mut listed = Vec::new();
    for (n, len) in [(1u8, min), (2, min), (3, 100)] {
        let meta = store.upload_part("bkt", "v", &upload.upload_id, n as i32, None, None, None, body(part(n, len))).await.unwrap();
        listed.push(CompletedPartRef { part_number: n as i32, etag: meta.etag, checksum: None });
    }
    store.complete_upload("bkt", "v", &upload.upload_id, &listed, &[], None).await.unwrap();

    let reader = store.reader("bkt", "v").unwrap();
    let mut stream = reader.body(None).await.unwrap().stream;
    let mut read = futures::StreamExt::next(&mut stream).await.unwrap().unwrap().to_vec();
    // Replaced, then deleted, while the first part is still being read.
    store.put("bkt", put_req("v"), body(b"newer".to_vec())).await.unwrap();
    store.delete("bkt", "v").await.unwrap();
    while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
        read.extend_from_slice(&chunk.expect("later parts are still there"));
    }
    let mut expected = part(1, min);
    expected.extend(part(2, min));
    expected.extend(part(3, 100));
    assert!(read == expected, "the read returned the version it started with");
    drop(stream);
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let blobs = std::fs::read_dir(store.root().join("buckets/bkt/blobs")).unwrap().count();
    assert_eq!(blobs, 0, "the retired blobs go once their last reader is done");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn writers_cancelled_mid_commit_still_leave_one_winner_and_memory_matching_disk() {
    let (dir, store) = open().await;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..100 {
        let key = format!("race/{round}");
        let writers: Vec<_> = (0..8)
            .map(|i| {
                let (store, key) = (Arc::clone(&store), key.clone());
                tokio::spawn(async move {
                    let request = PutRequest { conditions: vec![Condition::NoneExists], ..put_req(&key) };
                    store.put("bkt", request, body(format!("writer {i}").into_bytes())).await
                })
            })
            .collect();
        // Half the writers' clients hang up at a random moment.
        let mut cancelled = Vec::new();
        for (i, writer) in writers.iter().enumerate() {
            if i % 2 == 0 {
                tokio::time::sleep(std::time::Duration::from_micros(next() % 400)).await;
                writer.abort();
                cancelled.push(i);
            }
        }
        let mut winners = 0;
        let mut unanswered = Vec::new();
        for (i, writer) in writers.into_iter().enumerate() {
            match writer.await {
                Ok(Ok(_)) => winners += 1,
                Ok(Err(StoreError::PreconditionFailed)) => {}
                Ok(Err(other)) => panic!("round {round}: {other}"),
                Err(join) => {
                    assert!(join.is_cancelled() && cancelled.contains(&i));
                    unanswered.push(i);
                }
            }
        }
        // Give detached commits of cancelled writers time to end.
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let stored = read_all(&store, &key, None).await;
        let by_cancelled = unanswered.iter().any(|i| stored == format!("writer {i}").into_bytes());
        assert_eq!(winners + usize::from(by_cancelled), 1, "round {round}: exactly one write won");
    }
    // What a restart would see is what was served.
    let reopened = Store::open(dir.path()).unwrap();
    for round in 0..100 {
        let key = format!("race/{round}");
        assert_eq!(reopened.head("bkt", &key).unwrap().etag, store.head("bkt", &key).unwrap().etag, "{key}");
    }
}

#[tokio::test]
async fn unreadable_metadata_is_quarantined_and_no_blob_of_its_bucket_is_swept() {
    let dir = tempfile::tempdir().unwrap();
    let (meta_path, blob_id) = {
        let store = Store::open(dir.path()).unwrap();
        store.create_bucket("bkt").await.unwrap();
        let meta = store.put("bkt", put_req("precious"), body(b"irreplaceable".to_vec())).await.unwrap();
        store.put("bkt", put_req("fine"), body(b"ok".to_vec())).await.unwrap();
        (store.bucket("bkt").unwrap().meta_path("precious"), meta.blobs[0].id.clone())
    };
    std::fs::write(&meta_path, b"{ torn").unwrap();
    std::fs::write(dir.path().join("buckets/bkt/blobs/0123456789abcdef0123456789abcdef"), b"unknown").unwrap();

    let store = Store::open(dir.path()).unwrap();
    assert!(matches!(store.head("bkt", "precious"), Err(StoreError::NoSuchKey)));
    assert_eq!(read_all(&store, "fine", None).await, b"ok");
    let quarantined = dir.path().join("buckets/bkt/quarantine").join(meta_path.file_name().unwrap());
    assert_eq!(std::fs::read(&quarantined).unwrap(), b"{ torn", "the unreadable file is set aside, not deleted");
    assert!(!meta_path.exists());
    let blob = std::fs::read(dir.path().join("buckets/bkt/blobs").join(&blob_id)).unwrap();
    assert_eq!(blob, b"irreplaceable", "its bytes are kept");
    assert!(dir.path().join("buckets/bkt/blobs/0123456789abcdef0123456789abcdef").exists(), "nothing of the bucket is swept");
}

#[tokio::test]
async fn a_complete_interrupted_before_its_cleanup_is_finished_at_open_and_never_redone() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).unwrap();
    store.create_bucket("bkt").await.unwrap();
    let upload = store.create_upload("bkt", "m".into(), ObjectHeaders::default(), vec![], None).await.unwrap();
    let part = store.upload_part("bkt", "m", &upload.upload_id, 1, None, None, None, body(b"part one".to_vec())).await.unwrap();
    let listed = [CompletedPartRef { part_number: 1, etag: part.etag, checksum: None }];
    let upload_dir = dir.path().join("buckets/bkt/uploads").join(&upload.upload_id);
    let saved = dir.path().join("saved-upload");
    copy_dir(&upload_dir, &saved);
    let done = store.complete_upload("bkt", "m", &upload.upload_id, &listed, &[], None).await.unwrap();
    assert!(!upload_dir.exists());

    // Sent again after a lost answer: the same object, not a new version.
    let again = store.complete_upload("bkt", "m", &upload.upload_id, &listed, &[], None).await.unwrap();
    assert_eq!((again.etag.as_str(), again.last_modified), (done.etag.as_str(), done.last_modified));

    // A crash after the commit but before the upload's removal…
    drop(store);
    copy_dir(&saved, &upload_dir);
    let store = Store::open(dir.path()).unwrap();
    assert!(!upload_dir.exists(), "…is finished at the next open");
    assert!(store.list_uploads("bkt").await.unwrap().is_empty());
    assert_eq!(read_all(&store, "m", None).await, b"part one");

    // A newer PUT is never overwritten by a late Complete of the old upload.
    store.put("bkt", put_req("m"), body(b"newer".to_vec())).await.unwrap();
    let late = store.complete_upload("bkt", "m", &upload.upload_id, &listed, &[], None).await;
    assert!(matches!(late, Err(StoreError::NoSuchUpload)), "{late:?}");
    assert_eq!(read_all(&store, "m", None).await, b"newer");
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_uploads_of_one_part_never_pair_one_record_with_the_others_bytes() {
    let (_dir, store) = open().await;
    for round in 0..20 {
        let key = format!("p{round}");
        let upload = store.create_upload("bkt", key.clone(), ObjectHeaders::default(), vec![], None).await.unwrap();
        let uploads: Vec<_> = (0..4u8)
            .map(|i| {
                let (store, key, id) = (Arc::clone(&store), key.clone(), upload.upload_id.clone());
                tokio::spawn(async move {
                    store.upload_part("bkt", &key, &id, 1, None, None, None, body(vec![i; 1000 + i as usize * 5000])).await
                })
            })
            .collect();
        for upload in uploads {
            upload.await.unwrap().unwrap();
        }
        let (_, parts) = store.list_parts("bkt", &key, &upload.upload_id).await.unwrap();
        let listed = [CompletedPartRef { part_number: 1, etag: parts[0].etag.clone(), checksum: None }];
        let meta = store.complete_upload("bkt", &key, &upload.upload_id, &listed, &[], None).await.unwrap();
        let bytes = read_all(&store, &key, None).await;
        assert_eq!(bytes.len() as u64, parts[0].size, "round {round}");
        assert_eq!(hex::encode(Md5::digest(&bytes)), parts[0].etag, "round {round}: the bytes are the ones the record vouches for");
        assert_eq!(meta.size, parts[0].size);
    }
}

#[tokio::test]
async fn a_put_in_flight_when_its_bucket_is_deleted_cannot_bring_it_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path()).unwrap());
    store.create_bucket("gone").await.unwrap();
    let (send, arrive) = tokio::sync::oneshot::channel::<()>();
    let slow = futures::stream::once(async move {
        let _ = arrive.await;
        Ok::<_, std::io::Error>(Bytes::from_static(b"late bytes"))
    });
    let writer = {
        let store = Arc::clone(&store);
        tokio::spawn(async move { store.put("gone", put_req("k"), slow).await })
    };
    let upload = store.create_upload("gone", "u".into(), ObjectHeaders::default(), vec![], None).await.unwrap();
    tokio::task::yield_now().await;
    store.delete_bucket("gone").await.unwrap();
    send.send(()).unwrap();
    assert!(matches!(writer.await.unwrap(), Err(StoreError::NoSuchBucket)));
    let part = store.upload_part("gone", "u", &upload.upload_id, 1, None, None, None, body(b"x".to_vec())).await;
    assert!(part.is_err());
    drop(store);
    assert!(!dir.path().join("buckets/gone").exists(), "nothing recreated the bucket's directory");
    assert!(!Store::open(dir.path()).unwrap().bucket_exists("gone"));
}

#[cfg(unix)]
#[tokio::test]
async fn stored_files_are_private_to_agoras_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("s3");
    let store = Store::open(&root).unwrap();
    store.create_bucket("bkt").await.unwrap();
    store.put("bkt", put_req("sys/session-secret"), body(b"s3cr3t".to_vec())).await.unwrap();
    let upload = store.create_upload("bkt", "m".into(), ObjectHeaders::default(), vec![], None).await.unwrap();
    store.upload_part("bkt", "m", &upload.upload_id, 1, None, None, None, body(b"part".to_vec())).await.unwrap();
    let mut checked = 0;
    let mut stack = vec![root.clone()];
    while let Some(path) = stack.pop() {
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        if path.is_dir() {
            assert_eq!(mode, 0o700, "{}", path.display());
            stack.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            assert_eq!(mode, 0o600, "{}", path.display());
        }
        checked += 1;
    }
    assert!(checked > 10, "{checked} paths checked");
}
