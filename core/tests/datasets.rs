//! Datasets in the bucket, against the embedded endpoint and moto.

use agora_core::accounts::api_keys::{Access, Scope};
use agora_core::accounts::{Accounts, UserRecord};
use agora_core::auth::caller::{Caller, Identity};
use agora_core::datasets::{DatasetLimits, Datasets};
use agora_core::index::journal::Indexer;
use agora_core::index::SearchIndex;
use agora_core::storage::{ListOptions, PutOptions};
use agora_model::datasets::{DatasetChange, NewDataset, Permission, ShareRequest, TransferRequest};
use agora_model::sharing::{MemberRole, Visibility};
use agora_model::ErrorKind;
use agora_testkit::people::{admin, session, user};
use agora_testkit::{both_backends, Fixture};
use bytes::Bytes;

fn local_index() -> Indexer {
    Indexer::local(SearchIndex::in_memory())
}

fn new(name: &str) -> NewDataset {
    NewDataset { name: name.into(), description: String::new(), visibility: Visibility::Private }
}

async fn setup(f: &Fixture, per_user: usize) -> (Datasets, Accounts, UserRecord, UserRecord, UserRecord) {
    let accounts = Accounts::new(f.storage.clone());
    let admin = admin(&accounts, "admin").await;
    let ann = user(&accounts, "ann").await;
    let ben = user(&accounts, "ben").await;
    (
        Datasets::new(f.storage.clone(), accounts.clone(), DatasetLimits { per_user, ..Default::default() }, local_index()),
        accounts,
        admin,
        ann,
        ben,
    )
}

both_backends!(owners_share_and_members_get_their_role_only, |f: Fixture| async move {
    let (datasets, _, _, ann, ben) = setup(&f, 10).await;
    let (ann_c, ben_c, nobody) = (session(&ann), session(&ben), Caller::anonymous(None));
    let cats = datasets
        .create(&ann_c, NewDataset { name: " Cats ".into(), description: "pictures".into(), visibility: Visibility::Private })
        .await
        .unwrap();
    assert_eq!(cats.name, "Cats");
    assert_eq!(datasets.list(&ann_c).await.unwrap().len(), 1);
    assert!(datasets.list(&ben_c).await.unwrap().is_empty(), "private datasets are invisible to others");
    assert_eq!(datasets.get(&ben_c, &cats.id).await.unwrap_err().to_api().kind, ErrorKind::NotFound);
    assert_eq!(datasets.get(&nobody, &cats.id).await.unwrap_err().to_api().kind, ErrorKind::NotFound);

    datasets.share(&ann_c, &cats.id, ShareRequest { username: "BEN".into(), role: Some(MemberRole::Viewer) }).await.unwrap();
    let seen = datasets.list(&ben_c).await.unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(datasets.view(&ben_c, &seen[0]).await.permission, Permission::Read);
    let change = DatasetChange { name: Some("Dogs".into()), ..Default::default() };
    assert_eq!(datasets.update(&ben_c, &cats.id, change.clone()).await.unwrap_err().to_api().kind, ErrorKind::Forbidden);
    datasets.share(&ann_c, &cats.id, ShareRequest { username: "ben".into(), role: Some(MemberRole::Editor) }).await.unwrap();
    assert_eq!(datasets.update(&ben_c, &cats.id, change).await.unwrap().name, "Dogs");
    let public = DatasetChange { visibility: Some(Visibility::Public), ..Default::default() };
    assert_eq!(
        datasets.update(&ben_c, &cats.id, public.clone()).await.unwrap_err().to_api().kind,
        ErrorKind::Forbidden,
        "editors do not change visibility"
    );
    datasets.update(&ann_c, &cats.id, public).await.unwrap();
    assert_eq!(datasets.list(&nobody).await.unwrap().len(), 1, "public datasets are listed for everyone");

    let err = datasets
        .share(&ann_c, &cats.id, ShareRequest { username: "nobody-here".into(), role: Some(MemberRole::Viewer) })
        .await
        .unwrap_err();
    assert_eq!(err.to_api().field.as_deref(), Some("username"));
    datasets.share(&ann_c, &cats.id, ShareRequest { username: "ben".into(), role: None }).await.unwrap();
    let view = datasets.view(&ann_c, &datasets.get(&ann_c, &cats.id).await.unwrap()).await;
    assert_eq!(view.members.iter().map(|m| m.username.as_str()).collect::<Vec<_>>(), ["ann"]);
});

