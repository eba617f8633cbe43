//! Remote monitored sources against real peers: Flask services with
//! flask-monitoring-dashboard 5.1.0 (JSON API behind a login) and 2.0.7
//! (token-signed export), installed from PyPI by scripts/install-test-tools.
//! Requests made to them appear in Agora's statistics; wrong addresses and
//! credentials are refused before anything is saved; a failing peer shows
//! its error and backs off; alert rules mail their owner.

mod common;

use std::time::{Duration, Instant};

use agora_testkit::{flask_peer, FlaskPeer, PEER_PASSWORD, PEER_TOKEN};
use common::api::{server_with_mail_and, verified_admin, verified_user};
use common::TestServer;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

const SOURCES: &str = "/api/v1/monitoring/sources";

/// The peers run on loopback, which only a listed address may reach; a
/// fetch every second.
fn fetch_loopback_peers(args: &mut agora_server::cli::ServeArgs) {
    args.monitor_fetch_secs = Some(1);
    args.monitor_allow = Some("127.0.0.0/8".into());
}

async fn hit(peer: &FlaskPeer, path: &str, times: usize) {
    let client = reqwest::Client::new();
    for _ in 0..times {
        client.get(peer.url(path)).send().await.unwrap();
    }
}

/// Waits until the source's `statistic` of `endpoint` is `want`.
async fn wait_for_value(server: &TestServer, token: &str, source: &str, query: &str, want: f64) -> Value {
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let (status, answer) = server.get(&format!("{SOURCES}/{source}/statistics?{query}"), Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        if answer["value"].as_f64() == Some(want) {
            return answer;
        }
        assert!(Instant::now() < deadline, "{query} of {source} never became {want}: {answer}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn field(body: &Value) -> &str {
    body["error"]["field"].as_str().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_peer_protocols_feed_statistics() {
    let (server, smtp) = server_with_mail_and(fetch_loopback_peers).await;
    let admin = verified_admin(&server, &smtp, "root").await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let bob = verified_user(&server, &smtp, "bob").await;
    let (v5, v2) = (flask_peer("fmd5"), flask_peer("fmd2"));

    // Checked before saving: each wrong part is a 400 naming its field.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let wrong = [
        (
            json!({"name": "x", "url": format!("http://127.0.0.1:{closed}/dashboard"), "protocol": "fmd-api", "username": "admin", "password": PEER_PASSWORD}),
            "url",
        ),
        (json!({"name": "x", "url": v5.dashboard_url(), "protocol": "fmd-api", "username": "admin", "password": "wrong"}), "password"),
        (json!({"name": "x", "url": v2.dashboard_url(), "protocol": "fmd-token", "token": "not-the-token"}), "token"),
        (json!({"name": "x", "url": v5.dashboard_url(), "protocol": "fmd-token", "token": PEER_TOKEN}), "url"),
        (json!({"name": "x", "url": v2.dashboard_url(), "protocol": "fmd-api", "username": "admin"}), "password"),
        (json!({"name": "", "url": v2.dashboard_url(), "protocol": "fmd-token", "token": PEER_TOKEN}), "name"),
    ];
    for (body, want) in wrong {
        let (status, err) = server.post(SOURCES, Some(&ann), body.clone()).await;
        assert_eq!((status, field(&err)), (StatusCode::BAD_REQUEST, want), "{body}: {err}");
        if body["protocol"] == "fmd-token" && body["url"] == json!(v5.dashboard_url()) {
            assert!(err["error"]["message"].as_str().unwrap().contains("choose the login protocol"), "{err}");
        }
    }
    let (_, listed) = server.get(SOURCES, Some(&ann)).await;
    assert_eq!(listed, json!([]), "nothing was saved");

    let (status, api) = server
        .post(
            SOURCES,
            Some(&ann),
            json!({"name": "Shop (5.x)", "url": v5.dashboard_url(), "protocol": "fmd-api", "username": "admin", "password": PEER_PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{api}");
    let (status, token) = server
        .post(SOURCES, Some(&ann), json!({"name": "Legacy (2.x)", "url": v2.dashboard_url(), "protocol": "fmd-token", "token": PEER_TOKEN}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{token}");
    assert!(!api.to_string().contains(PEER_PASSWORD) && !token.to_string().contains(PEER_TOKEN), "credentials never come back");
    let (api, token) = (api["id"].as_str().unwrap().to_owned(), token["id"].as_str().unwrap().to_owned());

    for peer in [&v5, &v2] {
        hit(peer, "/hello", 5).await;
        hit(peer, "/slow", 3).await;
        hit(peer, "/fail", 2).await;
    }
    for source in [&api, &token] {
        wait_for_value(&server, &ann, source, "statistic=total_visits&endpoint=hello", 5.0).await;
        wait_for_value(&server, &ann, source, "statistic=total_visits&endpoint=slow", 3.0).await;
        let (_, median) = server.get(&format!("{SOURCES}/{source}/statistics?statistic=median&endpoint=slow"), Some(&ann)).await;
        let median = median["value"].as_f64().unwrap();
        assert!((20.0..200.0).contains(&median), "/slow sleeps 20 ms; its median is {median} ms");
        let (_, daily) = server
            .get(&format!("{SOURCES}/{source}/statistics?statistic=total_visits&timeslice=day&timeslice_is_static=true"), Some(&ann))
            .await;
        assert_eq!(daily["series"].as_array().unwrap().last().unwrap()["value"].as_f64(), Some(10.0), "{daily}");
        let (status, view) = server.get(&format!("{SOURCES}/{source}"), Some(&ann)).await;
        assert_eq!((status, view["health"].as_str()), (StatusCode::OK, Some("ok")), "{view}");
        assert_eq!(view["calls_24h"].as_u64(), Some(10), "{view}");
    }
    // The token export carries each call's address.
    let (_, per_ip) = server.get(&format!("{SOURCES}/{token}/statistics?statistic=visits_per_ip"), Some(&ann)).await;
    assert_eq!(per_ip["visits_per_ip"], json!([["127.0.0.1", 10]]), "{per_ip}");

    // Errors: 5.x lists each call answered with an error; 2.0 records no status.
    for (source, want) in [(&api, 1.0), (&token, 0.0)] {
        let (_, overview) = server.get(&format!("{SOURCES}/{source}/overview"), Some(&ann)).await;
        let fail = overview["endpoints"].as_array().unwrap().iter().find(|r| r["endpoint"] == "fail").cloned().unwrap();
        assert_eq!(fail["error_rate"].as_f64(), Some(want), "{overview}");
    }

    // Endpoints switched off leave box plots and all-endpoint statistics.
    let toggle = server
        .call(Method::PUT, &format!("{SOURCES}/{api}/endpoints"), Some(&ann), Some(json!({"endpoint": "fail", "enabled": false})))
        .await;
    assert_eq!(toggle.0, StatusCode::OK, "{}", toggle.1);
    assert_eq!(toggle.1["disabled_endpoints"], json!(["fail"]));
    let (_, overview) = server.get(&format!("{SOURCES}/{api}/overview"), Some(&ann)).await;
    let rows = overview["endpoints"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "{overview}");
    assert_eq!(rows.iter().find(|r| r["endpoint"] == "fail").unwrap()["enabled"], json!(false));
    let plotted: Vec<&str> = overview["box_plots"].as_array().unwrap().iter().map(|b| b["endpoint"].as_str().unwrap()).collect();
    assert!(!plotted.contains(&"fail") && plotted.contains(&"slow"), "{plotted:?}");
    assert_eq!(overview["calls"].as_u64(), Some(8));
    wait_for_value(&server, &ann, &api, "statistic=total_visits", 8.0).await;

    // Who may see it: its owner and administrators.
    assert_eq!(server.get(&format!("{SOURCES}/{api}"), Some(&admin)).await.0, StatusCode::OK);
    assert_eq!(server.get(&format!("{SOURCES}/{api}/statistics?statistic=median"), Some(&bob)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(server.get(&format!("{SOURCES}/{api}/overview"), Some(&bob)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(server.call(Method::DELETE, &format!("{SOURCES}/{api}"), Some(&bob), None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(server.get(&format!("{SOURCES}/r0123456789ab"), Some(&ann)).await.0, StatusCode::NOT_FOUND);
    let (_, bobs) = server.get(SOURCES, Some(&bob)).await;
    assert_eq!(bobs, json!([]));
    let (_, admins) = server.get(SOURCES, Some(&admin)).await;
    let ids: Vec<&str> = admins.as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids[0], "agora", "Agora itself comes first");
    assert!(ids.contains(&api.as_str()) && ids.contains(&token.as_str()));

    // An alert rule mails its owner when the p99 of /slow is over 1 ms.
    let rules = format!("{SOURCES}/{token}/rules");
    let (status, err) = server.post(&rules, Some(&ann), json!({"statistic": "p99", "window_minutes": 5, "threshold": 1})).await;
    assert_eq!((status, field(&err)), (StatusCode::BAD_REQUEST, "statistic"));
    let (status, rule) = server
        .post(&rules, Some(&ann), json!({"endpoint": "slow", "statistic": "percentile_99", "window_minutes": 5, "threshold": 1}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{rule}");
    let mail = smtp.wait_for("Alert on Legacy (2.x)").await;
    assert!(mail.contains("ann@example.com") && mail.contains("p99 of slow over 5 min above 1 ms"), "{mail}");
    let (_, listed) = server.get(&rules, Some(&ann)).await;
    assert_eq!(listed[0]["firing"], json!(true), "{listed}");
    assert!(listed[0]["last_value"].as_f64().unwrap() > 20.0);

    // Deleting a source deletes what was fetched; its fetches stop.
    assert_eq!(server.call(Method::DELETE, &format!("{SOURCES}/{api}"), Some(&ann), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(server.get(&format!("{SOURCES}/{api}/statistics?statistic=median"), Some(&ann)).await.0, StatusCode::NOT_FOUND);
    hit(&v5, "/hello", 1).await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    let (_, listed) = server.get(SOURCES, Some(&ann)).await;
    assert_eq!(listed.as_array().unwrap().len(), 1, "a deleted source is not brought back by a fetch in flight: {listed}");

    // Credentials are sealed at rest: no file of the data directory (the
    // bucket's objects included) holds the token or the password.
    for secret in [PEER_TOKEN, PEER_PASSWORD] {
        let found = files_containing(server.data_dir.path(), secret.as_bytes());
        assert!(found.is_empty(), "{secret:?} is stored in the clear in {found:?}");
    }

    // Deleting the account deletes its sources and their rules: nothing is
    // fetched with its credentials any more.
    let (status, job) = server.call(Method::DELETE, "/api/v1/me", Some(&ann), Some(json!({"password": "ann's password"}))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    let job = job["id"].as_str().unwrap().to_owned();
    let deadline = Instant::now() + Duration::from_secs(20);
    while server.get(&format!("/api/v1/jobs/{job}"), None).await.1["state"] != "done" {
        assert!(Instant::now() < deadline, "the account deletion did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, admins) = server.get(SOURCES, Some(&admin)).await;
    assert_eq!(admins.as_array().unwrap().len(), 1, "only Agora itself is left: {admins}");
    assert_eq!(server.get(&format!("{SOURCES}/{token}"), Some(&admin)).await.0, StatusCode::NOT_FOUND);
    server.stop().await.unwrap();
}

/// The files under `dir` whose bytes contain `needle`.
fn files_containing(dir: &std::path::Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if std::fs::read(&path).is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle)) {
                found.push(path);
            }
        }
    }
    found
}

/// A peer that passes the check, then fails every fetch.
async fn failing_peer() -> String {
    use axum::routing::get;
    let rules = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"data": "[{\"name\": \"hello\"}]"}),
        &jsonwebtoken::EncodingKey::from_secret(PEER_TOKEN.as_bytes()),
    )
    .unwrap();
    let checked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let app = axum::Router::new().route(
        "/dashboard/get_json_monitor_rules",
        get(move || {
            let first = !checked.swap(true, std::sync::atomic::Ordering::SeqCst);
            let rules = rules.clone();
            async move {
                if first {
                    (StatusCode::OK, rules)
                } else {
                    (StatusCode::INTERNAL_SERVER_ERROR, "database is locked".to_owned())
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/dashboard", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_peer_shows_its_error_and_backs_off() {
    let (server, smtp) = server_with_mail_and(fetch_loopback_peers).await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let url = failing_peer().await;
    let (status, source) =
        server.post(SOURCES, Some(&ann), json!({"name": "Flaky", "url": url, "protocol": "fmd-token", "token": PEER_TOKEN})).await;
    assert_eq!(status, StatusCode::CREATED, "{source}");
    let id = source["id"].as_str().unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let view = loop {
        let (_, view) = server.get(&format!("{SOURCES}/{id}"), Some(&ann)).await;
        if view["failures"].as_u64() >= Some(2) {
            break view;
        }
        assert!(Instant::now() < deadline, "the failing peer was not retried: {view}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(view["health"], "failing");
    let error = view["last_error"].as_str().unwrap();
    assert!(error.contains("is not a flask-monitoring-dashboard") && !error.contains("500"), "says nothing of what answered: {view}");
    let parse = |field: &str| agora_model::monitoring::parse_iso8601(view[field].as_str().unwrap()).unwrap();
    // After the second failure in a row the wait is 4 × the 1 s interval.
    assert!(parse("next_fetch_at") - parse("last_attempt_at") >= 4_000, "{view}");
    server.stop().await.unwrap();
}
