//! Accounts in the bucket, against the embedded endpoint and moto.

use std::sync::Arc;

use agora_core::accounts::verification::Mailing;
use agora_core::accounts::{AccountError, Accounts, Registration, Role};
use agora_core::auth::token::{TokenKeys, TokenKind};
use agora_core::secret::Secret;
use agora_core::storage::ListOptions;
use agora_model::accounts::ProfileChange;
use agora_model::ErrorKind;
use agora_testkit::{both_backends, Fixture};

fn registration(username: &str, email: &str, password: &str) -> Registration {
    Registration { username: username.into(), email: email.into(), password: Secret::new(password.into()), first_admin: false }
}

fn pw(s: &str) -> Secret<String> {
    Secret::new(s.into())
}

both_backends!(only_the_setup_path_makes_the_first_admin_and_everyone_must_verify, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    // Reaching an empty hub first makes nobody its owner.
    let early = accounts.register(registration("early", "early@example.com", "first one here!")).await.unwrap();
    assert_eq!(early.role, Role::User);
    assert!(!accounts.has_had_admin().await.unwrap());
    let alice = accounts
        .register(Registration { first_admin: true, ..registration("Alice", "alice@example.com", "correct horse battery") })
        .await
        .unwrap();
    assert_eq!((alice.username.as_str(), alice.role, alice.email_verified), ("alice", Role::Admin, false));
    assert!(accounts.has_had_admin().await.unwrap());
    // A second first-admin registration is refused whole: its name stays free.
    let err = accounts
        .register(Registration { first_admin: true, ..registration("bob", "bob@example.com", "another long password") })
        .await
        .unwrap_err();
    assert_eq!((err.kind(), err.to_api().field.as_deref()), (ErrorKind::Conflict, Some("setup_code")));
    let bob = accounts.register(registration("bob", "bob@example.com", "another long password")).await.unwrap();
    assert_eq!(bob.role, Role::User);

    let err = accounts.authenticate("alice", pw("correct horse battery")).await.unwrap_err();
    assert!(matches!(err, AccountError::Unverified), "{err}");
    assert_eq!(err.kind(), ErrorKind::Forbidden);
    accounts.mark_verified(&alice.id).await.unwrap();
    let logged_in = accounts.authenticate("ALICE", pw("correct horse battery")).await.unwrap();
    assert_eq!(logged_in.id, alice.id);
});

both_backends!(wrong_password_and_unknown_user_look_the_same, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    let user = accounts.register(registration("carol", "carol@example.com", "carol's password!")).await.unwrap();
    accounts.mark_verified(&user.id).await.unwrap();
    let wrong = accounts.authenticate("carol", pw("not her password")).await.unwrap_err();
    let unknown = accounts.authenticate("nobody", pw("not her password")).await.unwrap_err();
    let invalid_name = accounts.authenticate("no such user!", pw("x")).await.unwrap_err();
    for err in [&wrong, &unknown, &invalid_name] {
        assert!(matches!(err, AccountError::BadCredentials), "{err}");
        assert_eq!(err.to_api().message, "wrong username or password");
    }
});

both_backends!(taken_names_and_emails_conflict_and_leave_no_claims, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    accounts.register(registration("dave", "dave@example.com", "dave's password!")).await.unwrap();
    let name = accounts.register(registration("DAVE", "other@example.com", "some long password")).await.unwrap_err();
    assert_eq!(name.to_api().field.as_deref(), Some("username"));
    assert_eq!(name.kind(), ErrorKind::Conflict);
    let email = accounts.register(registration("erin", "Dave@Example.com", "some long password")).await.unwrap_err();
    assert_eq!(email.to_api().field.as_deref(), Some("email"), "{email}");
    // The failed registration released its username claim.
    accounts.register(registration("erin", "erin@example.com", "some long password")).await.unwrap();
});

both_backends!(bad_input_names_the_field_and_writes_nothing, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    for (reg, field) in [
        (registration("ab", "a@example.com", "long enough password"), "username"),
        (registration("frank", "not-an-email", "long enough password"), "email"),
        (registration("frank", "f@example.com", "short"), "password"),
        (registration("frank12345", "f@example.com", "FRANK12345"), "password"),
    ] {
        let err = accounts.register(reg).await.unwrap_err();
        assert_eq!(err.to_api().field.as_deref(), Some(field), "{err}");
        assert_eq!(err.kind(), ErrorKind::Invalid);
    }
    let written = f.storage.list(&ListOptions { prefix: "sys/".into(), ..Default::default() }).await.unwrap();
    assert!(written.objects.is_empty(), "{:?}", written.objects);
});

