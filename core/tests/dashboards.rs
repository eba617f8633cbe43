//! Dashboard records, against the embedded endpoint and moto.

use agora_core::accounts::Accounts;
use agora_core::auth::caller::Caller;
use agora_core::dashboards::{Change, Dashboards};
use agora_model::dashboards::{Panel, PanelContent};
use agora_model::sharing::Visibility;
use agora_model::ErrorKind;
use agora_testkit::people::{session, user};
use agora_testkit::{both_backends, Fixture};
use serde_json::json;

fn figure() -> Panel {
    let figure = json!({"data": [{"type": "scatter", "x": [1, 2, 3], "y": [0.9, 0.5, 0.3]}], "layout": {"title": {"text": "loss"}}});
    Panel { title: "Loss".into(), x: 0, y: 0, w: 6, h: 4, content: PanelContent::Figure { figure } }
}

both_backends!(dashboards_save_optimistically_and_protected_ones_refuse_every_write, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    let admin = session(&user(&accounts, "admin").await);
    let ann = session(&user(&accounts, "ann").await);
    let ben = session(&user(&accounts, "ben").await);
    let dashboards = Dashboards::new(f.storage.clone(), 64 * 1024);

    let made = dashboards.create(&ann, " Training ", "runs of week 47", vec![figure()]).await.unwrap();
    assert_eq!(made.record.title, "Training");
    assert_eq!(dashboards.get(&ben, &made.record.id).await.unwrap_err().kind, ErrorKind::NotFound, "private");
    let got = dashboards.get(&ann, &made.record.id).await.unwrap();
    assert_eq!((got.record.panels.len(), &got.version), (1, &made.version));

    // Two editors from the same version: the second save is a conflict.
    let first = Change { title: Some("Training v2".into()), version: got.version.clone(), ..Default::default() };
    let saved = dashboards.update(&ann, &made.record.id, first).await.unwrap();
    let second = Change { description: Some("other".into()), version: got.version.clone(), ..Default::default() };
    let err = dashboards.update(&ann, &made.record.id, second).await.unwrap_err();
    assert_eq!((err.kind, err.field.as_deref()), (ErrorKind::Conflict, Some("version")));
    assert_eq!(dashboards.get(&ann, &made.record.id).await.unwrap().record.title, "Training v2", "nothing was overwritten");

    // Bad input names the field and changes nothing; too large is a 413.
    let broken = Panel { content: PanelContent::Figure { figure: json!({"data": 1}) }, ..figure() };
    let bad = Change { panels: Some(vec![figure(), broken]), version: saved.version.clone(), ..Default::default() };
    assert_eq!(dashboards.update(&ann, &made.record.id, bad).await.unwrap_err().field.as_deref(), Some("panels[1].figure"));
    let huge = Panel { content: PanelContent::Markdown { text: "x".repeat(70_000) }, ..figure() };
    let big = Change { panels: Some(vec![huge]), version: saved.version.clone(), ..Default::default() };
    let err = dashboards.update(&ann, &made.record.id, big).await.unwrap_err();
    assert!(err.kind == ErrorKind::TooLarge && err.message.contains("65536"), "{}", err.message);

    // Anyone with the link reads a public one; only the owner makes it public.
    let public = Change { visibility: Some(Visibility::Public), version: saved.version.clone(), ..Default::default() };
    let err = dashboards.update(&ben, &made.record.id, public.clone()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    let saved = dashboards.update(&ann, &made.record.id, public).await.unwrap();
    assert!(dashboards.get(&Caller::anonymous(None), &made.record.id).await.is_ok());

    // Protected: read-only for everyone, implicitly whitelisted; unprotecting keeps the whitelist.
    assert_eq!(dashboards.set_flags(&ann, &made.record.id, None, Some(true)).await.unwrap_err().kind, ErrorKind::Forbidden);
    let flagged = dashboards.set_flags(&admin, &made.record.id, None, Some(true)).await.unwrap();
    assert!(flagged.protected && flagged.whitelisted);
    let change = Change { title: Some("x".into()), version: saved.version.clone(), ..Default::default() };
    assert_eq!(dashboards.update(&ann, &made.record.id, change.clone()).await.unwrap_err().kind, ErrorKind::Forbidden);
    assert_eq!(dashboards.update(&admin, &made.record.id, change).await.unwrap_err().kind, ErrorKind::Forbidden);
    assert_eq!(dashboards.delete(&ann, &made.record.id).await.unwrap_err().kind, ErrorKind::Forbidden);
    let unprotected = dashboards.set_flags(&admin, &made.record.id, None, Some(false)).await.unwrap();
    assert!(!unprotected.protected && unprotected.whitelisted);
    let reloaded = dashboards.get(&ann, &made.record.id).await.unwrap();
    assert!(!reloaded.protected && reloaded.whitelisted, "flags are stored");
    dashboards.delete(&ann, &made.record.id).await.unwrap();
    assert_eq!(dashboards.get(&ann, &made.record.id).await.unwrap_err().kind, ErrorKind::NotFound);
});

both_backends!(a_deleted_account_takes_its_dashboards_but_not_protected_ones, |f: Fixture| async move {
    use agora_core::dashboards::DashboardRecord;
    use agora_core::storage::PutOptions;
    use agora_model::sharing::{Member, MemberRole};
    let accounts = Accounts::new(f.storage.clone());
    let admin = session(&user(&accounts, "admin").await);
    let ann_user = user(&accounts, "ann").await;
    let (ann, ben) = (session(&ann_user), session(&user(&accounts, "ben").await));
    let dashboards = Dashboards::new(f.storage.clone(), 1 << 20);
    let plain = dashboards.create(&ann, "plain", "", vec![]).await.unwrap();
    let kept = dashboards.create(&ann, "kept", "", vec![figure()]).await.unwrap();
    dashboards.set_flags(&admin, &kept.record.id, None, Some(true)).await.unwrap();
    let bens = dashboards.create(&ben, "ben's", "", vec![]).await.unwrap();
    // Ann is a member of ben's dashboard (sharing arrives later; written directly here).
    let mut shared: DashboardRecord = bens.record.clone();
    shared.members.push(Member { user_id: ann_user.id.clone(), role: MemberRole::Viewer });
    let body = bytes::Bytes::from(serde_json::to_vec(&shared).unwrap());
    f.storage.put(&format!("db/{}.json", shared.id), body, PutOptions::default()).await.unwrap();

    assert_eq!(dashboards.remove_user(&ann_user.id).await.unwrap(), 2);
    assert_eq!(dashboards.get(&admin, &plain.record.id).await.unwrap_err().kind, ErrorKind::NotFound);
    assert!(dashboards.get(&admin, &kept.record.id).await.unwrap().protected, "protected dashboards stay");
    assert!(dashboards.get(&ben, &bens.record.id).await.unwrap().record.members.is_empty());
    assert_eq!(dashboards.remove_user(&ann_user.id).await.unwrap(), 0, "nothing left to do");
});