both_backends!(ownership_moves_only_when_the_recipient_accepts_within_their_limit, |f: Fixture| async move {
    let (datasets, accounts, _, ann, ben) = setup(&f, 2).await;
    let (ann_c, ben_c) = (session(&ann), session(&ben));
    let ds = datasets.create(&ann_c, new("Audio")).await.unwrap();
    assert_eq!(
        datasets.transfer(&ben_c, &ds.id, TransferRequest { username: "ben".into() }).await.unwrap_err().to_api().kind,
        ErrorKind::NotFound,
        "only who manages it offers it"
    );
    let offered = datasets.transfer(&ann_c, &ds.id, TransferRequest { username: "ben".into() }).await.unwrap();
    assert_eq!(offered.owner, ann.id, "an offer changes nothing yet");
    assert_eq!(datasets.view(&ann_c, &offered).await.offered_to.as_deref(), Some("ben"));
    assert_eq!(datasets.get(&ben_c, &ds.id).await.unwrap_err().to_api().kind, ErrorKind::NotFound, "an offer grants no access");
    let offers = datasets.transfer_offers(&ben_c).await.unwrap();
    assert_eq!((offers.len(), offers[0].dataset_name.as_str(), offers[0].from.as_str()), (1, "Audio", "ann"));
    assert!(datasets.transfer_offers(&ann_c).await.unwrap().is_empty());

    // Someone else cannot take it; the recipient can decline it.
    let carl = agora_testkit::people::user(&accounts, "carl").await;
    let carl_c = session(&carl);
    assert_eq!(datasets.accept_transfer(&carl_c, &ds.id).await.unwrap_err().to_api().kind, ErrorKind::NotFound);
    datasets.end_transfer(&ben_c, &ds.id).await.unwrap();
    assert!(datasets.transfer_offers(&ben_c).await.unwrap().is_empty());
    assert_eq!(datasets.accept_transfer(&ben_c, &ds.id).await.unwrap_err().to_api().kind, ErrorKind::NotFound, "a declined offer is gone");

    // Over the recipient's limit: refused when offered, and when accepted.
    datasets.create(&ben_c, new("ben one")).await.unwrap();
    datasets.create(&ben_c, new("ben two")).await.unwrap();
    let full = datasets.transfer(&ann_c, &ds.id, TransferRequest { username: "ben".into() }).await.unwrap_err().to_api();
    assert_eq!(full.field.as_deref(), Some("username"), "{full}");
    assert!(full.message.contains("AGORA_MAX_DATASETS_PER_USER"), "{full}");
    datasets.transfer(&ann_c, &ds.id, TransferRequest { username: "carl".into() }).await.unwrap();
    datasets.create(&carl_c, new("carl one")).await.unwrap();
    datasets.create(&carl_c, new("carl two")).await.unwrap();
    let over = datasets.accept_transfer(&carl_c, &ds.id).await.unwrap_err().to_api();
    assert_eq!(over.field.as_deref(), Some("dataset"), "{over}");
    assert_eq!(datasets.get(&ann_c, &ds.id).await.unwrap().owner, ann.id);

    // Offered to someone with room: it is theirs once they accept.
    let dora = agora_testkit::people::user(&accounts, "dora").await;
    let dora_c = session(&dora);
    datasets.transfer(&ann_c, &ds.id, TransferRequest { username: "dora".into() }).await.unwrap();
    assert!(datasets.transfer_offers(&carl_c).await.unwrap().is_empty(), "the new offer replaced carl's");
    let moved = datasets.accept_transfer(&dora_c, &ds.id).await.unwrap();
    assert_eq!((moved.owner.as_str(), moved.offered_to.is_none()), (dora.id.as_str(), true));
    assert_eq!(datasets.view(&ann_c, &moved).await.permission, Permission::Write, "the old owner stays an editor");
    assert_eq!(datasets.view(&dora_c, &moved).await.permission, Permission::Manage);
    assert!(datasets.transfer_offers(&dora_c).await.unwrap().is_empty());
    assert_eq!(datasets.accept_transfer(&dora_c, &ds.id).await.unwrap_err().to_api().kind, ErrorKind::NotFound, "accepted once");

    // An offer to an account that is then deleted ends with it.
    datasets.transfer(&dora_c, &ds.id, TransferRequest { username: "ann".into() }).await.unwrap();
    datasets.remove_user(&ann.id).await.unwrap();
    let after = datasets.get(&dora_c, &ds.id).await.unwrap();
    assert_eq!(after.offered_to, None, "the deleted account's offer is gone");
    assert!(f.storage.list_all(&format!("sys/transfer-offers/{}/", ann.id)).await.unwrap().is_empty());
});