both_backends!(password_changes_need_the_current_one_and_end_old_sessions, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    let user = accounts.register(registration("gina", "gina@example.com", "first password!")).await.unwrap();
    accounts.mark_verified(&user.id).await.unwrap();
    let err = accounts.change_password(&user.id, pw("wrong current!"), pw("second password!")).await.unwrap_err();
    assert_eq!(err.to_api().field.as_deref(), Some("current_password"));
    let changed = accounts.change_password(&user.id, pw("first password!"), pw("second password!")).await.unwrap();
    assert_eq!(changed.token_version, user.token_version + 1);
    assert!(accounts.authenticate("gina", pw("first password!")).await.is_err());
    accounts.authenticate("gina", pw("second password!")).await.unwrap();
    assert_eq!(accounts.log_out_everywhere(&user.id).await.unwrap().token_version, user.token_version + 2);
});

both_backends!(racing_registrations_of_one_name_have_one_winner, |f: Fixture| async move {
    let accounts = Arc::new(Accounts::new(f.storage.clone()));
    let racers: Vec<_> = (0..6)
        .map(|i| {
            let accounts = Arc::clone(&accounts);
            tokio::spawn(async move { accounts.register(registration("hana", &format!("hana{i}@example.com"), "hana's password!")).await })
        })
        .collect();
    let mut winners = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(_) => winners += 1,
            Err(err) => assert_eq!(err.to_api().field.as_deref(), Some("username"), "{err}"),
        }
    }
    assert_eq!(winners, 1);
});

both_backends!(api_keys_are_shown_once_scoped_listed_and_revocable, |f: Fixture| async move {
    use agora_core::accounts::api_keys::{Access, Scope};
    let accounts = Accounts::new(f.storage.clone());
    let ivan = accounts.register(registration("ivan", "ivan@example.com", "ivan's password!")).await.unwrap();
    let judy = accounts.register(registration("judy", "judy@example.com", "judy's password!")).await.unwrap();

    let scope = vec![Scope::Dataset { dataset_id: "ds1".into(), access: Access::ReadWrite }];
    let (record, key) = accounts.create_api_key(&ivan.id, "training job", scope, None).await.unwrap();
    assert!(key.expose().starts_with(&format!("{}_", record.prefix())));
    assert!(!serde_json::to_string(&record).unwrap().contains(key.expose().rsplit('_').next().unwrap()), "the secret is not stored");

    let verified = accounts.verify_api_key(key.expose()).await.unwrap();
    assert_eq!(
        (verified.owner.as_str(), verified.access_to("ds1"), verified.access_to("ds2")),
        (ivan.id.as_str(), Some(Access::ReadWrite), None)
    );

    // Tampered, unknown and malformed keys all fail the same way.
    let mut tampered = key.expose().clone();
    tampered.pop();
    tampered.push(if key.expose().ends_with('a') { 'b' } else { 'a' });
    for bad in [tampered.as_str(), "agk_000000000000_0000000000000000000000000000000000000000", "Bearer nonsense", ""] {
        assert!(matches!(accounts.verify_api_key(bad).await, Err(AccountError::BadCredentials)), "{bad}");
    }

    let (second, _) = accounts.create_api_key(&ivan.id, "notebook", vec![Scope::AllDatasets { access: Access::Read }], None).await.unwrap();
    let listed = accounts.list_api_keys(&ivan.id).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(accounts.list_api_keys(&judy.id).await.unwrap().is_empty(), "judy sees none of ivan's keys");

    // Another user cannot revoke it; its owner can, and then it stops working.
    assert!(matches!(accounts.revoke_api_key(&judy.id, &record.id).await, Err(AccountError::NotFound)));
    accounts.revoke_api_key(&ivan.id, &record.id).await.unwrap();
    assert!(matches!(accounts.verify_api_key(key.expose()).await, Err(AccountError::BadCredentials)));
    assert!(accounts.list_api_keys(&ivan.id).await.unwrap().iter().any(|k| k.id == record.id && k.revoked));
    assert!(!accounts.list_api_keys(&ivan.id).await.unwrap().iter().any(|k| k.id == second.id && k.revoked));

    for (name, scopes, expires, field) in [
        ("", vec![Scope::AllDatasets { access: Access::Read }], None, "name"),
        ("x", vec![], None, "scopes"),
        ("x", vec![Scope::AllDatasets { access: Access::Read }], Some(1), "expires_at"),
    ] {
        let err = accounts.create_api_key(&ivan.id, name, scopes, expires).await.unwrap_err();
        assert_eq!(err.to_api().field.as_deref(), Some(field));
    }
});

