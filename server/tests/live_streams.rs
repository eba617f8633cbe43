//! Live streams (server-sent events) on a real server: capped per account
//! and per node, and ended within seconds once the caller's right to what
//! they show is gone, while streams whose rights stand stay open.

mod common;

use std::time::Duration;

use common::api::{server_with_mail_and, verified_user};
use reqwest::{Method, StatusCode};
use serde_json::json;
use tokio::task::JoinHandle;

async fn open(server: &common::TestServer, path: &str, bearer: Option<&str>) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(server.url(path));
    if let Some(bearer) = bearer {
        request = request.bearer_auth(bearer);
    }
    request.send().await.unwrap()
}

/// Reads a stream that opened with 200 to its end; the task's result is
/// everything it carried.
fn follow(response: reqwest::Response) -> JoinHandle<String> {
    assert_eq!(response.status(), StatusCode::OK, "the stream opened");
    tokio::spawn(async move {
        let mut stream = response.bytes_stream();
        let mut text = String::new();
        while let Some(Ok(chunk)) = futures::StreamExt::next(&mut stream).await {
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        text
    })
}

/// The stream ended with `event: ended` within `secs` seconds.
async fn ends_within(stream: JoinHandle<String>, secs: u64, what: &str) {
    let text = tokio::time::timeout(Duration::from_secs(secs), stream)
        .await
        .unwrap_or_else(|_| panic!("{what}: the stream was still open after {secs} s"))
        .unwrap();
    assert!(text.contains("event: ended"), "{what}: ended without saying so: {text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_are_capped_per_account_and_per_node() {
    let (server, smtp) = server_with_mail_and(|args| {
        args.live_streams_per_user = Some(2);
        args.live_streams = Some(3);
    })
    .await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let ben = verified_user(&server, &smtp, "ben").await;
    let (_, dataset) = server.post("/api/v1/datasets", Some(&ann), json!({"name": "pets"})).await;
    let id = dataset["id"].as_str().unwrap().to_owned();
    server.call(Method::PATCH, &format!("/api/v1/datasets/{id}"), Some(&ann), Some(json!({"visibility": "public"}))).await;
    let events = format!("/api/v1/datasets/{id}/events");

    let first = open(&server, &events, Some(&ann)).await;
    let _second = follow(open(&server, &events, Some(&ann)).await);
    let refused = open(&server, &events, Some(&ann)).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let body: serde_json::Value = refused.json().await.unwrap();
    let message = body["error"]["message"].as_str().unwrap();
    assert!(message.contains("at most 2 live streams per account") && message.contains("AGORA_LIVE_STREAMS_PER_USER"), "{message}");

    // Another account has places of its own, up to the node's limit.
    let _bens = follow(open(&server, &events, Some(&ben)).await);
    let anonymous = open(&server, &events, None).await;
    assert_eq!(anonymous.status(), StatusCode::TOO_MANY_REQUESTS, "the node serves 3 streams, its limit");
    let body: serde_json::Value = anonymous.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("AGORA_LIVE_STREAMS)"), "{body}");

    // A closed stream gives its place back.
    drop(first);
    let reopened = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let response = open(&server, &events, Some(&ann)).await;
            if response.status() == StatusCode::OK {
                return response;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("the place of a closed stream is free again within 30 s");
    drop(reopened);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_ends_within_seconds_once_its_right_is_gone() {
    let (server, smtp) = server_with_mail_and(|_| {}).await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let ben = verified_user(&server, &smtp, "ben").await;
    let (_, dataset) = server.post("/api/v1/datasets", Some(&ann), json!({"name": "private pets"})).await;
    let id = dataset["id"].as_str().unwrap().to_owned();
    let events = format!("/api/v1/datasets/{id}/events");
    let (status, run) = server.post(&format!("/api/v1/datasets/{id}/runs"), Some(&ann), json!({"name": "watched"})).await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let log = format!("/api/v1/datasets/{id}/runs/{}/logs/events", run["id"].as_str().unwrap());
    let scopes = json!([{"kind": "dataset", "dataset_id": id, "access": "read"}]);
    let (_, key) = server.post("/api/v1/me/keys", Some(&ann), json!({"name": "watcher", "scopes": scopes})).await;
    let (key_secret, key_id) = (key["secret"].as_str().unwrap().to_owned(), key["key"]["id"].as_str().unwrap().to_owned());

    // Ann's own session watches throughout: nothing below takes her right.
    let owner = follow(open(&server, &events, Some(&ann)).await);

    // A member removed from the dataset: their change and log streams end.
    server.post(&format!("/api/v1/datasets/{id}/members"), Some(&ann), json!({"username": "ben", "role": "viewer"})).await;
    let member_events = follow(open(&server, &events, Some(&ben)).await);
    let member_log = follow(open(&server, &log, Some(&ben)).await);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!member_events.is_finished() && !member_log.is_finished(), "a member's streams stay open past a recheck");
    server.post(&format!("/api/v1/datasets/{id}/members"), Some(&ann), json!({"username": "ben", "role": null})).await;
    ends_within(member_events, 8, "removed member, dataset changes").await;
    ends_within(member_log, 8, "removed member, run log").await;

    // A revoked API key.
    let keyed = follow(open(&server, &events, Some(&key_secret)).await);
    let (status, _) = server.call(Method::DELETE, &format!("/api/v1/me/keys/{key_id}"), Some(&ann), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    ends_within(keyed, 8, "revoked key").await;

    // An anonymous reader of a dataset made private again.
    server.call(Method::PATCH, &format!("/api/v1/datasets/{id}"), Some(&ann), Some(json!({"visibility": "public"}))).await;
    let reader = follow(open(&server, &events, None).await);
    server.call(Method::PATCH, &format!("/api/v1/datasets/{id}"), Some(&ann), Some(json!({"visibility": "private"}))).await;
    ends_within(reader, 8, "dataset made private").await;

    // The owner's stream outlived all of that; logging out ends it.
    assert!(!owner.is_finished(), "a stream whose right stands stays open");
    let (status, _) = server.post("/api/v1/auth/logout", Some(&ann), json!({})).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    ends_within(owner, 8, "logged out").await;
}
