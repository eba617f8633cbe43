//! The search index as the listing engine, against the embedded endpoint and
//! moto: filters, sorting, counts, bulk labels, rebuild, reconcile, and two
//! nodes sharing one bucket through the journal.

use std::time::{Duration, Instant};

use agora_core::accounts::Accounts;
use agora_core::auth::caller::Caller;
use agora_core::datasets::{DatasetLimits, Datasets};
use agora_core::index::journal::{Cursor, Indexer};
use agora_core::index::SearchIndex;
use agora_core::storage::PutOptions;
use agora_model::datasets::NewDataset;
use agora_model::files::{BulkLabelsRequest, FilePage, FileQuery, FileSort, UploadRequest};
use agora_model::sharing::Visibility;
use agora_model::tags::Tag;
use agora_model::ErrorKind;
use agora_testkit::people::{admin, session, user};
use agora_testkit::{both_backends, Fixture};
use bytes::Bytes;

fn node(f: &Fixture, accounts: &Accounts, index: Indexer) -> Datasets {
    Datasets::new(f.storage.clone(), accounts.clone(), DatasetLimits::default(), index)
}

/// The same presign → PUT → complete flow a browser runs.
async fn upload(datasets: &Datasets, caller: &Caller, id: &str, path: &str, body: &[u8], labels: Vec<Tag>) {
    let md5 = Some(agora_testkit::md5_b64(body));
    let request = UploadRequest { path: path.into(), size: body.len() as u64, content_type: None, labels, on_conflict: None, md5 };
    let ticket = datasets.start_upload(caller, id, request).await.unwrap();
    let put = ticket.put.unwrap();
    let mut request = reqwest::Client::new().put(&put.url).body(body.to_vec());
    for (name, value) in &put.headers {
        request = request.header(name, value);
    }
    assert!(request.send().await.unwrap().status().is_success());
    datasets.complete_upload(caller, id, &ticket.upload_id).await.unwrap();
}

fn query(folder: &str) -> FileQuery {
    FileQuery { folder: folder.into(), ..Default::default() }
}

fn names(page: &FilePage) -> Vec<&str> {
    page.files.iter().map(|f| f.path.as_str()).collect()
}

async fn ann_with_files(f: &Fixture, datasets: &Datasets, accounts: &Accounts) -> (Caller, String) {
    let ann = session(&user(accounts, "ann").await);
    let ds = datasets
        .create(&ann, NewDataset { name: "pets".into(), description: "cats and dogs".into(), visibility: Visibility::Private })
        .await
        .unwrap();
    let train = || vec![Tag::new("split", "train")];
    upload(datasets, &ann, &ds.id, "cats/tom.jpg", b"0123456789", train()).await;
    upload(datasets, &ann, &ds.id, "cats/felix.jpg", b"0123", vec![Tag::new("split", "test")]).await;
    upload(datasets, &ann, &ds.id, "dogs/rex.png", b"01234567", train()).await;
    upload(datasets, &ann, &ds.id, "dogs/old/fido.png", b"012", train()).await;
    upload(datasets, &ann, &ds.id, "README.md", b"0123456", vec![]).await;
    let _ = f;
    (ann, ds.id)
}

both_backends!(folders_filters_sorting_and_counts_come_from_the_index, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    let datasets = node(&f, &accounts, Indexer::local(SearchIndex::in_memory()));
    let (ann, id) = ann_with_files(&f, &datasets, &accounts).await;

    // The top folder: its file, and sub-folders with their file counts.
    let top = datasets.list_files(&ann, &id, query("")).await.unwrap();
    assert_eq!(names(&top), ["README.md"]);
    let folders: Vec<(&str, u64)> = top.folders.iter().map(|f| (f.path.as_str(), f.files)).collect();
    assert_eq!(folders, [("cats/", 2), ("dogs/", 2)]);
    let dogs = datasets.list_files(&ann, &id, query("dogs/")).await.unwrap();
    assert_eq!((names(&dogs), dogs.folders[0].path.as_str()), (vec!["dogs/rex.png"], "dogs/old/"));

    // A label filter lists matching files at any depth, with counts of the rest.
    let train = FileQuery { labels: vec!["split=train".into()], ..query("") };
    let page = datasets.list_files(&ann, &id, train).await.unwrap();
    assert_eq!(names(&page), ["cats/tom.jpg", "dogs/old/fido.png", "dogs/rex.png"]);
    assert!(page.folders.is_empty());
    let all = datasets.list_files(&ann, &id, FileQuery { labels: vec!["split".into()], ..query("") }).await.unwrap();
    assert_eq!(all.total, 4, "a key alone matches any value");
    let counts: Vec<(&str, u64)> = all.facets.iter().map(|c| (c.label.as_str(), c.count)).collect();
    assert_eq!(counts, [("split=train", 3), ("split=test", 1)]);

    // Names, sorting, paging.
    let by_name = datasets.list_files(&ann, &id, FileQuery { name: Some("FE".into()), ..query("") }).await.unwrap();
    assert_eq!(names(&by_name), ["cats/felix.jpg"]);
    let biggest = FileQuery { labels: vec!["split".into()], sort: FileSort::Size, descending: true, limit: Some(2), ..query("") };
    let page = datasets.list_files(&ann, &id, biggest.clone()).await.unwrap();
    assert_eq!((names(&page), page.total), (vec!["cats/tom.jpg", "dogs/rex.png"], 4));
    let page = datasets.list_files(&ann, &id, FileQuery { offset: 2, ..biggest }).await.unwrap();
    assert_eq!(names(&page), ["cats/felix.jpg", "dogs/old/fido.png"]);

    // Bad input names the field; others see nothing.
    let err = datasets.list_files(&ann, &id, FileQuery { limit: Some(5000), ..query("") }).await.unwrap_err().to_api();
    assert_eq!(err.field.as_deref(), Some("limit"));
    let ben = session(&user(&accounts, "ben").await);
    assert_eq!(datasets.list_files(&ben, &id, query("")).await.unwrap_err().to_api().kind, ErrorKind::NotFound);
});