both_backends!(every_node_gets_the_same_session_secret, |f: Fixture| async move {
    use agora_core::auth::session_secret::load_or_create;
    let racers: Vec<_> = (0..5)
        .map(|_| {
            let storage = f.storage.clone();
            tokio::spawn(async move { load_or_create(&storage, None).await.unwrap().expose().clone() })
        })
        .collect();
    let mut secrets = Vec::new();
    for racer in racers {
        secrets.push(racer.await.unwrap());
    }
    assert!(secrets.iter().all(|s| s == &secrets[0] && s.len() >= 32));
    let configured = Secret::new("x".repeat(40));
    assert_eq!(load_or_create(&f.storage, Some(&configured)).await.unwrap().expose(), &vec![b'x'; 40]);
    assert!(load_or_create(&f.storage, Some(&Secret::new("short".into()))).await.is_err());
});

both_backends!(a_mailed_link_verifies_the_account, |f: Fixture| async move {
    use agora_core::mail::Mailer;
    let smtp = agora_testkit::smtp_server();
    let mailer = Mailer::smtp(&Secret::new(smtp.url()), "Agora <agora@localhost>").unwrap();
    let tokens = TokenKeys::new(&Secret::new(vec![7u8; 48])).unwrap();
    let accounts = Accounts::new(f.storage.clone());
    let user = accounts.register(registration("kim", "kim@example.com", "kim's password!")).await.unwrap();

    let mailing = Mailing { tokens: &tokens, mailer: &mailer, public_url: "http://127.0.0.1:3000/" };
    accounts.send_verification(&user, &mailing).await.unwrap();
    let received = smtp.wait_for("verify-email?token=").await;
    // The link as the person received it, read back from the real SMTP server.
    let token: String = received
        .split("verify-email?token=")
        .nth(1)
        .unwrap()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .collect();
    assert!(received.contains("kim@example.com"));

    assert!(matches!(accounts.authenticate("kim", pw("kim's password!")).await, Err(AccountError::Unverified)));
    for bad in [format!("{token}x"), "not-a-token".to_string(), tokens.issue(&user.id, 0, 0, 0, 1).unwrap()] {
        let err = accounts.verify_email(&tokens, &bad).await.unwrap_err();
        assert_eq!(err.to_api().field.as_deref(), Some("token"), "{err}");
    }
    let verified = accounts.verify_email(&tokens, &token).await.unwrap();
    assert!(verified.email_verified);
    accounts.authenticate("kim", pw("kim's password!")).await.unwrap();
    // A link works once.
    let again = accounts.verify_email(&tokens, &token).await.unwrap_err().to_api();
    assert_eq!(again.field.as_deref(), Some("token"), "{again}");
    assert!(again.message.contains("used already"), "{again}");
});

fn test_tokens() -> TokenKeys {
    TokenKeys::new(&Secret::new(vec![9u8; 48])).unwrap()
}

/// A link token as `send_*` would mail it, without a mail server.
fn link(tokens: &TokenKeys, kind: TokenKind, user: &agora_core::accounts::UserRecord, email: &str) -> String {
    tokens.issue_kind(kind, &user.id, user.token_version, Some(email), agora_core::accounts::unix_now() as u64, 600).unwrap()
}