both_backends!(quotas_and_bad_names_are_refused_with_the_rule, |f: Fixture| async move {
    let (datasets, _, _, ann, _) = setup(&f, 2).await;
    let ann_c = session(&ann);
    datasets.create(&ann_c, new("one")).await.unwrap();
    datasets.create(&ann_c, new("two")).await.unwrap();
    let err = datasets.create(&ann_c, new("three")).await.unwrap_err().to_api();
    assert!(err.message.contains("AGORA_MAX_DATASETS_PER_USER"), "{err}");
    assert_eq!(datasets.create(&ann_c, new("")).await.unwrap_err().to_api().field.as_deref(), Some("name"));
    assert_eq!(datasets.create(&Caller::anonymous(None), new("x")).await.unwrap_err().to_api().kind, ErrorKind::Unauthenticated);
    assert_eq!(datasets.get(&ann_c, "../../sys/users").await.unwrap_err().to_api().kind, ErrorKind::NotFound);
});

async fn key_caller(accounts: &Accounts, owner: &UserRecord, access: Access) -> Caller {
    let (record, _) = accounts.create_api_key(&owner.id, "k", vec![Scope::AllDatasets { access }], None).await.unwrap();
    Caller { identity: Identity::ApiKey { user: Box::new(owner.clone()), key: Box::new(record) }, ip: None }
}

both_backends!(keys_create_only_with_full_write_access, |f: Fixture| async move {
    let (datasets, accounts, _, ann, _) = setup(&f, 10).await;
    let reader = key_caller(&accounts, &ann, Access::Read).await;
    assert_eq!(datasets.create(&reader, new("x")).await.unwrap_err().to_api().kind, ErrorKind::Forbidden);
    let writer = key_caller(&accounts, &ann, Access::ReadWrite).await;
    let ds = datasets.create(&writer, new("from a script")).await.unwrap();
    assert_eq!(datasets.view(&writer, &ds).await.permission, Permission::Write, "keys never manage");
    assert_eq!(datasets.delete(&writer, &ds.id).await.unwrap_err().to_api().kind, ErrorKind::Forbidden);
});

