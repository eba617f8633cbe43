//! Attacks through monitored sources, the one place Agora fetches an
//! address a user gave: each is refused and leaves nothing saved.
//!
//! - The SSRF matrix: loopback in every spelling, unspecified, mapped
//!   IPv6, a name resolving to loopback, private and metadata addresses —
//!   refused before any connection (a listener counts the connections);
//!   Agora's own listeners refused even when loopback is listed; a
//!   redirect to loopback not followed; a listed address reached.
//! - What a peer can cost: an endless answer is cut off; a stalled peer
//!   does not delay another account's fetches; an account adds at most
//!   `MAX_SOURCES_PER_USER` sources, racing adds included.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use agora_testkit::PEER_TOKEN;
use common::api::{server_with_mail_and, verified_admin, verified_user};
use common::TestServer;
use reqwest::StatusCode;
use serde_json::{json, Value};

const SOURCES: &str = "/api/v1/monitoring/sources";

/// A listener on `ip` that counts the connections it accepts and answers
/// each with `answer` (raw HTTP).
async fn counting_listener(ip: &str, answer: &'static str) -> (u16, Arc<AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&count);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(async move {
                let mut buffer = [0u8; 4096];
                let _ = socket.read(&mut buffer).await;
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    (port, count)
}

fn token_source(url: &str) -> Value {
    json!({"name": "probe", "url": url, "protocol": "fmd-token", "token": PEER_TOKEN})
}