both_backends!(renames_free_the_old_name_and_new_addresses_wait_for_their_link, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    let tokens = test_tokens();
    let dana = accounts.register(registration("dana", "dana@example.com", "dana's password!")).await.unwrap();
    accounts.mark_verified(&dana.id).await.unwrap();
    accounts.register(registration("erin", "erin@example.com", "erin's password!")).await.unwrap();

    let taken = accounts.change_profile(&dana.id, ProfileChange { username: Some("Erin".into()), ..Default::default() }).await.unwrap_err();
    assert_eq!(taken.to_api().field.as_deref(), Some("username"));
    let (renamed, mail_due) =
        accounts.change_profile(&dana.id, ProfileChange { username: Some("dana2".into()), ..Default::default() }).await.unwrap();
    assert_eq!((renamed.username.as_str(), mail_due), ("dana2", false));
    accounts.authenticate("dana2", pw("dana's password!")).await.unwrap();
    assert!(matches!(accounts.find_by_username("dana").await, Err(AccountError::NotFound)));
    accounts.register(registration("dana", "other@example.com", "someone else's pw")).await.unwrap();

    // A new address needs the password.
    for password in [None, Some(""), Some("not dana's password")] {
        let change =
            ProfileChange { email: Some("d@new.example.com".into()), current_password: password.map(Into::into), ..Default::default() };
        let refused = accounts.change_profile(&dana.id, change).await.unwrap_err().to_api();
        assert_eq!(refused.field.as_deref(), Some("current_password"), "{password:?}: {refused}");
    }
    assert_eq!(accounts.get(&dana.id).await.unwrap().pending_email, None, "nothing changed");
    let with_password =
        |email: &str| ProfileChange { email: Some(email.into()), current_password: Some("dana's password!".into()), ..Default::default() };
    let taken = accounts.change_profile(&dana.id, with_password("erin@example.com")).await.unwrap_err();
    assert_eq!(taken.to_api().field.as_deref(), Some("email"));
    let (pending, mail_due) = accounts.change_profile(&dana.id, with_password("d@new.example.com")).await.unwrap();
    assert!(mail_due);
    assert_eq!((pending.email.as_str(), pending.pending_email.as_deref()), ("dana@example.com", Some("d@new.example.com")));
    accounts.authenticate("dana2", pw("dana's password!")).await.expect("the old address stays in use until the new one is verified");
    let moved = accounts.verify_email(&tokens, &link(&tokens, TokenKind::EmailVerification, &pending, "d@new.example.com")).await.unwrap();
    assert_eq!((moved.email.as_str(), moved.email_verified, moved.pending_email), ("d@new.example.com", true, None));
    assert_eq!(accounts.find_by_email("D@NEW.example.com").await.unwrap().id, dana.id);
    assert!(matches!(accounts.find_by_email("dana@example.com").await, Err(AccountError::NotFound)));
    accounts.register(registration("fay", "dana@example.com", "fay's password!!")).await.expect("the old address is free again");
});

both_backends!(a_reset_link_sets_the_password_once, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    let tokens = test_tokens();
    let gus = accounts.register(registration("gus", "gus@example.com", "gus's password!")).await.unwrap();
    let token = link(&tokens, TokenKind::PasswordReset, &gus, "gus@example.com");
    let verification = link(&tokens, TokenKind::EmailVerification, &gus, "gus@example.com");
    assert!(
        accounts.reset_password(&tokens, &verification, pw("a brand new one")).await.is_err(),
        "a verification link is not a reset link"
    );
    let short = accounts.reset_password(&tokens, &token, pw("short")).await.unwrap_err().to_api();
    assert_eq!(short.field.as_deref(), Some("new_password"));
    let reset = accounts.reset_password(&tokens, &token, pw("a brand new one")).await.unwrap();
    assert!(reset.email_verified, "opening the mailed link proves the address");
    accounts.authenticate("gus", pw("a brand new one")).await.unwrap();
    let again = accounts.reset_password(&tokens, &token, pw("yet another one")).await.unwrap_err().to_api();
    assert_eq!(again.field.as_deref(), Some("token"), "{again}");

    // A reset link is bound to the address it was sent to: once the account
    // moves to another address, a link mailed to the old one is dead.
    let gus = accounts.get(&gus.id).await.unwrap();
    let to_old = link(&tokens, TokenKind::PasswordReset, &gus, "gus@example.com");
    let change =
        ProfileChange { email: Some("g@new.example.com".into()), current_password: Some("a brand new one".into()), ..Default::default() };
    let (pending, _) = accounts.change_profile(&gus.id, change).await.unwrap();
    accounts.verify_email(&tokens, &link(&tokens, TokenKind::EmailVerification, &pending, "g@new.example.com")).await.unwrap();
    let dead = accounts.reset_password(&tokens, &to_old, pw("taken over!!")).await.unwrap_err().to_api();
    assert_eq!(dead.field.as_deref(), Some("token"), "{dead}");
    accounts.authenticate("gus", pw("a brand new one")).await.unwrap();
});