both_backends!(deleting_a_non_empty_dataset_hides_it_at_once_and_a_job_removes_everything, |f: Fixture| async move {
    let (datasets, _, _, ann, ben) = setup(&f, 10).await;
    let (ann_c, ben_c) = (session(&ann), session(&ben));
    let ds = datasets.create(&ann_c, new("big")).await.unwrap();
    datasets.share(&ann_c, &ds.id, ShareRequest { username: "ben".into(), role: Some(MemberRole::Editor) }).await.unwrap();
    for i in 0..1005 {
        f.storage.put(&format!("ds/{}/files/f{i:04}.txt", ds.id), Bytes::from_static(b"x"), PutOptions::default()).await.unwrap();
    }
    assert_eq!(datasets.delete(&ben_c, &ds.id).await.unwrap_err().to_api().kind, ErrorKind::Forbidden, "editors do not delete");
    let job = datasets.delete(&ann_c, &ds.id).await.unwrap();
    // Gone from every list and every read at once, before the job ran.
    assert!(datasets.list(&ann_c).await.unwrap().is_empty());
    assert!(datasets.list(&ben_c).await.unwrap().is_empty());
    assert_eq!(datasets.get(&ann_c, &ds.id).await.unwrap_err().to_api().kind, ErrorKind::NotFound);
    assert_eq!(datasets.delete(&ann_c, &ds.id).await.unwrap_err().to_api().kind, ErrorKind::NotFound);

    // The node "crashed" before running it: a start resumes it.
    assert_eq!(datasets.resume_deletions().await.unwrap(), 1);
    let done = datasets.run_deletion(&job.id).await.unwrap();
    assert_eq!(done.done, 1005 + 2 + 1, "the files, two activity entries (created, shared), the manifest");
    let left = f.storage.list(&ListOptions { prefix: format!("ds/{}/", ds.id), ..Default::default() }).await.unwrap();
    assert!(left.objects.is_empty(), "{:?}", left.objects);
    assert_eq!(datasets.resume_deletions().await.unwrap(), 0);
});

both_backends!(an_upload_lands_in_place_with_its_labels_as_tags, |f: Fixture| async move {
    use agora_model::files::UploadRequest;
    use agora_model::tags::Tag;
    let (datasets, _, _, ann, _) = setup(&f, 10).await;
    let ann_c = session(&ann);
    let ds = datasets.create(&ann_c, new("tagged")).await.unwrap();
    let labels = vec![Tag::new("split", "train"), Tag::new("source", "camera 2")];
    let request = UploadRequest {
        path: "a/b.txt".into(),
        size: 5,
        content_type: Some("text/plain".into()),
        labels: labels.clone(),
        on_conflict: None,
        md5: Some(agora_testkit::md5_b64(b"hello")),
    };
    let ticket = datasets.start_upload(&ann_c, &ds.id, request).await.unwrap();
    let call = ticket.put.expect("a small file is one PUT");
    assert!(ticket.multipart.is_none());
    let mut put = reqwest::Client::new().put(&call.url).body("hello");
    for (name, value) in &call.headers {
        put = put.header(name, value);
    }
    assert!(put.send().await.unwrap().status().is_success());
    let file = datasets.complete_upload(&ann_c, &ds.id, &ticket.upload_id).await.unwrap();
    assert_eq!((file.path.as_str(), file.size), ("a/b.txt", 5));
    let mut stored = f.storage.get_tags(&format!("ds/{}/files/a/b.txt", ds.id)).await.unwrap();
    stored.sort();
    let mut expected = labels;
    expected.sort();
    assert_eq!(stored, expected, "labels are the object's tags");
    let leftovers = f.storage.list(&ListOptions { prefix: format!("ds/{}/staging/", ds.id), ..Default::default() }).await.unwrap();
    assert!(leftovers.objects.is_empty(), "the staging copy is gone");
});

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

/// Asks for part `part`'s URL declaring `declared`'s MD5 and sends `sent`
/// with its signed headers; returns the URL and whether storage took it (a
/// store that checks what was signed refuses other bytes; moto takes them).
async fn send_part(
    datasets: &Datasets,
    caller: &Caller,
    id: &str,
    upload: &str,
    part: u32,
    declared: &[u8],
    sent: Vec<u8>,
) -> (String, bool) {
    use agora_model::files::{PartRequest, PartUrlsRequest};
    let request = PartUrlsRequest { parts: vec![PartRequest { part_number: part, md5: agora_testkit::md5_b64(declared) }] };
    let urls = datasets.part_urls(caller, id, upload, request).await.unwrap();
    let mut put = reqwest::Client::new().put(&urls[0].url).body(sent);
    for (name, value) in &urls[0].headers {
        put = put.header(name, value);
    }
    (urls[0].url.clone(), put.send().await.unwrap().status().is_success())
}

