//! Accounts through the real HTTP surface: REST under /api/v1, server
//! functions under /api/fn, mail through a real SMTP server (aiosmtpd).

mod common;

use agora_core::secret::Secret;
use common::api::{mailed_token, server_with_mail, server_with_mail_and, verified_admin, verified_user};
use common::TestServer;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Whoever reaches a new hub first must not own it: only the setup code the
/// server printed (and wrote 0600 to its data directory) makes the first
/// administrator, once; a wrong or late code changes nothing.
#[tokio::test]
async fn the_first_administrator_needs_the_setup_code_and_only_once() {
    let (server, smtp) = server_with_mail().await;
    let file = server.data.join("setup-code");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600, "only Agora's user reads the code");
    }
    let code = server.setup_code();
    let awaits =
        || async { server.client.post(server.url("/api/fn/awaits_first_admin")).send().await.unwrap().json::<bool>().await.unwrap() };
    assert!(awaits().await, "the registration form offers the setup code");

    let early = server.register("early").await;
    assert_eq!(early["role"], "user");
    let early_token = common::api::verified_user_token(&server, &smtp, "early").await;
    assert_eq!(server.get("/api/v1/admin/users", Some(&early_token)).await.0, StatusCode::FORBIDDEN);

    let wrong =
        json!({"username": "eve", "email": "eve@example.com", "password": "eve's password", "setup_code": "AAAAA-BBBBB-CCCCC-DDDDD"});
    let (status, body) = server.post("/api/v1/auth/register", None, wrong).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("setup_code")), "{body}");
    assert!(!body.to_string().contains(&code), "the error does not tell the code");
    assert_eq!(server.register("eve").await["role"], "user", "the refused registration left no claim on the name");

    // Typed as a person might: lower case, spaces for dashes.
    let typed = code.to_lowercase().replace('-', " ");
    let right = json!({"username": "root", "email": "root@example.com", "password": "root's password", "setup_code": typed});
    let (status, root) = server.post("/api/v1/auth/register", None, right.clone()).await;
    assert_eq!((status, root["role"].as_str()), (StatusCode::CREATED, Some("admin")), "{root}");
    assert!(!file.exists(), "a used code is not left on disk");
    assert!(!awaits().await);

    let late = json!({"username": "late", "email": "late@example.com", "password": "late's password", "setup_code": code});
    let (status, body) = server.post("/api/v1/auth/register", None, late).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::CONFLICT, Some("setup_code")), "{body}");
    assert_eq!(server.register("late").await["role"], "user");
}

