//! Training runs over REST: the example clients' whole flow (Python and
//! shell, run as a training script would run), retries, stale sessions, bad
//! input, artifacts checked byte for byte, and a user without rights.

mod common;

use std::time::Duration;

use common::api::{server_with_mail, server_with_mail_and, verified_user};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn key_for(server: &common::TestServer, session: &str, dataset: &str, access: &str) -> String {
    let scopes = json!([{"kind": "dataset", "dataset_id": dataset, "access": access}]);
    let (status, created) = server.post("/api/v1/me/keys", Some(session), json!({"name": "trainer", "scopes": scopes})).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["secret"].as_str().unwrap().to_owned()
}

fn example(server: &common::TestServer, program: &str, script: &str, key: &str, dataset: &str, name: &str) -> std::process::Output {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    std::process::Command::new(program)
        .arg(format!("{root}/examples/{script}"))
        .env("AGORA_URL", server.url(""))
        .env("AGORA_KEY", key)
        .env("AGORA_DATASET", dataset)
        .env("AGORA_RUN_NAME", name)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_clients_report_sessions_that_people_can_follow() {
    let (server, smtp) = server_with_mail().await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let ben = verified_user(&server, &smtp, "ben").await;
    let (_, dataset) = server.post("/api/v1/datasets", Some(&ann), json!({"name": "pets"})).await;
    let id = dataset["id"].as_str().unwrap().to_owned();
    let key = key_for(&server, &ann, &id, "read_write").await;

    for (program, script, name) in [("python3", "train_client.py", "resnet python"), ("sh", "train_client.sh", "resnet shell")] {
        let (server, key, id) = (&server, key.clone(), id.clone());
        let output = tokio::task::block_in_place(|| example(server, program, script, &key, &id, name));
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{script}: {stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        assert!(stdout.contains("finished"), "{stdout}");
    }

    let (status, runs) = server.get(&format!("/api/v1/datasets/{id}/runs"), Some(&ann)).await;
    assert_eq!(status, StatusCode::OK, "{runs}");
    let runs = runs.as_array().unwrap().clone();
    assert_eq!(runs.len(), 2);
    for run in &runs {
        assert_eq!(run["status"], "finished");
        assert_eq!(run["rounds"].as_array().unwrap().len(), 3, "{run}");
        assert!(run["rounds"][2]["metrics"]["loss"].as_f64().unwrap() < 1.0);
        assert_eq!(run["rounds"][2]["artifacts"][0]["name"], "model.h5");
        assert_eq!(run["rounds"][2]["artifacts"][0]["size"], 65536);
        assert_eq!(run["by"], "ann");
    }
    let run = runs.iter().find(|r| r["name"] == "resnet python").unwrap()["id"].as_str().unwrap().to_owned();
    let base = format!("/api/v1/datasets/{id}/runs/{run}");

    // The log downloads whole; the artifact downloads through a presigned URL.
    let log = server.client.get(server.url(&format!("{base}/logs"))).bearer_auth(&ann).send().await.unwrap();
    assert_eq!(log.status(), StatusCode::OK);
    let text = log.text().await.unwrap();
    assert_eq!(text.lines().count(), 15, "{text}");
    assert!(text.starts_with("round 1: batch 0 loss"), "{text}");
    let (status, link) = server.get(&format!("{base}/rounds/3/artifacts/model.h5"), Some(&ann)).await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let bytes = reqwest::get(link["url"].as_str().unwrap()).await.unwrap().bytes().await.unwrap();
    assert_eq!(bytes.len(), 65536);

    // Searchable by name, parameters and metric names.
    for q in ["resnet", "adam", "accuracy"] {
        let (_, found) = server.get(&format!("/api/v1/search?q={q}&kind=run"), Some(&ann)).await;
        assert!(found["runs"].as_u64().unwrap() >= 1, "{q}: {found}");
    }
    let (_, found) = server.get("/api/v1/search?q=resnet&kind=run", Some(&ben)).await;
    assert_eq!(found["runs"], 0, "ben may not read the dataset");

    // A second user without rights sees nothing, and cannot report.
    assert_eq!(server.get(&format!("/api/v1/datasets/{id}/runs"), Some(&ben)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(server.get(&base, Some(&ben)).await.0, StatusCode::NOT_FOUND);
    let (status, _) = server.post(&format!("/api/v1/datasets/{id}/runs"), Some(&ben), json!({"name": "intruder"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let read_only = key_for(&server, &ann, &id, "read").await;
    let (status, _) = server.post(&format!("/api/v1/datasets/{id}/runs"), Some(&read_only), json!({"name": "x"})).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a read-only key cannot start sessions");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn retries_are_idempotent_bad_input_is_refused_and_silent_sessions_go_stale() {
    let (server, smtp) = server_with_mail_and(|args| {
        args.run_stale_secs = Some(10);
        args.run_log_max_bytes = Some(64 * 1024);
    })
    .await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let (_, dataset) = server.post("/api/v1/datasets", Some(&ann), json!({"name": "pets"})).await;
    let id = dataset["id"].as_str().unwrap().to_owned();
    let key = key_for(&server, &ann, &id, "read_write").await;
    let runs = format!("/api/v1/datasets/{id}/runs");

    // Starting twice with one idempotency key gives one session.
    let start = json!({"name": "retry", "params": {"lr": 0.1}, "idempotency_key": "job-42"});
    let (status, first) = server.post(&runs, Some(&key), start.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    let (_, second) = server.post(&runs, Some(&key), start).await;
    assert_eq!(first["id"], second["id"]);
    let run = first["id"].as_str().unwrap().to_owned();
    let base = format!("{runs}/{run}");

    // The same round twice is one round.
    let round = json!({"round": 1, "metrics": {"loss": 0.5}});
    server.post(&format!("{base}/rounds"), Some(&key), round.clone()).await;
    let (status, view) = server.post(&format!("{base}/rounds"), Some(&key), round).await;
    assert_eq!((status, view["rounds"].as_array().unwrap().len()), (StatusCode::OK, 1));

    // Bad input names the field and the rule, and changes nothing.
    let bad: [(Value, &str); 4] = [
        (json!({"round": 2, "metrics": {"loss": "low"}}), "metrics.loss"),
        (json!({"round": -1, "metrics": {}}), "round"),
        (json!({"round": 2, "metrics": {"x": null}}), "metrics.x"),
        (json!({"round": "two"}), "body"),
    ];
    for (body, field) in bad {
        let (status, err) = server.post(&format!("{base}/rounds"), Some(&key), body.clone()).await;
        assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some(field)), "{body}: {err}");
    }
    let nan = server
        .client
        .post(server.url(&format!("{base}/rounds")))
        .bearer_auth(&key)
        .header("content-type", "application/json")
        .body(r#"{"round": 2, "metrics": {"loss": NaN}}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(nan.status(), StatusCode::BAD_REQUEST);
    let err: Value = nan.json().await.unwrap();
    assert!(err["error"]["message"].as_str().unwrap().contains("NaN"), "{err}");
    let (status, err) = server.post(&format!("{base}/logs"), Some(&key), json!({"lines": ["x".repeat(17_000)]})).await;
    assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("lines[0]")));
    let (status, err) = server.post(&runs, Some(&key), json!({"name": "big", "params": {"blob": "x".repeat(70_000)}})).await;
    assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("params")));
    let (status, err) = server.post(&format!("{base}/rounds/9/artifacts"), Some(&key), json!({"name": "m.h5", "size": 3})).await;
    assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("round")), "{err}");
    let (_, view) = server.get(&base, Some(&key)).await;
    assert_eq!(view["rounds"].as_array().unwrap().len(), 1, "nothing changed");

    // Logs are bounded: past the limit, a "truncated" marker and nothing more.
    let line = "y".repeat(1000);
    let mut truncated = false;
    for _ in 0..80 {
        let (status, accepted) = server.post(&format!("{base}/logs"), Some(&key), json!({"lines": vec![line.clone(); 10]})).await;
        assert_eq!(status, StatusCode::OK, "{accepted}");
        if accepted["truncated"] == true {
            truncated = true;
            break;
        }
    }
    assert!(truncated, "the test server's log limit is 64 KiB");
    let log = server.client.get(server.url(&format!("{base}/logs"))).bearer_auth(&ann).send().await.unwrap().text().await.unwrap();
    assert!(log.len() <= 64 * 1024 + 200 && log.trim_end().ends_with("later lines were dropped"), "{}", log.len());
    let (_, view) = server.get(&base, Some(&key)).await;
    assert_eq!(view["log_truncated"], true);

    // Silent for longer than the stale limit (10 s here): stale; a heartbeat revives it.
    tokio::time::sleep(Duration::from_secs(11)).await;
    let (_, view) = server.get(&base, Some(&ann)).await;
    assert_eq!(view["status"], "stale", "{view}");
    let (status, view) = server.post(&format!("{base}/heartbeat"), Some(&key), json!({})).await;
    assert_eq!((status, view["status"].as_str()), (StatusCode::OK, Some("running")));

    // Ending twice the same way is one end; reporting after it is a conflict.
    let end = json!({"status": "failed", "reason": "out of memory"});
    server.post(&format!("{base}/end"), Some(&key), end.clone()).await;
    let (status, view) = server.post(&format!("{base}/end"), Some(&key), end).await;
    assert_eq!((status, view["status"].as_str(), view["reason"].as_str()), (StatusCode::OK, Some("failed"), Some("out of memory")));
    let (status, _) = server.post(&format!("{base}/rounds"), Some(&key), json!({"round": 5, "metrics": {}})).await;
    assert_eq!(status, StatusCode::CONFLICT);

    // Deleting the dataset takes its runs.
    let (status, _) = server.call(Method::DELETE, &format!("/api/v1/datasets/{id}"), Some(&ann), None).await;
    assert!(status.is_success());
    let (_, found) = server.get("/api/v1/search?q=retry&kind=run", Some(&ann)).await;
    assert_eq!(found["runs"], 0);
    server.stop().await.unwrap();
}