async fn put_part(datasets: &Datasets, caller: &Caller, id: &str, upload: &str, part: u32, body: Vec<u8>) -> String {
    let (url, accepted) = send_part(datasets, caller, id, upload, part, &body.clone(), body).await;
    assert!(accepted, "part {part} was refused");
    url
}

both_backends!(large_files_go_in_parts_that_are_checked_resumed_and_cancelled, |f: Fixture| async move {
    use agora_model::files::{PartRequest, PartUrlsRequest, UploadRequest};
    use agora_model::tags::Tag;
    const MIB: usize = 1024 * 1024;
    let accounts = Accounts::new(f.storage.clone());
    let (ann, ben) = (user(&accounts, "ann").await, user(&accounts, "ben").await);
    let limits = DatasetLimits { multipart_threshold: MIB as u64, ..Default::default() };
    let datasets = Datasets::new(f.storage.clone(), accounts.clone(), limits, local_index());
    let (ann_c, ben_c) = (session(&ann), session(&ben));
    let ds = datasets.create(&ann_c, new("models")).await.unwrap();
    datasets.share(&ann_c, &ds.id, ShareRequest { username: "ben".into(), role: Some(MemberRole::Editor) }).await.unwrap();
    let size = 8 * MIB + 100;
    let body = pattern(size, 7);
    let request = UploadRequest {
        path: "weights/model.bin".into(),
        size: size as u64,
        content_type: Some("application/octet-stream".into()),
        labels: vec![Tag::new("kind", "model")],
        on_conflict: None,
        md5: None,
    };
    let ticket = datasets.start_upload(&ann_c, &ds.id, request.clone()).await.unwrap();
    assert!(ticket.put.is_none(), "over the threshold: parts, not one PUT");
    let plan = ticket.multipart.clone().unwrap();
    assert_eq!((plan.part_size, plan.part_count), (8 * MIB as u64, 2));
    let upload = ticket.upload_id.as_str();

    let md5 = agora_testkit::md5_b64(b"x");
    let part = |part_number: u32, md5: &str| PartRequest { part_number, md5: md5.to_owned() };
    for bad in [vec![], vec![part(3, &md5)], vec![part(0, &md5)], vec![part(1, "")], vec![part(1, "bm90IGFuIG1kNQ==")]] {
        let err = datasets.part_urls(&ann_c, &ds.id, upload, PartUrlsRequest { parts: bad.clone() }).await.unwrap_err().to_api();
        assert_eq!((err.kind, err.field.as_deref()), (ErrorKind::Invalid, Some("parts")), "{bad:?}: {}", err.message);
    }
    put_part(&datasets, &ann_c, &ds.id, upload, 1, body[..8 * MIB].to_vec()).await;
    let err = datasets.complete_upload(&ann_c, &ds.id, upload).await.unwrap_err().to_api();
    assert!(err.message.contains("part(s) 2 have not arrived"), "{}", err.message);

    // After a reload, or on another device: the upload and its stored parts.
    let pending = datasets.pending_uploads(&ann_c, &ds.id).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].multipart.as_ref().unwrap().done, vec![1]);
    assert!(datasets.pending_uploads(&ben_c, &ds.id).await.unwrap().is_empty(), "others' uploads are not listed");
    assert_eq!(datasets.complete_upload(&ben_c, &ds.id, upload).await.unwrap_err().to_api().kind, ErrorKind::NotFound);
    assert_eq!(datasets.cancel_upload(&ben_c, &ds.id, upload).await.unwrap_err().to_api().kind, ErrorKind::NotFound);

    // A part of the wrong size, or with other bytes than declared, is refused
    // by a store that checks what was signed and named by completion on one
    // that does not (moto); either way it can be sent again.
    let (_, taken) = send_part(&datasets, &ann_c, &ds.id, upload, 2, &[1; 5], vec![1; 5]).await;
    let err = datasets.complete_upload(&ann_c, &ds.id, upload).await.unwrap_err().to_api();
    let named = if taken { "part 2 has 5 bytes but should have 100" } else { "part(s) 2 have not arrived" };
    assert!(err.message.contains(named), "{}", err.message);
    let (_, taken) = send_part(&datasets, &ann_c, &ds.id, upload, 2, &body[8 * MIB..], vec![9; 100]).await;
    assert_eq!(taken, f.backend == agora_testkit::Backend::Moto, "the embedded endpoint checks Content-MD5");
    if taken {
        let err = datasets.complete_upload(&ann_c, &ds.id, upload).await.unwrap_err().to_api();
        assert_eq!(err.field.as_deref(), Some("parts"));
        assert!(err.message.contains("part 2 holds other bytes than declared"), "{}", err.message);
        assert!(!err.message.contains(&agora_testkit::md5_b64(&[9; 100])), "what arrived is not described: {}", err.message);
    }
    let last_url = put_part(&datasets, &ann_c, &ds.id, upload, 2, body[8 * MIB..].to_vec()).await;
    let file = datasets.complete_upload(&ann_c, &ds.id, upload).await.unwrap();
    assert_eq!((file.path.as_str(), file.size), ("weights/model.bin", size as u64));
    assert!(file.etag.ends_with("-2"), "{}", file.etag);
    let key = format!("ds/{}/files/weights/model.bin", ds.id);
    assert!(f.storage.get(&key, None).await.unwrap().body[..] == body[..], "the parts make the file");
    assert_eq!(f.storage.get_tags(&key).await.unwrap(), vec![Tag::new("kind", "model")]);
    assert!(datasets.pending_uploads(&ann_c, &ds.id).await.unwrap().is_empty());
    let reused = reqwest::Client::new().put(&last_url).body(vec![0; 100]).send().await.unwrap();
    assert!(!reused.status().is_success(), "a part URL is dead once the upload completed");
    assert!(f.storage.get(&key, None).await.unwrap().body[..] == body[..]);
    assert_eq!(datasets.complete_upload(&ann_c, &ds.id, upload).await.unwrap_err().to_api().kind, ErrorKind::NotFound);

    // The same path again is a conflict unless asked to replace.
    let err = datasets.start_upload(&ann_c, &ds.id, request.clone()).await.unwrap_err().to_api();
    assert_eq!(err.kind, ErrorKind::Conflict);

    // Cancelling drops the sent parts; deleting the dataset stops the rest.
    let replace = UploadRequest { on_conflict: Some(agora_model::files::OnConflict::Replace), ..request.clone() };
    let cancelled = datasets.start_upload(&ann_c, &ds.id, replace.clone()).await.unwrap();
    let url = put_part(&datasets, &ann_c, &ds.id, &cancelled.upload_id, 1, body[..8 * MIB].to_vec()).await;
    datasets.cancel_upload(&ann_c, &ds.id, &cancelled.upload_id).await.unwrap();
    assert!(datasets.pending_uploads(&ann_c, &ds.id).await.unwrap().is_empty());
    assert!(!reqwest::Client::new().put(&url).body(vec![0; 10]).send().await.unwrap().status().is_success());
    assert!(f.storage.get(&key, None).await.unwrap().body[..] == body[..], "cancelling a replacement keeps the old file");

    let unfinished = datasets.start_upload(&ann_c, &ds.id, replace).await.unwrap();
    let url = put_part(&datasets, &ann_c, &ds.id, &unfinished.upload_id, 1, body[..8 * MIB].to_vec()).await;
    let job = datasets.delete(&ann_c, &ds.id).await.unwrap();
    datasets.run_deletion(&job.id).await.unwrap();
    assert!(!reqwest::Client::new().put(&url).body(vec![0; 10]).send().await.unwrap().status().is_success());
});

