//! Dashboards, against the embedded endpoint and moto: optimistic saves,
//! protection, sharing, the storage budget's eviction order, export and
//! import, listing and search.

use std::time::Duration;

use agora_core::accounts::Accounts;
use agora_core::auth::caller::Caller;
use agora_core::dashboards::budget::Budget;
use agora_core::dashboards::document_schema::DocumentSchema;
use agora_core::dashboards::transfer::Selection;
use agora_core::dashboards::{Change, DashboardLimits, Dashboards};
use agora_core::index::journal::Indexer;
use agora_core::index::SearchIndex;
use agora_model::dashboards::{Panel, PanelContent};
use agora_model::search::{HitKind, SearchRequest};
use agora_model::sharing::{MemberRole, Visibility};
use agora_model::ErrorKind;
use agora_testkit::people::{admin, session, user};
use agora_testkit::{both_backends, Fixture};
use serde_json::json;

fn figure() -> Panel {
    let figure = json!({"data": [{"type": "scatter", "x": [1, 2, 3], "y": [0.9, 0.5, 0.3]}], "layout": {"title": {"text": "loss"}}});
    Panel { title: "Loss".into(), x: 0, y: 0, w: 6, h: 4, content: PanelContent::Figure { figure } }
}

fn note(text: &str) -> Panel {
    Panel { title: "Notes".into(), x: 6, y: 0, w: 6, h: 4, content: PanelContent::Markdown { text: text.into() } }
}

fn node(f: &Fixture, accounts: &Accounts, index: &Indexer, limits: DashboardLimits) -> Dashboards {
    Dashboards::new(f.storage.clone(), accounts.clone(), index.clone(), limits)
}

/// The stored bytes of a dashboard with a one-letter title and one note
/// of `text` (made and deleted again).
async fn stored_size(f: &Fixture, accounts: &Accounts, index: &Indexer, owner: &Caller, text: &str) -> u64 {
    let probe = node(f, accounts, index, DashboardLimits::default());
    let made = probe.create(owner, "z", "", vec![note(text)]).await.unwrap();
    probe.delete(owner, &made.record.id).await.unwrap();
    made.bytes
}

fn limits(max_bytes: u64) -> DashboardLimits {
    DashboardLimits { max_bytes, ..Default::default() }
}