/// Adds a source; returns the status and the error message.
async fn add(server: &TestServer, token: &str, body: Value) -> (StatusCode, String, Value) {
    let (status, answer) = server.post(SOURCES, Some(token), body).await;
    (status, answer["error"]["message"].as_str().unwrap_or_default().to_owned(), answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inside_addresses_are_refused_before_any_connection() {
    let (server, smtp) = server_with_mail_and(|_| {}).await;
    let _root = verified_admin(&server, &smtp, "root").await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let (port, connections) = counting_listener("127.0.0.1", "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
    let urls = [
        format!("http://127.0.0.1:{port}/dashboard"),
        format!("http://127.1:{port}/dashboard"),
        format!("http://2130706433:{port}/dashboard"),
        format!("http://0177.0.0.1:{port}/dashboard"),
        format!("http://0x7f000001:{port}/dashboard"),
        format!("http://localhost:{port}/dashboard"),
        format!("http://[::ffff:127.0.0.1]:{port}/dashboard"),
        format!("http://[::1]:{port}/dashboard"),
        format!("http://0.0.0.0:{port}/dashboard"),
        format!("http://[::]:{port}/dashboard"),
        "http://169.254.169.254/latest/meta-data".to_owned(),
        "http://[::ffff:a9fe:a9fe]/latest/meta-data".to_owned(),
        "http://[fd00:ec2::254]/latest/meta-data".to_owned(),
        "http://100.100.100.200/latest/meta-data".to_owned(),
        "http://10.0.0.1/dashboard".to_owned(),
        "http://172.16.0.1/dashboard".to_owned(),
        "http://192.168.0.1/dashboard".to_owned(),
        "http://[fd12:3456::1]/dashboard".to_owned(),
        "http://224.0.0.1/dashboard".to_owned(),
    ];
    for url in &urls {
        let started = Instant::now();
        let (status, message, answer) = add(&server, &ann, token_source(url)).await;
        assert_eq!((status, answer["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("url")), "{url}: {answer}");
        assert!(message.contains("refused by the destination policy"), "{url}: {message}");
        assert!(started.elapsed() < Duration::from_secs(3), "{url} was refused without trying to connect");
    }
    assert_eq!(connections.load(Ordering::SeqCst), 0, "no connection reached the listener");
    let (_, listed) = server.get(SOURCES, Some(&ann)).await;
    assert_eq!(listed, json!([]), "nothing was saved");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listed_addresses_are_reached_and_redirects_never_followed() {
    let (server, smtp) = server_with_mail_and(|args| args.monitor_allow = Some("127.0.0.2".into())).await;
    let root = verified_admin(&server, &smtp, "root").await;
    let ann = verified_user(&server, &smtp, "ann").await;

    // A listed address is reached; its answer is not described.
    let (listed_port, reached) = counting_listener("127.0.0.2", "HTTP/1.1 403 Forbidden\r\ncontent-length: 9\r\n\r\nforbidden").await;
    let (status, message, _) = add(&server, &ann, token_source(&format!("http://127.0.0.2:{listed_port}/dashboard"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("is not a flask-monitoring-dashboard"), "{message}");
    assert!(!message.contains("403") && !message.contains("Forbidden") && !message.contains("forbidden"), "{message}");
    assert!(reached.load(Ordering::SeqCst) >= 1, "the listed address was reached");

    // A listed address that redirects to loopback: the redirect is not followed.
    let (target, followed) = counting_listener("127.0.0.1", "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await;
    let redirect: &'static str = Box::leak(
        format!("HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{target}/dashboard/get_json_monitor_rules\r\ncontent-length: 0\r\n\r\n")
            .into_boxed_str(),
    );
    let (redirecting, _) = counting_listener("127.0.0.2", redirect).await;
    let (status, message, _) = add(&server, &ann, token_source(&format!("http://127.0.0.2:{redirecting}/dashboard"))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{message}");
    assert_eq!(followed.load(Ordering::SeqCst), 0, "the redirect to loopback was not followed");

    // Administrators see the policy; others do not.
    let (status, policy) = server.get("/api/v1/monitoring/policy", Some(&root)).await;
    assert_eq!(status, StatusCode::OK, "{policy}");
    assert_eq!(policy["allowed"], json!(["127.0.0.2/32"]));
    assert!(policy["own_listeners"].as_array().unwrap().contains(&json!(server.addr.to_string())), "{policy}");
    assert!(policy["never"].to_string().contains("metadata"), "{policy}");
    assert_eq!(server.get("/api/v1/monitoring/policy", Some(&ann)).await.0, StatusCode::FORBIDDEN);
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agoras_own_listeners_are_refused_even_when_loopback_is_listed() {
    let s3 = common::node::free_addr();
    let s3_for_args = s3.clone();
    let (server, smtp) = server_with_mail_and(move |args| {
        // ::1 too, so that every address `localhost` has is listed.
        args.monitor_allow = Some("127.0.0.0/8, ::1".into());
        args.s3_addr = Some(s3_for_args);
    })
    .await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let s3_port = s3.rsplit(':').next().unwrap();
    for url in [
        format!("http://{s3}/agora"),
        format!("http://localhost:{s3_port}/agora"),
        format!("http://[::ffff:127.0.0.1]:{s3_port}/agora"),
        format!("http://{}/dashboard", server.addr),
    ] {
        let (status, message, _) = add(&server, &ann, token_source(&url)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{url}");
        assert!(message.contains("Agora's own listener"), "{url}: {message}");
    }
    server.stop().await.unwrap();
}

/// The rules export of a token peer with one endpoint.
fn signed(data: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({ "data": data }),
        &jsonwebtoken::EncodingKey::from_secret(PEER_TOKEN.as_bytes()),
    )
    .unwrap()
}

/// A token peer on 127.0.0.1 that passes the check; its calls export
/// answers at once (`stall: false`) or never.
async fn token_peer(stall: bool) -> String {
    use axum::routing::get;
    let rules = signed("[{\"name\": \"hello\"}]");
    let calls = signed("[]");
    let app = axum::Router::new().route("/dashboard/get_json_monitor_rules", get(move || std::future::ready(rules.clone()))).route(
        "/dashboard/get_json_data/{from}/{to}",
        get(move || {
            let calls = calls.clone();
            async move {
                if stall {
                    std::future::pending::<()>().await;
                }
                calls
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/dashboard", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_costs_only_its_own_budget() {
    let (server, smtp) = server_with_mail_and(|args| {
        args.monitor_allow = Some("127.0.0.1".into());
        args.monitor_fetch_secs = Some(1);
    })
    .await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let bob = verified_user(&server, &smtp, "bob").await;

    // An endless answer is cut off at the cap, not read to the end.
    let endless = {
        use axum::routing::get;
        let body = futures::stream::repeat_with(|| Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'a'; 1 << 16])));
        let app = axum::Router::new()
            .route("/dashboard/get_json_monitor_rules", get(move || std::future::ready(axum::body::Body::from_stream(body.clone()))));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/dashboard", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        url
    };
    let started = Instant::now();
    let (status, message, _) = add(&server, &ann, token_source(&endless)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains("is not a flask-monitoring-dashboard"), "{message}");
    assert!(started.elapsed() < Duration::from_secs(10), "cut off after {:?}", started.elapsed());

    // Ann's peer stalls every fetch; Bob's is fetched meanwhile, not after
    // Ann's request times out.
    let (status, _, stalled) =
        add(&server, &ann, json!({"name": "A stalled", "url": token_peer(true).await, "protocol": "fmd-token", "token": PEER_TOKEN})).await;
    assert_eq!(status, StatusCode::CREATED, "{stalled}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let added = Instant::now();
    let (status, _, good) =
        add(&server, &bob, json!({"name": "B good", "url": token_peer(false).await, "protocol": "fmd-token", "token": PEER_TOKEN})).await;
    assert_eq!(status, StatusCode::CREATED, "{good}");
    let good = good["id"].as_str().unwrap();
    loop {
        let (_, view) = server.get(&format!("{SOURCES}/{good}"), Some(&bob)).await;
        if view["health"] == "ok" {
            break;
        }
        assert!(added.elapsed() < Duration::from_secs(10), "Bob's source waited for Ann's stalled peer: {view}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // At most MAX_SOURCES_PER_USER sources per account, even when adds
    // race: Ann (who has one) sends the cap's worth and five more at once.
    let url = token_peer(false).await;
    let max = agora_core::monitoring::sources::MAX_SOURCES_PER_USER;
    let racing = (0..max + 4).map(|n| {
        let (server, ann, url) = (&server, &ann, &url);
        async move { add(server, ann, json!({"name": format!("s{n}"), "url": url, "protocol": "fmd-token", "token": PEER_TOKEN})).await.0 }
    });
    let statuses = futures::future::join_all(racing).await;
    let accepted = statuses.iter().filter(|s| **s == StatusCode::CREATED).count();
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::BAD_REQUEST), "{statuses:?}");
    // Ann sees her own sources only.
    let owned = |list: &Value| list.as_array().unwrap().iter().filter(|s| s["kind"] != "self").count();
    let (_, list) = server.get(SOURCES, Some(&ann)).await;
    assert_eq!(owned(&list), accepted + 1, "every accepted add is kept and every refused one is gone: {list}");
    assert!(accepted < max, "{accepted} racing adds were accepted on top of the one she had; the cap is {max}");
    // What the race left free can still be filled, up to the cap exactly.
    for n in accepted + 1..max {
        let (status, message, _) =
            add(&server, &ann, json!({"name": format!("t{n}"), "url": url, "protocol": "fmd-token", "token": PEER_TOKEN})).await;
        assert_eq!(status, StatusCode::CREATED, "source {n}: {message}");
    }
    let (status, message, _) =
        add(&server, &ann, json!({"name": "one too many", "url": url, "protocol": "fmd-token", "token": PEER_TOKEN})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.contains(&format!("at most {max}")), "{message}");
    let (status, _, _) =
        add(&server, &bob, json!({"name": "bob's second", "url": url, "protocol": "fmd-token", "token": PEER_TOKEN})).await;
    assert_eq!(status, StatusCode::CREATED, "the cap is per account");
    server.stop().await.unwrap();
}