both_backends!(abandoned_uploads_and_orphaned_staging_objects_are_swept, |f: Fixture| async move {
    use agora_model::files::UploadRequest;
    let (datasets, _, _, ann, _) = setup(&f, 10).await;
    let ann_c = session(&ann);
    let ds = datasets.create(&ann_c, new("sweep")).await.unwrap();
    let md5 = Some(agora_testkit::md5_b64(b"hello"));
    let request = UploadRequest { path: "a.txt".into(), size: 5, content_type: None, labels: vec![], on_conflict: None, md5 };
    let ticket = datasets.start_upload(&ann_c, &ds.id, request).await.unwrap();
    let put = ticket.put.unwrap();
    let mut request = reqwest::Client::new().put(&put.url).body("hello");
    for (name, value) in &put.headers {
        request = request.header(name, value);
    }
    assert!(request.send().await.unwrap().status().is_success());
    let orphan = format!("ds/{}/staging/{}", ds.id, "f".repeat(32));
    f.storage.put(&orphan, Bytes::from_static(b"left over"), PutOptions::default()).await.unwrap();
    let (hour, now) = (std::time::Duration::from_secs(3600), std::time::Duration::ZERO);
    assert_eq!(datasets.sweep_uploads(&ds.id, hour, hour).await.unwrap(), 0, "young uploads and orphans stay");
    assert_eq!(datasets.sweep_uploads(&ds.id, hour, now).await.unwrap(), 1, "the orphan goes, the open upload stays");
    assert!(f.storage.head(&orphan).await.is_err());
    assert_eq!(datasets.pending_uploads(&ann_c, &ds.id).await.unwrap().len(), 1);
    assert_eq!(datasets.sweep_uploads(&ds.id, now, now).await.unwrap(), 1, "the abandoned upload goes");
    assert!(datasets.pending_uploads(&ann_c, &ds.id).await.unwrap().is_empty());
    let left = f.storage.list(&ListOptions { prefix: format!("ds/{}/staging/", ds.id), ..Default::default() }).await.unwrap();
    assert!(left.objects.is_empty(), "{:?}", left.objects);

    // A URL used again after its upload completed writes an orphan, which
    // the next sweep takes; the file stays.
    let request = UploadRequest {
        path: "b.txt".into(),
        size: 5,
        content_type: None,
        labels: vec![],
        on_conflict: None,
        md5: Some(agora_testkit::md5_b64(b"hello")),
    };
    let ticket = datasets.start_upload(&ann_c, &ds.id, request).await.unwrap();
    let put = ticket.put.unwrap();
    let send = || {
        let mut request = reqwest::Client::new().put(&put.url).body("hello");
        for (name, value) in &put.headers {
            request = request.header(name, value);
        }
        request.send()
    };
    assert!(send().await.unwrap().status().is_success());
    datasets.complete_upload(&ann_c, &ds.id, &ticket.upload_id).await.unwrap();
    assert!(send().await.unwrap().status().is_success(), "the URL still signs one write of the declared bytes");
    assert_eq!(datasets.sweep_uploads(&ds.id, hour, now).await.unwrap(), 1);
    let left = f.storage.list(&ListOptions { prefix: format!("ds/{}/staging/", ds.id), ..Default::default() }).await.unwrap();
    assert!(left.objects.is_empty(), "{:?}", left.objects);
    assert_eq!(f.storage.get(&format!("ds/{}/files/b.txt", ds.id), None).await.unwrap().body, Bytes::from_static(b"hello"));
});