both_backends!(bulk_labels_change_many_files_and_report_each_failure, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    let datasets = node(&f, &accounts, Indexer::local(SearchIndex::in_memory()));
    let (ann, id) = ann_with_files(&f, &datasets, &accounts).await;
    let full: Vec<Tag> = (0..10).map(|i| Tag::new(format!("k{i}"), "v")).collect();
    datasets.set_labels(&ann, &id, "README.md", full).await.unwrap();

    let request = BulkLabelsRequest {
        paths: vec!["cats/tom.jpg".into(), "dogs/rex.png".into(), "README.md".into(), "gone.txt".into()],
        add: vec![Tag::new("reviewed", "yes")],
        remove: vec!["split".into()],
    };
    let result = datasets.bulk_labels(&ann, &id, request).await.unwrap();
    assert_eq!(result.changed, 2);
    let reasons: Vec<(&str, &str)> = result.failed.iter().map(|f| (f.path.as_str(), f.reason.as_str())).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(reasons[0].0 == "README.md" && reasons[0].1.contains("10"), "{reasons:?}");
    assert_eq!(reasons[1], ("gone.txt", "no such file"));
    // Visible in listings at once (read-your-writes), and stored as tags.
    let reviewed = datasets.list_files(&ann, &id, FileQuery { labels: vec!["reviewed=yes".into()], ..query("") }).await.unwrap();
    assert_eq!(names(&reviewed), ["cats/tom.jpg", "dogs/rex.png"]);
    assert_eq!(reviewed.files[0].labels, vec![Tag::new("reviewed", "yes")]);
    let key = format!("ds/{id}/files/dogs/rex.png");
    assert_eq!(f.storage.get_tags(&key).await.unwrap(), vec![Tag::new("reviewed", "yes")]);
    let again = BulkLabelsRequest { paths: vec!["cats/tom.jpg".into()], add: vec![Tag::new("reviewed", "yes")], remove: vec![] };
    assert_eq!(datasets.bulk_labels(&ann, &id, again).await.unwrap().unchanged, 1);
    let bad = BulkLabelsRequest { paths: vec!["x".into()], add: vec![Tag::new("aws:x", "1")], remove: vec![] };
    assert_eq!(datasets.bulk_labels(&ann, &id, bad).await.unwrap_err().to_api().field.as_deref(), Some("add"));

    // Deleting a file: gone from storage and from listings at once.
    datasets.delete_file(&ann, &id, "dogs/rex.png").await.unwrap();
    assert!(f.storage.head(&key).await.is_err());
    assert_eq!(names(&datasets.list_files(&ann, &id, query("dogs/")).await.unwrap()), Vec::<&str>::new());
    assert_eq!(datasets.delete_file(&ann, &id, "dogs/rex.png").await.unwrap_err().to_api().kind, ErrorKind::NotFound);
    assert_eq!(datasets.delete_file(&ann, &id, "../x").await.unwrap_err().to_api().field.as_deref(), Some("path"));
});