both_backends!(the_last_admin_stays_and_disabled_accounts_cannot_log_in, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    // Made as `agora admin create-user --admin` makes one: that, too, ends
    // the setup code's use.
    let admin = accounts.register(registration("root", "root@example.com", "root's password!")).await.unwrap();
    assert!(!accounts.has_had_admin().await.unwrap());
    let admin = accounts.set_role(&admin.id, Role::Admin).await.unwrap();
    assert!(accounts.has_had_admin().await.unwrap());
    let user = accounts.register(registration("hal", "hal@example.com", "hal's password!!")).await.unwrap();
    accounts.mark_verified(&user.id).await.unwrap();
    assert_eq!(accounts.set_role(&admin.id, Role::User).await.unwrap_err().kind(), ErrorKind::Invalid);
    assert_eq!(accounts.set_disabled(&admin.id, true).await.unwrap_err().kind(), ErrorKind::Invalid);
    accounts.set_role(&user.id, Role::Admin).await.unwrap();
    accounts.set_role(&admin.id, Role::User).await.expect("another admin exists now");

    let disabled = accounts.set_disabled(&user.id, false).await.unwrap();
    assert!(!disabled.disabled);
    accounts.set_role(&admin.id, Role::Admin).await.unwrap();
    let disabled = accounts.set_disabled(&user.id, true).await.unwrap();
    assert!(disabled.token_version > 0, "disabling ends sessions");
    assert!(matches!(accounts.authenticate("hal", pw("hal's password!!")).await, Err(AccountError::Disabled)));
    let names: Vec<String> = accounts.list().await.unwrap().into_iter().map(|u| u.username).collect();
    assert_eq!(names, ["hal", "root"]);
});

both_backends!(deleting_an_account_removes_it_and_its_keys_and_resumes_after_a_crash, |f: Fixture| async move {
    use agora_core::accounts::api_keys::{Access, Scope};
    use agora_model::accounts::JobState;
    let accounts = Accounts::new(f.storage.clone());
    accounts.register(registration("admin", "admin@example.com", "admin's password")).await.unwrap();
    let ivy = accounts.register(registration("ivy", "ivy@example.com", "ivy's password!!")).await.unwrap();
    accounts.mark_verified(&ivy.id).await.unwrap();
    let mut keys = Vec::new();
    for i in 0..3 {
        let (_, key) =
            accounts.create_api_key(&ivy.id, &format!("k{i}"), vec![Scope::AllDatasets { access: Access::Read }], None).await.unwrap();
        keys.push(key);
    }
    let wrong = accounts.request_deletion(&ivy.id, pw("not the password")).await.unwrap_err().to_api();
    assert_eq!(wrong.field.as_deref(), Some("password"));

    // Asked for, then the node "crashes" before the job ran.
    let job = accounts.request_deletion(&ivy.id, pw("ivy's password!!")).await.unwrap();
    assert_eq!(job.state, JobState::Running);
    assert!(matches!(accounts.authenticate("ivy", pw("ivy's password!!")).await, Err(AccountError::Deleted)));
    assert_eq!(accounts.request_deletion(&ivy.id, pw("anything at all")).await.unwrap().id, job.id, "asking twice is one job");

    assert_eq!(accounts.resume_deletions().await.unwrap(), 1);
    let finished = accounts.job(&job.id).await.unwrap();
    assert_eq!(finished.state, JobState::Done);
    assert_eq!(finished.done, 3 * 2 + 1, "three keys (record and marker each) and the account");
    for key in &keys {
        assert!(matches!(accounts.verify_api_key(key.expose()).await, Err(AccountError::BadCredentials)));
    }
    assert!(matches!(accounts.get(&ivy.id).await, Err(AccountError::NotFound)));
    let left = f.storage.list(&ListOptions { prefix: format!("sys/user-keys/{}/", ivy.id), ..Default::default() }).await.unwrap();
    assert!(left.objects.is_empty());
    accounts.register(registration("ivy", "ivy@example.com", "a new ivy's pw!")).await.expect("name and address are free again");
    assert_eq!(accounts.resume_deletions().await.unwrap(), 0, "nothing left to resume");
});