/// Uploads `body` to `path` through the presigned flow.
async fn upload(datasets: &Datasets, caller: &Caller, id: &str, path: &str, content_type: &str, body: &'static [u8]) {
    use agora_model::files::UploadRequest;
    let request = UploadRequest {
        path: path.into(),
        size: body.len() as u64,
        content_type: Some(content_type.into()),
        labels: vec![],
        on_conflict: None,
        md5: Some(agora_testkit::md5_b64(body)),
    };
    let ticket = datasets.start_upload(caller, id, request).await.unwrap();
    let put = ticket.put.unwrap();
    let mut request = reqwest::Client::new().put(&put.url).body(body);
    for (name, value) in &put.headers {
        request = request.header(name, value);
    }
    assert!(request.send().await.unwrap().status().is_success());
    datasets.complete_upload(caller, id, &ticket.upload_id).await.unwrap();
}

/// A preview link shows raster images and text inline, as a passive type;
/// anything a browser could run (HTML, SVG, unknown) comes as an attachment,
/// and storage never lets a browser guess a type.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn previews_never_serve_a_page_that_runs() {
    let f = agora_testkit::fixture(agora_testkit::Backend::Embedded).await;
    let _files = f.guard();
    let (datasets, _, _, ann, _) = setup(&f, 10).await;
    let ann_c = session(&ann);
    let ds = datasets.create(&ann_c, new("previews")).await.unwrap();
    let page: &'static [u8] = b"<script>fetch('/api/v1/me')</script>";
    for (path, stored_as, served_as, inline) in [
        ("page.html", "text/html", "text/html", false),
        ("logo.svg", "image/svg+xml", "image/svg+xml", false),
        ("page.txt", "text/html", "text/plain; charset=utf-8", true),
        ("cat.png", "text/html", "image/png", true),
        ("data.bin", "text/html", "text/html", false),
    ] {
        upload(&datasets, &ann_c, &ds.id, path, stored_as, page).await;
        let link = datasets.download(&ann_c, &ds.id, path, false).await.unwrap();
        let response = reqwest::get(&link.url).await.unwrap();
        let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("content-type"), served_as, "{path}");
        let disposition = header("content-disposition");
        assert_eq!(disposition.starts_with("inline"), inline, "{path}: {disposition}");
        assert_eq!(disposition.starts_with("attachment"), !inline, "{path}: {disposition}");
    }
}