both_backends!(a_rebuild_from_the_bucket_answers_like_the_live_index, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    let live = node(&f, &accounts, Indexer::local(SearchIndex::in_memory()));
    let (ann, id) = ann_with_files(&f, &live, &accounts).await;
    live.set_labels(&ann, &id, "README.md", vec![Tag::new("doc", "")]).await.unwrap();
    let queries = [
        query(""),
        query("dogs/"),
        FileQuery { labels: vec!["split=train".into()], sort: FileSort::Size, ..query("") },
        FileQuery { name: Some("o".into()), sort: FileSort::Modified, descending: true, ..query("") },
    ];
    let rebuilt = node(&f, &accounts, Indexer::local(SearchIndex::in_memory()));
    let state = rebuilt.rebuild_index(|_| {}).await.unwrap();
    assert_eq!((state.done, state.total), (2, 2), "one dataset, then the dashboards");
    for q in queries {
        let (a, b) = (live.list_files(&ann, &id, q.clone()).await.unwrap(), rebuilt.list_files(&ann, &id, q.clone()).await.unwrap());
        assert_eq!(a, b, "{q:?}");
    }
});

both_backends!(the_reconciler_repairs_what_the_index_missed, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    let datasets = node(&f, &accounts, Indexer::local(SearchIndex::in_memory()));
    let (ann, id) = ann_with_files(&f, &datasets, &accounts).await;
    // A crash between storage and index: a file the index never heard of,
    // and one deleted behind its back.
    let tags = vec![Tag::new("split", "train")];
    let options = PutOptions { tags, ..Default::default() };
    f.storage.put(&format!("ds/{id}/files/cats/new.jpg"), Bytes::from_static(b"12"), options).await.unwrap();
    f.storage.delete(&format!("ds/{id}/files/README.md")).await.unwrap();
    assert_eq!(datasets.reconcile(&id).await.unwrap(), 2);
    let top = datasets.list_files(&ann, &id, query("")).await.unwrap();
    assert!(top.files.is_empty());
    let cats = datasets.list_files(&ann, &id, query("cats/")).await.unwrap();
    assert_eq!(names(&cats), ["cats/felix.jpg", "cats/new.jpg", "cats/tom.jpg"]);
    assert_eq!(cats.files[1].labels, vec![Tag::new("split", "train")]);
    assert_eq!(datasets.reconcile(&id).await.unwrap(), 0, "nothing left to repair");
});