#[tokio::test]
async fn register_verify_log_in_and_use_keys_over_rest() {
    let (server, smtp) = server_with_mail().await;
    let alice = server.register("alice").await;
    assert_eq!(alice["role"], "user", "being first on a hub makes nobody its administrator");
    assert!(alice.get("password_hash").is_none());

    let (status, body) = server.token("alice", "alice's password").await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::FORBIDDEN, Some("email_verified")), "{body}");
    let (wrong, wrong_body) = server.token("alice", "not the password").await;
    let (unknown, unknown_body) = server.token("nobody", "not the password").await;
    assert_eq!((wrong, unknown), (StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED));
    assert_eq!(wrong_body, unknown_body, "no hint whether the username exists");

    let token = mailed_token(&smtp, "alice@example.com", "/verify-email").await;
    let (status, body) = server.post("/api/v1/auth/verify-email", None, json!({"token": token})).await;
    assert_eq!((status, body["email_verified"].as_bool()), (StatusCode::OK, Some(true)), "{body}");
    let (status, body) = server.token("alice", "alice's password").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let session = body["token"].as_str().unwrap().to_owned();
    let (status, me) = server.get("/api/v1/me", Some(&session)).await;
    assert_eq!((status, me["username"].as_str()), (StatusCode::OK, Some("alice")));

    let (status, created) = server
        .post("/api/v1/me/keys", Some(&session), json!({"name": "trainer", "scopes": [{"kind": "all_datasets", "access": "read"}]}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let key = created["secret"].as_str().unwrap().to_owned();
    assert!(key.starts_with("agk_"));
    let (status, me) = server.get("/api/v1/me", Some(&key)).await;
    assert_eq!((status, me["username"].as_str()), (StatusCode::OK, Some("alice")), "a key works where a token does");
    let (status, body) = server.get("/api/v1/me/keys", Some(&key)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "keys never manage the account: {body}");
    let (status, keys) = server.get("/api/v1/me/keys", Some(&session)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(keys[0].get("secret").is_none() && keys[0]["prefix"].as_str().unwrap().starts_with("agk_"));
    let id = created["key"]["id"].as_str().unwrap();
    let (status, _) = server.call(reqwest::Method::DELETE, &format!("/api/v1/me/keys/{id}"), Some(&session), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = server.get("/api/v1/me", Some(&key)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));

    // Settings over REST: a new username, preferences that follow the account.
    let (status, me) = server
        .call(
            reqwest::Method::PATCH,
            "/api/v1/me",
            Some(&session),
            Some(json!({"username": "alice2", "preferences": {"theme": "dark", "upload_sound": false}})),
        )
        .await;
    assert_eq!(
        (status, me["username"].as_str(), me["preferences"]["theme"].as_str()),
        (StatusCode::OK, Some("alice2"), Some("dark")),
        "{me}"
    );
    let (status, body) = server.call(reqwest::Method::PATCH, "/api/v1/me", Some(&session), Some(json!({"username": "x"}))).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("username")));

    // Another user reaches none of alice's things.
    let other = verified_user(&server, &smtp, "mallory").await;
    let (_, ds) = server.post("/api/v1/datasets", Some(&session), json!({"name": "models"})).await;
    let scoped = |id: &str| json!({"name": "second", "scopes": [{"kind": "dataset", "dataset_id": id, "access": "read_write"}]});
    let (status, err) = server.post("/api/v1/me/keys", Some(&session), scoped("0123456789abcdef")).await;
    assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("scopes[0].dataset_id")), "{err}");
    let (status, _) = server.post("/api/v1/me/keys", Some(&other), scoped(ds["id"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "a key cannot name someone else's dataset");
    let (status, created) = server.post("/api/v1/me/keys", Some(&session), scoped(ds["id"].as_str().unwrap())).await;
    assert_eq!(status, StatusCode::CREATED);
    let second = created["key"]["id"].as_str().unwrap().to_owned();
    let (status, _) = server.call(reqwest::Method::DELETE, &format!("/api/v1/me/keys/{second}"), Some(&other), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "someone else's key is not found, and stays");
    let (_, keys) = server.get("/api/v1/me/keys", Some(&session)).await;
    assert!(keys.as_array().unwrap().iter().any(|k| k["id"] == second.as_str() && k["revoked"] == false));
    let (_, theirs) = server.get("/api/v1/me/keys", Some(&other)).await;
    assert_eq!(theirs.as_array().map(Vec::len), Some(0), "lists hold only the caller's keys");
    assert_eq!(server.get("/api/v1/admin/users", Some(&other)).await.0, StatusCode::FORBIDDEN);

    // A new password ends the old token; the answer carries a fresh one.
    let (status, fresh) = server
        .post(
            "/api/v1/me/password",
            Some(&session),
            json!({"current_password": "alice's password", "new_password": "a newer long password"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{fresh}");
    assert_eq!(server.get("/api/v1/me", Some(&session)).await.0, StatusCode::UNAUTHORIZED);
    let fresh = fresh["token"].as_str().unwrap().to_owned();
    assert_eq!(server.get("/api/v1/me", Some(&fresh)).await.0, StatusCode::OK);
    assert_eq!(server.post("/api/v1/auth/logout", Some(&fresh), json!({})).await.0, StatusCode::NO_CONTENT);
    assert_eq!(server.get("/api/v1/me", Some(&fresh)).await.0, StatusCode::UNAUTHORIZED, "logout ends the token");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn bad_input_gets_a_named_error_and_changes_nothing() {
    let server = TestServer::start().await;
    let (status, body) = server
        .post("/api/v1/auth/register", None, json!({"username": "bo", "email": "bo@example.com", "password": "long enough pw"}))
        .await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("username")), "{body}");
    let (status, body) =
        server.post("/api/v1/auth/register", None, json!({"username": "bob", "email": "bob@example.com", "password": "short"})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("password")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("at least 10"));
    // Nothing was created: the name is still free.
    server.register("bob").await;

    let raw = server
        .client
        .post(server.url("/api/v1/auth/token"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST);
    let body: Value = raw.json().await.unwrap();
    assert_eq!(body["error"]["field"], "body");
    let raw = server.client.post(server.url("/api/v1/auth/token")).body("username=x").send().await.unwrap();
    assert_eq!(raw.status(), StatusCode::BAD_REQUEST, "a form body is refused with a message, not a 415/500");
    let (status, body) = server.post("/api/v1/me/keys", Some("agk_nonsense"), json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let (status, body) = server.get("/api/v1/no/such/route", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    // Forged session tokens: no signature, and a signature by another key.
    let b64 = |s: &str| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, s);
    let payload =
        b64(r#"{"sub":"00000000000000000000000000000000","ver":0,"typ":"session","iss":"agora","aud":"agora","iat":0,"exp":9999999999}"#);
    let unsigned = format!("{}.{payload}.", b64(r#"{"alg":"none","typ":"JWT"}"#));
    let other_key = agora_core::auth::token::TokenKeys::new(&Secret::new(vec![1u8; 48]))
        .unwrap()
        .issue("0".repeat(32).as_str(), 0, agora_core::accounts::unix_now() as u64, agora_core::accounts::unix_now() as u64, 900)
        .unwrap();
    for forged in [unsigned, other_key] {
        let (status, body) = server.get("/api/v1/me", Some(&forged)).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }
    let (status, body) = server.get("/api/v1/me", None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthenticated")));

    let (status, doc) = server.get("/api/v1/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    for path in ["/api/v1/auth/register", "/api/v1/auth/token", "/api/v1/me", "/api/v1/me/keys/{id}", "/api/v1/admin/users/{id}"] {
        assert!(doc["paths"].get(path).is_some(), "OpenAPI lacks {path}");
    }
    assert!(doc["components"]["schemas"].get("UserView").is_some());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn repeated_failed_logins_are_limited_with_retry_after() {
    let server = TestServer::start().await;
    server.register("carol").await;
    let mut statuses = Vec::new();
    for _ in 0..11 {
        let response = server
            .client
            .post(server.url("/api/v1/auth/token"))
            .json(&json!({"username": "carol", "password": "guess guess guess"}))
            .send()
            .await
            .unwrap();
        statuses.push((response.status(), response.headers().get("retry-after").map(|v| v.to_str().unwrap().parse::<u64>().unwrap())));
    }
    assert!(statuses[..10].iter().all(|(s, _)| *s == StatusCode::FORBIDDEN || *s == StatusCode::UNAUTHORIZED), "{statuses:?}");
    let (status, retry_after) = statuses[10];
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(retry_after.is_some_and(|s| s >= 60), "{statuses:?}");
    server.stop().await.unwrap();
}

/// Presents a made-up mailed-link token (limited to 30 per 10 minutes per
/// client) with this `X-Forwarded-For`, returning the status.
async fn bogus_link(server: &TestServer, forwarded_for: &str) -> StatusCode {
    let response = server
        .client
        .post(server.url("/api/v1/auth/verify-email"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"token": "not-a-token"}))
        .send()
        .await
        .unwrap();
    response.status()
}

/// Without trusted proxies a client cannot escape its limit by writing
/// `X-Forwarded-For`; behind a listed proxy each forwarded client has its
/// own limit, and what a client prepends to the header is not believed.
#[tokio::test]
async fn rate_limits_count_forwarded_clients_only_behind_trusted_proxies() {
    let direct = TestServer::start().await;
    for i in 0..30 {
        assert_ne!(bogus_link(&direct, &format!("203.0.113.{i}")).await, StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(bogus_link(&direct, "198.51.100.1").await, StatusCode::TOO_MANY_REQUESTS, "a forged header escaped the limit");
    direct.stop().await.unwrap();

    let behind = TestServer::start_with(|args| args.trusted_proxies = Some("127.0.0.1, ::1".into())).await.unwrap();
    for _ in 0..30 {
        assert_ne!(bogus_link(&behind, "203.0.113.1").await, StatusCode::TOO_MANY_REQUESTS);
    }
    assert_eq!(bogus_link(&behind, "203.0.113.1").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(bogus_link(&behind, "203.0.113.99, 203.0.113.1").await, StatusCode::TOO_MANY_REQUESTS, "a prepended address was believed");
    assert_ne!(bogus_link(&behind, "203.0.113.2").await, StatusCode::TOO_MANY_REQUESTS, "another client behind the proxy shares the limit");
    behind.stop().await.unwrap();

    let refused = TestServer::start_with(|args| args.trusted_proxies = Some("10.0.0.0/8, proxy.internal".into())).await;
    let message = format!("{:#}", refused.err().expect("a host name is refused"));
    assert!(message.contains("--trusted-proxies / AGORA_TRUSTED_PROXIES") && message.contains("proxy.internal"), "{message}");
}

#[tokio::test]
async fn browsers_log_in_with_a_cookie_and_other_sites_cannot_post() {
    let (server, smtp) = server_with_mail().await;
    verified_user(&server, &smtp, "dora").await;
    let form = [("username", "dora"), ("password", "dora's password")];

    let refused = server.client.post(server.url("/api/fn/login")).header("sec-fetch-site", "cross-site").form(&form).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused =
        server.client.post(server.url("/api/fn/login")).header("origin", "https://evil.example").form(&form).send().await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let response = server
        .client
        .post(server.url("/api/fn/login"))
        .header("origin", format!("http://{}", server.addr))
        .header("sec-fetch-site", "same-origin")
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let cookie = response.headers().get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(cookie.starts_with("agora_session=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http here");
    let session = cookie.split(';').next().unwrap().to_owned();

    // A browser adds cached Basic credentials to a cross-site request by
    // itself: they do not exempt the cookie's request from the check.
    let forged = server
        .client
        .post(server.url("/api/fn/logout"))
        .header("cookie", &session)
        .header("sec-fetch-site", "cross-site")
        .header("authorization", "Basic ZG9yYTpkb3JhJ3MgcGFzc3dvcmQ=")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN, "Basic credentials are no Bearer token");

    // The server renders the page for the logged-in person.
    let page = server.client.get(server.url("/settings")).header("cookie", &session).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("data-testid=\"current-user\">dora<"), "the header names the user");
    let page = server.client.get(server.url("/settings")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("login-prompt"), "without the cookie, a prompt to log in");

    let failed = server
        .client
        .post(server.url("/api/fn/login"))
        .form(&[("username", "dora"), ("password", "wrong wrong wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), StatusCode::UNAUTHORIZED, "server functions answer with the error's status");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn admins_manage_users_and_deleted_accounts_are_gone() {
    let (server, smtp) = server_with_mail().await;
    let admin = verified_admin(&server, &smtp, "root").await;
    let user = verified_user(&server, &smtp, "erin").await;

    let (status, _) = server.get("/api/v1/admin/users", Some(&user)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, users) = server.get("/api/v1/admin/users", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    let erin = users.as_array().unwrap().iter().find(|u| u["username"] == "erin").unwrap()["id"].as_str().unwrap().to_owned();
    let root = users.as_array().unwrap().iter().find(|u| u["username"] == "root").unwrap()["id"].as_str().unwrap().to_owned();
    let (status, body) =
        server.call(reqwest::Method::PATCH, &format!("/api/v1/admin/users/{root}"), Some(&admin), Some(json!({"role": "user"}))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the only admin stays: {body}");
    let (status, body) =
        server.call(reqwest::Method::PATCH, &format!("/api/v1/admin/users/{erin}"), Some(&admin), Some(json!({"disabled": true}))).await;
    assert_eq!((status, body["disabled"].as_bool()), (StatusCode::OK, Some(true)));
    assert_eq!(server.get("/api/v1/me", Some(&user)).await.0, StatusCode::UNAUTHORIZED, "disabling ends sessions");
    let (status, body) = server.token("erin", "erin's password").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    server.call(reqwest::Method::PATCH, &format!("/api/v1/admin/users/{erin}"), Some(&admin), Some(json!({"disabled": false}))).await;

    let (_, body) = server.token("erin", "erin's password").await;
    let erin_token = body["token"].as_str().unwrap().to_owned();
    let (status, body) =
        server.call(reqwest::Method::DELETE, "/api/v1/me", Some(&erin_token), Some(json!({"password": "wrong one!!"}))).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("password")));
    let (status, job) =
        server.call(reqwest::Method::DELETE, "/api/v1/me", Some(&erin_token), Some(json!({"password": "erin's password"}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let id = job["id"].as_str().unwrap();
    let mut state = String::new();
    for _ in 0..100 {
        let (_, job) = server.get(&format!("/api/v1/jobs/{id}"), None).await;
        state = job["state"].as_str().unwrap().to_owned();
        if state == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(state, "done");
    assert_eq!(server.get("/api/v1/me", Some(&erin_token)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(server.token("erin", "erin's password").await.0, StatusCode::UNAUTHORIZED);
    server.register("erin").await;
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_forgotten_password_is_reset_through_a_mailed_link() {
    let (server, smtp) = server_with_mail().await;
    let old = verified_user(&server, &smtp, "fred").await;
    let (status, _) = server.post("/api/v1/auth/password-reset/request", None, json!({"account": "nobody"})).await;
    assert_eq!(status, StatusCode::ACCEPTED, "unknown accounts get the same answer");
    let (status, _) = server.post("/api/v1/auth/password-reset/request", None, json!({"account": "fred@example.com"})).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let token = mailed_token(&smtp, "fred@example.com", "/reset-password").await;
    let (status, body) =
        server.post("/api/v1/auth/password-reset", None, json!({"token": token, "new_password": "fred's new password"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(server.get("/api/v1/me", Some(&old)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(server.token("fred", "fred's new password").await.0, StatusCode::OK);
    let (status, body) =
        server.post("/api/v1/auth/password-reset", None, json!({"token": token, "new_password": "another new one!"})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("token")), "links work once");
    server.stop().await.unwrap();
}

/// A login lasts at most `--session-max-hours`, however active the person
/// is: renewals stop at that limit, and a token past it is refused even
/// while its own `exp` is ahead (the limit was shortened, or the token
/// predates the claim).
#[tokio::test]
async fn a_login_has_an_absolute_lifetime_besides_the_idle_one() {
    const SECRET: &str = "a session secret for the absolute lifetime test";
    let (server, smtp) = server_with_mail_and(|args| {
        args.session_secret = Some(Secret::new(SECRET.into()));
        args.session_ttl_mins = Some(30);
        args.session_max_hours = Some(1);
    })
    .await;
    let session = verified_user(&server, &smtp, "ida").await;
    let (_, me) = server.get("/api/v1/me", Some(&session)).await;
    let id = me["id"].as_str().unwrap().to_owned();
    let keys = agora_core::auth::token::TokenKeys::new(&Secret::new(SECRET.as_bytes().to_vec())).unwrap();
    let now = agora_core::accounts::unix_now() as u64;
    let minutes = |m: u64| m * 60;

    // Logged in 50 minutes ago, last renewed 25 minutes ago (5 left):
    // renewed, but only for the 10 minutes the login has left.
    let late = keys.issue(&id, 0, now - minutes(50), now - minutes(25), minutes(30)).unwrap();
    let response = server.client.get(server.url("/api/v1/me")).header("cookie", format!("agora_session={late}")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let renewed = response.headers().get("set-cookie").expect("an active session is renewed").to_str().unwrap().to_owned();
    let max_age: u64 = renewed.split("Max-Age=").nth(1).unwrap().split(';').next().unwrap().parse().unwrap();
    assert!((minutes(9)..=minutes(10)).contains(&max_age), "renewed up to the login's end, not for 30 minutes: {renewed}");
    let fresh = renewed.trim_start_matches("agora_session=").split(';').next().unwrap();
    let claims = keys.verify(fresh).unwrap();
    assert_eq!(claims.logged_in_at(), now - minutes(50), "a renewal keeps the login's time");
    assert!(claims.exp <= now - minutes(50) + minutes(60) + 5);

    // Past the limit: refused though `exp` is 20 minutes ahead, as Bearer
    // and as cookie, and never renewed.
    let expired = keys.issue(&id, 0, now - minutes(61), now - minutes(10), minutes(30)).unwrap();
    assert_eq!(server.get("/api/v1/me", Some(&expired)).await.0, StatusCode::UNAUTHORIZED);
    let response = server.client.get(server.url("/api/v1/me")).header("cookie", format!("agora_session={expired}")).send().await.unwrap();
    assert!(response.headers().get("set-cookie").is_none());
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "the cookie no longer logs anyone in");
    // A token from before the login time was a claim counts from its issue.
    let old_style = keys.issue(&id, 0, 0, now - minutes(70), minutes(80)).unwrap();
    assert_eq!(server.get("/api/v1/me", Some(&old_style)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(server.get("/api/v1/me", Some(&session)).await.0, StatusCode::OK, "a new login is unaffected");
}