both_backends!(dashboards_save_optimistically_and_protected_ones_refuse_every_write, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    let admin = session(&admin(&accounts, "admin").await);
    let ann = session(&user(&accounts, "ann").await);
    let ben = session(&user(&accounts, "ben").await);
    let index = Indexer::local(SearchIndex::in_memory());
    let dashboards = node(&f, &accounts, &index, limits(64 * 1024));

    let made = dashboards.create(&ann, " Training ", "runs of week 47", vec![figure()]).await.unwrap();
    assert_eq!(made.record.title, "Training");
    assert_eq!(dashboards.get(&ben, &made.record.id).await.unwrap_err().kind, ErrorKind::NotFound, "private");
    let got = dashboards.get(&ann, &made.record.id).await.unwrap();
    assert_eq!((got.record.panels.len(), &got.version), (1, &made.version));

    // Two saves from the same version at once: exactly one wins, the other is a conflict.
    let first = Change { title: Some("Training v2".into()), version: got.version.clone(), ..Default::default() };
    let second = Change { title: Some("Training v3".into()), version: got.version.clone(), ..Default::default() };
    let (a, b) = tokio::join!(dashboards.update(&ann, &made.record.id, first), dashboards.update(&ann, &made.record.id, second));
    let (won, lost) = match (a, b) {
        (Ok(won), Err(lost)) | (Err(lost), Ok(won)) => (won, lost),
        other => panic!("exactly one save must win: {other:?}"),
    };
    assert_eq!((lost.kind, lost.field.as_deref()), (ErrorKind::Conflict, Some("version")));
    assert_eq!(dashboards.get(&ann, &made.record.id).await.unwrap().record.title, won.record.title, "nothing was overwritten");
    let saved = won;

    // Bad input names the field and changes nothing; too large is a 413 with the size and the limit.
    let broken = Panel { content: PanelContent::Figure { figure: json!({"data": 1}) }, ..figure() };
    let bad = Change { panels: Some(vec![figure(), broken]), version: saved.version.clone(), ..Default::default() };
    assert_eq!(dashboards.update(&ann, &made.record.id, bad).await.unwrap_err().field.as_deref(), Some("panels[1].figure"));
    let huge = Panel { content: PanelContent::Markdown { text: "x".repeat(70_000) }, ..figure() };
    let big = Change { panels: Some(vec![huge]), version: saved.version.clone(), ..Default::default() };
    let err = dashboards.update(&ann, &made.record.id, big).await.unwrap_err();
    assert!(err.kind == ErrorKind::TooLarge && err.message.contains("65536") && err.message.contains("70"), "{}", err.message);
    assert_eq!(dashboards.get(&ann, &made.record.id).await.unwrap().version, saved.version, "rejected saves changed nothing");

    // An operator's schema is enforced with the place of the violation.
    let strict = DocumentSchema::parse(r#"{"properties": {"panels": {"items": {"properties": {"figure": {"properties": {"data": {"items": {"properties": {"type": {"enum": ["bar"]}}}}}}}}}}}"#).unwrap();
    let strict = node(&f, &accounts, &index, DashboardLimits { schema: strict, ..Default::default() });
    let err = strict.create(&ann, "scatter", "", vec![figure()]).await.unwrap_err();
    assert_eq!(err.field.as_deref(), Some("panels[0].figure.data[0].type"), "{}", err.message);
    assert!(err.message.contains("schema"), "{}", err.message);

    // Anyone with the link reads a public one; only the owner makes it public.
    let public = Change { visibility: Some(Visibility::Public), version: saved.version.clone(), ..Default::default() };
    assert_eq!(dashboards.update(&ben, &made.record.id, public.clone()).await.unwrap_err().kind, ErrorKind::NotFound);
    let saved = dashboards.update(&ann, &made.record.id, public).await.unwrap();
    assert!(dashboards.get(&Caller::anonymous(None), &made.record.id).await.is_ok());
    let view = dashboards.view(&Caller::anonymous(None), &saved).await;
    assert!(!view.editable && !view.manageable && view.members.is_empty());

    // Protected: read-only for everyone (every write path), implicitly
    // whitelisted; unprotecting keeps the whitelist.
    assert_eq!(dashboards.set_flags(&ann, &made.record.id, None, Some(true)).await.unwrap_err().kind, ErrorKind::Forbidden);
    let flagged = dashboards.set_flags(&admin, &made.record.id, None, Some(true)).await.unwrap();
    assert!(flagged.protected && flagged.whitelisted);
    let change = Change { title: Some("x".into()), version: saved.version.clone(), ..Default::default() };
    for who in [&ann, &admin] {
        assert_eq!(dashboards.update(who, &made.record.id, change.clone()).await.unwrap_err().kind, ErrorKind::Forbidden);
        assert_eq!(dashboards.share(who, &made.record.id, "ben", Some(MemberRole::Viewer)).await.unwrap_err().kind, ErrorKind::Forbidden);
        assert_eq!(dashboards.delete(who, &made.record.id).await.unwrap_err().kind, ErrorKind::Forbidden);
    }
    assert!(!dashboards.view(&ann, &flagged).await.editable);
    let unprotected = dashboards.set_flags(&admin, &made.record.id, None, Some(false)).await.unwrap();
    assert!(!unprotected.protected && unprotected.whitelisted);
    let reloaded = dashboards.get(&ann, &made.record.id).await.unwrap();
    assert!(!reloaded.protected && reloaded.whitelisted, "flags are stored");
    dashboards.delete(&ann, &made.record.id).await.unwrap();
    assert_eq!(dashboards.get(&ann, &made.record.id).await.unwrap_err().kind, ErrorKind::NotFound);
});

