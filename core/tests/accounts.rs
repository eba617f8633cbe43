//! Accounts in the bucket, against the embedded endpoint and moto.

use std::sync::Arc;

use agora_core::accounts::{AccountError, Accounts, Registration, Role};
use agora_core::secret::Secret;
use agora_core::storage::ListOptions;
use agora_model::ErrorKind;
use agora_testkit::{both_backends, Fixture};

fn registration(username: &str, email: &str, password: &str) -> Registration {
    Registration { username: username.into(), email: email.into(), password: Secret::new(password.into()) }
}

fn pw(s: &str) -> Secret<String> {
    Secret::new(s.into())
}

both_backends!(the_first_account_is_admin_and_must_verify_before_logging_in, |f: Fixture| async move {
    let accounts = Accounts::new(f.storage.clone());
    let alice = accounts.register(registration("Alice", "alice@example.com", "correct horse battery")).await.unwrap();
    assert_eq!((alice.username.as_str(), alice.role, alice.email_verified), ("alice", Role::Admin, false));
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
    use agora_core::auth::token::TokenKeys;
    use agora_core::mail::Mailer;
    let smtp = agora_testkit::smtp_server();
    let mailer = Mailer::smtp(&Secret::new(smtp.url()), "Agora <agora@localhost>").unwrap();
    let tokens = TokenKeys::new(&Secret::new(vec![7u8; 48])).unwrap();
    let accounts = Accounts::new(f.storage.clone());
    let user = accounts.register(registration("kim", "kim@example.com", "kim's password!")).await.unwrap();

    accounts.send_verification(&user, &tokens, &mailer, "http://127.0.0.1:3000/").await.unwrap();
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
    for bad in [format!("{token}x"), "not-a-token".to_string(), tokens.issue(&user.id, 0, 0, 1).unwrap()] {
        let err = accounts.verify_email(&tokens, &bad).await.unwrap_err();
        assert_eq!(err.to_api().field.as_deref(), Some("token"), "{err}");
    }
    let verified = accounts.verify_email(&tokens, &token).await.unwrap();
    assert!(verified.email_verified);
    accounts.authenticate("kim", pw("kim's password!")).await.unwrap();
    // Using the link again is harmless.
    assert!(accounts.verify_email(&tokens, &token).await.unwrap().email_verified);
});
