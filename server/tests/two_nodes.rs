//! Two `agora serve` processes on one bucket: node B uses node A's embedded
//! endpoint as its external S3, or both use one bucket on Ceph RGW. A label set through A is found by B's search
//! within 2 s (B learns of it from the change journal); dashboards exported
//! and imported on the command line next to them reach B; a training log
//! appended through A reaches a watcher on B.

mod common;

use std::io::Write;
use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use common::node::{agora, free_addr, ready, Node};

async fn call(client: &reqwest::Client, method: reqwest::Method, url: String, token: &str, body: Option<Value>) -> Value {
    let mut request = client.request(method, &url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let value: Value = response.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{url}: {status} {value}");
    value
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_bucket_see_each_others_changes() {
    two_nodes_share_one_bucket(None).await;
}

/// The same two nodes, both on one bucket of a real Ceph cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_ceph_rgw_bucket_see_each_others_changes() {
    two_nodes_share_one_bucket(Some(agora_testkit::rgw_endpoint())).await;
}

/// Node B uses node A's embedded endpoint, or (with `rgw`) both use a new
/// bucket on Ceph RGW.
async fn two_nodes_share_one_bucket(rgw: Option<&agora_testkit::RgwEndpoint>) {
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a_addr, a_s3, b_addr, b_s3) = (free_addr(), free_addr(), free_addr(), free_addr());
    let on_rgw: Vec<(&str, String)> = match rgw {
        Some(rgw) => vec![
            ("AGORA_S3_ENDPOINT", rgw.url.clone()),
            ("AGORA_S3_BUCKET", format!("two-nodes-{}", std::process::id())),
            ("AGORA_S3_ACCESS_KEY_ID", rgw.access_key.clone()),
            ("AGORA_S3_SECRET_ACCESS_KEY", rgw.secret_key.clone()),
        ],
        None => Vec::new(),
    };
    if let Some(rgw) = rgw {
        let storage = agora_core::storage::Storage::connect(&agora_core::storage::StorageConfig {
            endpoint: Some(rgw.url.clone()),
            public_endpoint: None,
            region: "us-east-1".into(),
            bucket: on_rgw[1].1.clone(),
            credentials: Some((rgw.access_key.clone(), agora_core::secret::Secret::new(rgw.secret_key.clone()))),
            path_style: true,
        })
        .await;
        storage.ensure_bucket().await.unwrap();
    }
    let a_dir_path = a_dir.path().to_owned();
    let a_s3_for_admin = a_s3.clone();
    let admin_env = on_rgw.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<Vec<_>>();
    tokio::task::spawn_blocking(move || {
        let mut admin = agora()
            .args(["admin", "--s3-addr", &a_s3_for_admin, "--data-dir"])
            .arg(&a_dir_path)
            .args(["create-user", "ann", "ann@example.com"])
            .envs(admin_env)
            .env("RUST_LOG", "error")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        admin.stdin.take().unwrap().write_all(b"ann's long password\n").unwrap();
        assert!(admin.wait().unwrap().success());
    })
    .await
    .unwrap();
    let _a = Node::start(a_dir.path(), &a_addr, &a_s3, &on_rgw);
    let client = reqwest::Client::new();
    ready(&a_addr).await;
    let external = match rgw {
        Some(_) => on_rgw.clone(),
        None => {
            let credentials: Value = serde_json::from_slice(&std::fs::read(a_dir.path().join("s3/credentials.json")).unwrap()).unwrap();
            vec![
                ("AGORA_S3_ENDPOINT", format!("http://{a_s3}")),
                ("AGORA_S3_ACCESS_KEY_ID", credentials["access_key_id"].as_str().unwrap().to_owned()),
                ("AGORA_S3_SECRET_ACCESS_KEY", credentials["secret_access_key"].as_str().unwrap().to_owned()),
            ]
        }
    };
    let _b = Node::start(b_dir.path(), &b_addr, &b_s3, &external);
    ready(&b_addr).await;

    // Through node A: log in, create a dataset, upload a file.
    let (a, b) = (format!("http://{a_addr}/api/v1"), format!("http://{b_addr}/api/v1"));
    let login =
        client.post(format!("{a}/auth/token")).json(&json!({"username": "ann", "password": "ann's long password"})).send().await.unwrap();
    let token = login.json::<Value>().await.unwrap()["token"].as_str().unwrap().to_owned();
    let post = reqwest::Method::POST;
    let ds = call(&client, post.clone(), format!("{a}/datasets"), &token, Some(json!({"name": "shared"}))).await;
    let id = ds["id"].as_str().unwrap();
    let upload = json!({"path": "a.txt", "size": 5, "md5": agora_testkit::md5_b64(b"hello")});
    let ticket = call(&client, post.clone(), format!("{a}/datasets/{id}/uploads"), &token, Some(upload)).await;
    let put = client
        .put(ticket["put"]["url"].as_str().unwrap())
        .header("content-md5", agora_testkit::md5_b64(b"hello"))
        .body("hello")
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let upload = ticket["upload_id"].as_str().unwrap();
    call(&client, post.clone(), format!("{a}/datasets/{id}/uploads/{upload}/complete"), &token, Some(json!({}))).await;

    // A label through A; B's search finds it within 2 s, with the same token.
    let labels = json!({"path": "a.txt", "labels": [{"key": "seen", "value": "on-b"}]});
    call(&client, reqwest::Method::PUT, format!("{a}/datasets/{id}/labels"), &token, Some(labels)).await;
    let set = Instant::now();
    loop {
        let found = call(&client, reqwest::Method::GET, format!("{b}/search?q=label:seen=on-b"), &token, None).await;
        if found["total"] == 1 {
            assert_eq!(found["hits"][0]["path"], "a.txt");
            break;
        }
        assert!(set.elapsed() < Duration::from_secs(2), "node B did not find the label within 2 s: {found}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let listed = call(&client, reqwest::Method::GET, format!("{b}/datasets/{id}/files"), &token, None).await;
    assert_eq!(listed["files"][0]["labels"][0]["value"], "on-b", "B's listings follow too");

    // `agora dashboards export`, a deletion, `agora dashboards import` next
    // to the serving nodes: the dashboard is back, and B lists it.
    let panel = json!({"x": 0, "y": 0, "w": 12, "h": 4, "kind": "markdown", "text": "kept across export and import"});
    let made = call(&client, post.clone(), format!("{a}/dashboards"), &token, Some(json!({"title": "Exported", "panels": [panel]}))).await;
    let dashboard = made["id"].as_str().unwrap().to_owned();
    let file = a_dir.path().join("dashboards.json");
    let cli = |args: Vec<String>| {
        let a_dir = a_dir.path().to_owned();
        let a_s3 = a_s3.clone();
        let cli_env = on_rgw.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<Vec<_>>();
        async move {
            tokio::task::spawn_blocking(move || {
                agora()
                    .args(["dashboards", "--s3-addr", &a_s3, "--data-dir"])
                    .arg(&a_dir)
                    .args(&args)
                    .envs(cli_env)
                    .env("RUST_LOG", "error")
                    .output()
                    .unwrap()
            })
            .await
            .unwrap()
        }
    };
    let exported = cli(vec!["export".into(), "--all".into(), "-o".into(), file.display().to_string()]).await;
    assert!(exported.status.success(), "{}", String::from_utf8_lossy(&exported.stderr));
    let export: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert_eq!(export["dashboards"][0]["record"]["id"], dashboard.as_str());
    let gone = client.delete(format!("{a}/dashboards/{dashboard}")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(gone.status(), reqwest::StatusCode::NO_CONTENT);
    let imported = cli(vec!["import".into(), file.display().to_string()]).await;
    assert!(imported.status.success(), "{}", String::from_utf8_lossy(&imported.stderr));
    assert!(String::from_utf8_lossy(&imported.stdout).contains("1 created"), "{}", String::from_utf8_lossy(&imported.stdout));
    let back = call(&client, reqwest::Method::GET, format!("{a}/dashboards/{dashboard}"), &token, None).await;
    assert_eq!(back["title"], "Exported");
    let set = Instant::now();
    loop {
        let list = call(&client, reqwest::Method::GET, format!("{b}/dashboards"), &token, None).await;
        if list["total"] == 1 {
            break;
        }
        assert!(set.elapsed() < Duration::from_secs(3), "node B did not list the imported dashboard: {list}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let again = cli(vec!["import".into(), file.display().to_string()]).await;
    assert!(String::from_utf8_lossy(&again.stdout).contains("1 unchanged"), "idempotent");

    // A training session's log appended through A reaches a watcher on B.
    let run = call(&client, post.clone(), format!("{a}/datasets/{id}/runs"), &token, Some(json!({"name": "across nodes"}))).await;
    let run = run["id"].as_str().unwrap().to_owned();
    let events = client.get(format!("{b}/datasets/{id}/runs/{run}/logs/events")).bearer_auth(&token).send().await.unwrap();
    assert!(events.status().is_success());
    let mut stream = events.bytes_stream();
    let lines = json!({"lines": ["written on node A"]});
    call(&client, post.clone(), format!("{a}/datasets/{id}/runs/{run}/logs"), &token, Some(lines)).await;
    let received = tokio::time::timeout(Duration::from_secs(5), async {
        let mut text = String::new();
        while let Some(chunk) = futures::StreamExt::next(&mut stream).await {
            text.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            if text.contains("event: lines") && text.contains("written on node A") {
                return text;
            }
        }
        text
    })
    .await
    .expect("node B's watcher got the line within 5 s");
    assert!(received.contains("written on node A"), "{received}");
}