both_backends!(sharing_listing_and_search_follow_membership, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    let ann = session(&user(&accounts, "ann").await);
    let ben = session(&user(&accounts, "ben").await);
    let index = Indexer::local(SearchIndex::in_memory());
    let dashboards = node(&f, &accounts, &index, DashboardLimits::default());
    let made = dashboards.create(&ann, "Pets training", "", vec![figure(), note("The **augmentation** run")]).await.unwrap();
    let view = dashboards.view(&ann, &made).await;
    assert_eq!(view.panel_html[1].as_deref(), Some("<p>The <strong>augmentation</strong> run</p>\n"));
    assert_eq!(view.members.len(), 1, "the owner");

    let search = |caller: Caller, q: &str| {
        let index = index.search().clone();
        let request = SearchRequest { q: q.into(), kind: Some(HitKind::Dashboard), ..Default::default() };
        async move { index.search(&caller, request).await.unwrap() }
    };
    assert_eq!(search(ann.clone(), "augmentation").await.hits[0].id, made.record.id, "markdown text is searchable");
    assert_eq!(search(ann.clone(), "loss").await.dashboards, 1, "panel titles are searchable");
    assert_eq!(search(ben.clone(), "augmentation").await.dashboards, 0, "not ben's");
    assert_eq!(dashboards.list(&ben).await.unwrap().total, 0);

    assert_eq!(
        dashboards.share(&ann, &made.record.id, "nobody", Some(MemberRole::Viewer)).await.unwrap_err().field.as_deref(),
        Some("username")
    );
    assert_eq!(dashboards.share(&ben, &made.record.id, "ben", Some(MemberRole::Editor)).await.unwrap_err().kind, ErrorKind::NotFound);
    let shared = dashboards.share(&ann, &made.record.id, "ben", Some(MemberRole::Viewer)).await.unwrap();
    assert_eq!(dashboards.view(&ann, &shared).await.members.iter().map(|m| m.username.as_str()).collect::<Vec<_>>(), ["ann", "ben"]);
    assert_eq!(dashboards.list(&ben).await.unwrap().dashboards[0].id, made.record.id);
    assert_eq!(search(ben.clone(), "augmentation").await.dashboards, 1);
    let got = dashboards.get(&ben, &made.record.id).await.unwrap();
    assert!(!dashboards.view(&ben, &got).await.editable, "a viewer");
    let change = Change { title: Some("mine now".into()), version: got.version.clone(), ..Default::default() };
    assert_eq!(dashboards.update(&ben, &made.record.id, change).await.unwrap_err().kind, ErrorKind::Forbidden);

    // Save as new: ben's own private copy.
    let copy = dashboards.duplicate(&ben, &made.record.id, None).await.unwrap();
    assert_eq!(copy.record.title, "Copy of Pets training");
    assert_eq!(copy.record.owner, ben.user().unwrap().id);
    assert_eq!((copy.record.panels.len(), copy.record.visibility), (2, Visibility::Private));
    assert_eq!(dashboards.list(&ben).await.unwrap().total, 2);
});