both_backends!(a_log_watcher_gets_the_last_lines_and_the_download_the_whole_log, |f: Fixture| async move {
    use futures::StreamExt;
    let (datasets, _, _, ann, _) = setup(&f, 10).await;
    let ann_c = session(&ann);
    let ds = datasets.create(&ann_c, new("Logs")).await.unwrap();
    let run = datasets.start_run(&ann_c, &ds.id, agora_model::runs::NewRun { name: "long".into(), ..Default::default() }).await.unwrap();
    // Five chunks: 1,500 + 300 + 300 + 300 + 300 lines, so the tail spans four.
    let mut all = Vec::new();
    for (chunk, count) in [1500, 300, 300, 300, 300].into_iter().enumerate() {
        let lines: Vec<String> = (0..count).map(|n| format!("chunk {chunk} line {n}")).collect();
        all.extend(lines.clone());
        datasets.append_log(&ann_c, &ds.id, &run.id, lines).await.unwrap();
    }
    let (tail, last, _live) = datasets.watch_log(&ann_c, &ds.id, &run.id).await.unwrap();
    assert_eq!(tail.len(), agora_core::datasets::runs::TAIL_LINES);
    assert_eq!(tail[..], all[all.len() - tail.len()..], "the newest lines, in order");
    let newest = datasets.log_chunks(&ds.id, &run.id, None).await.unwrap().pop().unwrap();
    assert_eq!(last, Some(newest.key), "the key of the last chunk, to follow from");

    let mut download = Vec::new();
    let mut body = Box::pin(datasets.log_text(&ann_c, &ds.id, &run.id).await.unwrap());
    while let Some(chunk) = body.next().await {
        download.extend_from_slice(&chunk.unwrap());
    }
    let expected: String = all.iter().map(|line| format!("{line}\n")).collect();
    assert_eq!(String::from_utf8(download).unwrap(), expected);
    // Someone without access gets neither.
    let stranger = session(&user(&Accounts::new(f.storage.clone()), "stranger").await);
    assert!(datasets.watch_log(&stranger, &ds.id, &run.id).await.is_err());
    assert!(datasets.log_text(&stranger, &ds.id, &run.id).await.is_err());
});