both_backends!(a_label_set_on_one_node_is_found_on_another_within_two_seconds, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    let a = node(&f, &accounts, Indexer::shared(SearchIndex::in_memory(), f.storage.clone()));
    let b = node(&f, &accounts, Indexer::shared(SearchIndex::in_memory(), f.storage.clone()));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    b.keep_index_in_step(Cursor::now(), Duration::from_millis(200), async move {
        let _ = stop_rx.await;
    });
    let (ann, id) = ann_with_files(&f, &a, &accounts).await;
    a.set_labels(&ann, &id, "dogs/rex.png", vec![Tag::new("good", "boy")]).await.unwrap();
    let set = Instant::now();
    let wanted = FileQuery { labels: vec!["good=boy".into()], ..query("") };
    loop {
        match b.list_files(&ann, &id, wanted.clone()).await {
            Ok(page) if page.total == 1 => break,
            _ if set.elapsed() > Duration::from_secs(2) => panic!("node B did not see the label within 2 s"),
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert_eq!(b.list_files(&ann, &id, query("cats/")).await.unwrap().total, 2, "B has A's uploads too");
    let _ = stop_tx.send(());
});

both_backends!(search_finds_only_what_the_caller_may_read, |f: Fixture| async move {
    use agora_model::search::{HitKind, SearchRequest};
    let accounts = Accounts::new(f.storage.clone());
    let datasets = node(&f, &accounts, Indexer::local(SearchIndex::in_memory()));
    // The first account is the admin, who may read everything; ann is not.
    let root = session(&admin(&accounts, "root").await);
    let (ann, _) = ann_with_files(&f, &datasets, &accounts).await;
    let ben = session(&user(&accounts, "ben").await);
    let carl = session(&user(&accounts, "carl").await);
    let birds = datasets
        .create(&ben, NewDataset { name: "birds".into(), description: "garden birds".into(), visibility: Visibility::Public })
        .await
        .unwrap();
    upload(&datasets, &ben, &birds.id, "robin.jpg", b"tweet", vec![Tag::new("split", "train")]).await;
    let secret = datasets
        .create(&carl, NewDataset { name: "plans".into(), description: String::new(), visibility: Visibility::Private })
        .await
        .unwrap();
    upload(&datasets, &carl, &secret.id, "felix-secret.txt", b"shh", vec![Tag::new("split", "train")]).await;

    let search = |caller: Caller, q: &str| {
        let datasets = datasets.clone();
        let request = SearchRequest { q: q.into(), ..Default::default() };
        async move {
            let index = datasets.index().search().clone();
            index.read(move |s, f| agora_core::index::search::search(s, f, &caller, &request)).await.unwrap()
        }
    };
    let paths = |r: &agora_model::search::SearchResults| -> Vec<String> {
        let mut p: Vec<String> = r.hits.iter().filter_map(|h| h.path.clone()).collect();
        p.sort();
        p
    };

    // Words, typos, highlights — and carl's file named felix stays hidden.
    let found = search(ann.clone(), "felix").await;
    assert_eq!(paths(&found), ["cats/felix.jpg"]);
    assert!(found.hits[0].title.iter().any(|f| f.hit && f.text == "felix"), "{:?}", found.hits[0].title);
    assert_eq!(paths(&search(ann.clone(), "felx").await), ["cats/felix.jpg"], "one typo is forgiven");
    assert_eq!(search(ann.clone(), "fel").await.total, 0, "short words must match exactly");
    // Labels: counts and facets cover only readable files.
    let labelled = search(ann.clone(), "label:split=train").await;
    assert_eq!(paths(&labelled), ["cats/tom.jpg", "dogs/old/fido.png", "dogs/rex.png", "robin.jpg"]);
    assert_eq!(labelled.facets.iter().find(|c| c.label == "split=train").map(|c| c.count), Some(4));
    let carls = search(carl.clone(), "label:split=train").await;
    assert_eq!(paths(&carls), ["felix-secret.txt", "robin.jpg"]);
    // Anonymous callers see public datasets only.
    let anyone = search(Caller::anonymous(None), "").await;
    assert_eq!((anyone.datasets, anyone.files), (1, 1));
    assert_eq!(anyone.hits.iter().filter(|h| h.kind == HitKind::Dataset).count(), 1);
    // Phrases, exclusions, types; broken syntax degrades.
    assert_eq!(search(ann.clone(), "\"garden birds\"").await.datasets, 1);
    assert_eq!(paths(&search(ann.clone(), "type:image -tom -felix -rex").await), ["dogs/old/fido.png", "robin.jpg"]);
    assert_eq!(search(root, "felix").await.files, 2, "administrators read everything");
    // The cached search (what the routes use) sees a share at once.
    let cached = |caller: Caller| {
        let index = datasets.index().search().clone();
        async move { index.search(&caller, SearchRequest { q: "felix".into(), ..Default::default() }).await.unwrap().files }
    };
    assert_eq!(cached(ben.clone()).await, 0);
    let pets = datasets.list(&ann).await.unwrap().into_iter().find(|d| d.name == "pets").unwrap();
    let share = agora_model::datasets::ShareRequest { username: "ben".into(), role: Some(agora_model::sharing::MemberRole::Viewer) };
    datasets.share(&ann, &pets.id, share).await.unwrap();
    assert_eq!(cached(ben.clone()).await, 1, "a share shows in the next search");
    let broken = search(ann.clone(), "\"dogs (((").await;
    assert!(!broken.notes.is_empty());
    assert_eq!(broken.files, 2, "dogs/rex.png and dogs/old/fido.png");
});

both_backends!(images_get_thumbnails_in_the_background, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    let datasets = node(&f, &accounts, Indexer::local(SearchIndex::in_memory()));
    let ann = session(&user(&accounts, "ann").await);
    let ds = datasets
        .create(&ann, NewDataset { name: "pics".into(), description: String::new(), visibility: Visibility::Private })
        .await
        .unwrap();
    let mut png = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_fn(640, 480, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 90]))
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    upload(&datasets, &ann, &ds.id, "cats/tom.png", png.get_ref(), vec![]).await;
    upload(&datasets, &ann, &ds.id, "notes.txt", b"not an image", vec![]).await;
    let key = format!("ds/{}/thumbs/cats/tom.png.jpg", ds.id);
    let started = Instant::now();
    while f.storage.head(&key).await.is_err() {
        assert!(started.elapsed() < Duration::from_secs(10), "no thumbnail after 10 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let links = datasets.thumbnails(&ann, &ds.id, &["cats/tom.png".into(), "notes.txt".into()]).await.unwrap();
    assert_eq!(links.len(), 1, "only images have thumbnails");
    let jpeg = reqwest::get(&links[0].1).await.unwrap().bytes().await.unwrap();
    let thumb = image::load_from_memory(&jpeg).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (256, 192));
    let ben = session(&user(&accounts, "ben").await);
    assert_eq!(datasets.thumbnails(&ben, &ds.id, &["cats/tom.png".into()]).await.unwrap_err().to_api().kind, ErrorKind::NotFound);
});