both_backends!(eviction_deletes_least_recently_used_and_spares_whitelisted_and_protected, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    let admin = session(&admin(&accounts, "admin").await);
    let ann = session(&user(&accounts, "ann").await);
    let index = Indexer::local(SearchIndex::in_memory());
    let text = "w".repeat(1500);
    // Every dashboard here has the same size: a one-letter title, one panel.
    let size = stored_size(&f, &accounts, &index, &ann, &text).await;
    // Eviction starts at 5.5 dashboards (95 %) and goes down to 3.47 (60 %).
    let total = size * 55 / 10 * 100 / 95;
    let budget = Budget::new(total, 95, 60, None).unwrap();
    let dashboards = node(&f, &accounts, &index, DashboardLimits { budget, ..Default::default() });

    let mut ids = std::collections::HashMap::new();
    for name in ["a", "b", "c", "d", "e"] {
        let made = dashboards.create(&ann, name, "", vec![note(&text)]).await.unwrap();
        ids.insert(name, made.record.id);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    dashboards.set_flags(&admin, &ids["b"], Some(true), None).await.unwrap();
    dashboards.set_flags(&admin, &ids["c"], None, Some(true)).await.unwrap();
    // Viewing "a" makes it the most recently used of the old ones.
    dashboards.get(&ann, &ids["a"]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;
    assert!(dashboards.enforce_budget().await.unwrap().is_empty(), "5 of 5.5: below the threshold");

    let f_made = dashboards.create(&ann, "f", "", vec![note(&text)]).await.unwrap();
    let history = dashboards.evictions().await.unwrap();
    let evicted: Vec<&str> = history.iter().rev().map(|e| ids.iter().find(|(_, id)| **id == e.id).map(|(n, _)| *n).unwrap()).collect();
    assert_eq!(evicted, ["d", "e", "a"], "least recently used first, until 60 %");
    for name in ["a", "d", "e"] {
        assert_eq!(dashboards.get(&ann, &ids[name]).await.unwrap_err().kind, ErrorKind::NotFound);
    }
    for name in ["b", "c"] {
        assert!(dashboards.get(&ann, &ids[name]).await.is_ok(), "{name} is kept");
    }
    assert!(dashboards.get(&ann, &f_made.record.id).await.is_ok());
    assert_eq!(history[0].bytes, size);
    let left = dashboards.list(&ann).await.unwrap();
    assert_eq!(left.total, 3);

    // Nearing the threshold again: the next in line are told.
    let g = dashboards.create(&ann, "g", "", vec![note(&text)]).await.unwrap();
    assert!(left.dashboards.iter().all(|d| !d.at_risk));
    tokio::time::sleep(Duration::from_millis(5)).await;
    dashboards.create(&ann, "h", "", vec![note(&text)]).await.unwrap();
    let at_risk: Vec<String> = dashboards.list(&ann).await.unwrap().dashboards.into_iter().filter(|d| d.at_risk).map(|d| d.title).collect();
    assert_eq!(at_risk.len(), 2, "{at_risk:?}");
    assert!(at_risk.contains(&"f".to_owned()) && at_risk.contains(&g.record.title), "{at_risk:?}");
    let admin_view = dashboards.admin(&admin).await.unwrap();
    assert_eq!((admin_view.storage.dashboards, admin_view.storage.at_risk, admin_view.evictions.len()), (5, 2, 3));
    assert_eq!(dashboards.admin(&ann).await.unwrap_err().kind, ErrorKind::Forbidden);
});

both_backends!(one_owner_filling_the_budget_loses_only_their_own_dashboards, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    let ann = session(&user(&accounts, "ann").await);
    let max = session(&user(&accounts, "max").await);
    let index = Indexer::local(SearchIndex::in_memory());
    let text = "w".repeat(1500);
    let size = stored_size(&f, &accounts, &index, &ann, &text).await;
    // Eviction at 10 dashboards, down to 6.3; each owner's share is 3.
    let budget = Budget::new(size * 10 * 100 / 95, 95, 60, Some(size * 3)).unwrap();
    let dashboards = node(&f, &accounts, &index, DashboardLimits { budget, ..Default::default() });

    // Ann's are the least recently used of all: plain LRU would take them first.
    let mut anns = Vec::new();
    for name in ["a", "b", "c"] {
        anns.push(dashboards.create(&ann, name, "", vec![note(&text)]).await.unwrap().record.id);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for n in 0..15 {
        dashboards.create(&max, &format!("{}", n % 10), "", vec![note(&text)]).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let history = dashboards.evictions().await.unwrap();
    assert!(!history.is_empty(), "max passed the threshold");
    assert!(history.iter().all(|e| e.owner == max.user().unwrap().id), "only max's were evicted: {history:?}");
    for id in &anns {
        assert!(dashboards.get(&ann, id).await.is_ok(), "ann keeps {id}");
    }
    let ann_list = dashboards.list(&ann).await.unwrap();
    assert_eq!((ann_list.own_bytes, ann_list.share_bytes), (size * 3, size * 3));
    assert!(ann_list.dashboards.iter().all(|d| !d.at_risk), "ann's are not at risk while max is over his share");
    let max_list = dashboards.list(&max).await.unwrap();
    assert_eq!(max_list.own_bytes, max_list.total * size, "{} of max's left", max_list.total);
});

both_backends!(export_then_wipe_then_import_gives_back_the_same_documents, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    let admin = session(&admin(&accounts, "admin").await);
    let ann = session(&user(&accounts, "ann").await);
    user(&accounts, "ben").await;
    let index = Indexer::local(SearchIndex::in_memory());
    let dashboards = node(&f, &accounts, &index, DashboardLimits::default());
    let plain = dashboards.create(&ann, "plain", "a plain one", vec![figure()]).await.unwrap();
    let listed = dashboards.create(&ann, "whitelisted", "", vec![note("# kept")]).await.unwrap();
    let locked = dashboards.create(&ann, "protected", "", vec![]).await.unwrap();
    dashboards.share(&ann, &plain.record.id, "ben", Some(MemberRole::Editor)).await.unwrap();
    dashboards.set_flags(&admin, &listed.record.id, Some(true), None).await.unwrap();
    dashboards.set_flags(&admin, &locked.record.id, None, Some(true)).await.unwrap();

    let raw = |id: String| {
        let storage = f.storage.clone();
        async move { storage.get(&format!("db/{id}.json"), None).await.map(|o| o.body) }
    };
    let before = [
        raw(plain.record.id.clone()).await.unwrap(),
        raw(listed.record.id.clone()).await.unwrap(),
        raw(locked.record.id.clone()).await.unwrap(),
    ];
    let file = dashboards.export(Selection::All, |_, _| {}).await.unwrap();
    assert_eq!(file.dashboards.len(), 3);
    assert_eq!(dashboards.export(Selection::Whitelisted, |_, _| {}).await.unwrap().dashboards.len(), 2);
    let text = serde_json::to_string(&file).unwrap();

    // A file with one bad dashboard is refused whole, naming it and why.
    let mut bad = file.clone();
    bad.dashboards[1].record.panels = vec![Panel { content: PanelContent::Figure { figure: json!({"data": "x"}) }, ..figure() }];
    let wipe = || async {
        for object in f.storage.list_all("db/").await.unwrap() {
            f.storage.delete(&object.key).await.unwrap();
        }
    };
    wipe().await;
    let err = dashboards.import(bad.clone(), |_, _| {}).await.unwrap_err();
    assert_eq!(err.field.as_deref(), Some("dashboards[1]"));
    assert!(err.message.contains(&bad.dashboards[1].record.id) && err.message.contains("panels[0].figure"), "{}", err.message);
    assert!(f.storage.list_all("db/").await.unwrap().is_empty(), "nothing was written");

    let report = dashboards.import(serde_json::from_str(&text).unwrap(), |_, _| {}).await.unwrap();
    assert_eq!((report.created, report.updated, report.unchanged), (3, 0, 0));
    let after = [
        raw(plain.record.id.clone()).await.unwrap(),
        raw(listed.record.id.clone()).await.unwrap(),
        raw(locked.record.id.clone()).await.unwrap(),
    ];
    assert_eq!(before, after, "byte for byte");
    assert_eq!(serde_json::to_string(&dashboards.export(Selection::All, |_, _| {}).await.unwrap()).unwrap(), text);
    let again = dashboards.import(file, |_, _| {}).await.unwrap();
    assert_eq!((again.created, again.updated, again.unchanged), (0, 0, 3), "idempotent");
    let locked_again = dashboards.get(&ann, &locked.record.id).await.unwrap();
    assert!(locked_again.protected && locked_again.whitelisted, "flags kept");
    assert_eq!(dashboards.list(&ann).await.unwrap().total, 3, "indexed again");
});

both_backends!(a_deleted_account_takes_its_dashboards_but_not_protected_ones, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    let admin = session(&admin(&accounts, "admin").await);
    let ann_user = user(&accounts, "ann").await;
    let (ann, ben) = (session(&ann_user), session(&user(&accounts, "ben").await));
    let index = Indexer::local(SearchIndex::in_memory());
    let dashboards = node(&f, &accounts, &index, DashboardLimits::default());
    let plain = dashboards.create(&ann, "plain", "", vec![]).await.unwrap();
    let kept = dashboards.create(&ann, "kept", "", vec![figure()]).await.unwrap();
    dashboards.set_flags(&admin, &kept.record.id, None, Some(true)).await.unwrap();
    let bens = dashboards.create(&ben, "ben's", "", vec![]).await.unwrap();
    dashboards.share(&ben, &bens.record.id, "ann", Some(MemberRole::Viewer)).await.unwrap();

    assert_eq!(dashboards.remove_user(&ann_user.id).await.unwrap(), 2);
    assert_eq!(dashboards.get(&admin, &plain.record.id).await.unwrap_err().kind, ErrorKind::NotFound);
    assert!(dashboards.get(&admin, &kept.record.id).await.unwrap().protected, "protected dashboards stay");
    assert!(dashboards.get(&ben, &bens.record.id).await.unwrap().record.members.is_empty());
    assert_eq!(dashboards.remove_user(&ann_user.id).await.unwrap(), 0, "nothing left to do");
});
