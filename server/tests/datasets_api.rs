//! Datasets through the REST API: rights, sharing, deletion, and what an
//! account deletion takes with it.

mod common;

use agora_testkit::md5_b64;
use common::api::{server_with_mail, server_with_mail_and, verified_user};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn datasets_are_created_shared_and_deleted_over_rest() {
    let (server, smtp) = server_with_mail().await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let ben = verified_user(&server, &smtp, "ben").await;

    let (status, ds) = server.post("/api/v1/datasets", Some(&ann), json!({"name": "Cats", "description": "pictures"})).await;
    assert_eq!(status, StatusCode::CREATED, "{ds}");
    assert_eq!((ds["permission"].as_str(), ds["visibility"].as_str()), (Some("manage"), Some("private")));
    let id = ds["id"].as_str().unwrap().to_owned();
    let (status, body) = server.post("/api/v1/datasets", Some(&ann), json!({"name": ""})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("name")));

    // Ben sees nothing, through every route, until it is shared.
    assert_eq!(server.get(&format!("/api/v1/datasets/{id}"), Some(&ben)).await.0, StatusCode::NOT_FOUND);
    assert_eq!(server.get(&format!("/api/v1/datasets/{id}"), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        server.call(Method::PATCH, &format!("/api/v1/datasets/{id}"), Some(&ben), Some(json!({"name": "x"}))).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(server.call(Method::DELETE, &format!("/api/v1/datasets/{id}"), Some(&ben), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(
        server.post(&format!("/api/v1/datasets/{id}/members"), Some(&ben), json!({"username": "ben", "role": "editor"})).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(server.get("/api/v1/datasets", Some(&ben)).await.1.as_array().map(Vec::len), Some(0));

    let (status, shared) =
        server.post(&format!("/api/v1/datasets/{id}/members"), Some(&ann), json!({"username": "ben", "role": "viewer"})).await;
    assert_eq!(status, StatusCode::OK, "{shared}");
    assert_eq!(shared["members"][1]["username"], "ben");
    let (status, seen) = server.get(&format!("/api/v1/datasets/{id}"), Some(&ben)).await;
    assert_eq!((status, seen["permission"].as_str()), (StatusCode::OK, Some("read")));
    assert_eq!(
        server.call(Method::PATCH, &format!("/api/v1/datasets/{id}"), Some(&ben), Some(json!({"name": "x"}))).await.0,
        StatusCode::FORBIDDEN
    );

    // A script's key: read-only keys see it, but do not create.
    let (_, key) =
        server.post("/api/v1/me/keys", Some(&ann), json!({"name": "ro", "scopes": [{"kind": "all_datasets", "access": "read"}]})).await;
    let key = key["secret"].as_str().unwrap().to_owned();
    assert_eq!(server.get(&format!("/api/v1/datasets/{id}"), Some(&key)).await.1["permission"], "read");
    assert_eq!(server.post("/api/v1/datasets", Some(&key), json!({"name": "nope"})).await.0, StatusCode::FORBIDDEN);

    let (status, job) = server.call(Method::DELETE, &format!("/api/v1/datasets/{id}"), Some(&ann), None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{job}");
    assert_eq!(server.get(&format!("/api/v1/datasets/{id}"), Some(&ann)).await.0, StatusCode::NOT_FOUND, "gone at once");
    assert_eq!(server.get("/api/v1/datasets", Some(&ben)).await.1.as_array().map(Vec::len), Some(0));

    let doc = server.get("/api/v1/openapi.json", None).await.1;
    assert!(doc["paths"].get("/api/v1/datasets/{id}/members").is_some());
    server.stop().await.unwrap();
}

#[tokio::test]
async fn deleting_an_account_deletes_its_datasets_and_memberships() {
    let (server, smtp) = server_with_mail().await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let ben = verified_user(&server, &smtp, "ben").await;
    let (_, mine) = server.post("/api/v1/datasets", Some(&ben), json!({"name": "ben's"})).await;
    let (_, theirs) = server.post("/api/v1/datasets", Some(&ann), json!({"name": "ann's"})).await;
    let (mine, theirs) = (mine["id"].as_str().unwrap().to_owned(), theirs["id"].as_str().unwrap().to_owned());
    server.post(&format!("/api/v1/datasets/{theirs}/members"), Some(&ann), json!({"username": "ben", "role": "editor"})).await;
    server.post(&format!("/api/v1/datasets/{mine}/members"), Some(&ben), json!({"username": "ann", "role": "viewer"})).await;

    let (status, job) = server.call(Method::DELETE, "/api/v1/me", Some(&ben), Some(json!({"password": "ben's password"}))).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let id = job["id"].as_str().unwrap();
    for _ in 0..100 {
        if server.get(&format!("/api/v1/jobs/{id}"), None).await.1["state"] == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(server.get(&format!("/api/v1/jobs/{id}"), None).await.1["state"], "done");
    assert_eq!(server.get(&format!("/api/v1/datasets/{mine}"), Some(&ann)).await.0, StatusCode::NOT_FOUND, "ben's dataset went with him");
    let (_, left) = server.get(&format!("/api/v1/datasets/{theirs}"), Some(&ann)).await;
    let members: Vec<&str> = left["members"].as_array().unwrap().iter().map(|m| m["username"].as_str().unwrap()).collect();
    assert_eq!(members, ["ann"], "and so did his membership");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn files_go_straight_to_storage_and_are_checked_on_completion() {
    let (server, smtp) = server_with_mail().await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let ben = verified_user(&server, &smtp, "ben").await;
    let (_, ds) = server.post("/api/v1/datasets", Some(&ann), json!({"name": "files"})).await;
    let id = ds["id"].as_str().unwrap().to_owned();
    server.post(&format!("/api/v1/datasets/{id}/members"), Some(&ann), json!({"username": "ben", "role": "viewer"})).await;
    let uploads = format!("/api/v1/datasets/{id}/uploads");
    let body = b"label,path\ncat,1.jpg\n".to_vec();
    let request = json!({
        "path": "train/labels.csv", "size": body.len(), "md5": md5_b64(&body), "content_type": "text/csv",
        "labels": [{"key": "split", "value": "train"}]
    });

    // Bad input: each named, nothing started.
    for (bad, field) in [
        (json!({"path": "../escape.txt", "size": 3}), "path"),
        (json!({"path": "a\u{0}b", "size": 3}), "path"),
        (json!({"path": "empty.txt", "size": 0}), "size"),
        (json!({"path": "x.txt", "size": 3, "labels": [{"key": "aws:x", "value": "1"}]}), "labels"),
        (json!({"path": "x.txt", "size": 3}), "md5"),
        (json!({"path": "x.txt", "size": 3, "md5": "not base64!"}), "md5"),
        (json!({"path": "x.txt", "size": 3, "md5": "AAAA"}), "md5"),
    ] {
        let (status, err) = server.post(&uploads, Some(&ann), bad).await;
        assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some(field)), "{err}");
    }
    assert_eq!(server.post(&uploads, Some(&ben), request.clone()).await.0, StatusCode::FORBIDDEN, "viewers do not upload");

    // The bytes go to the presigned URL, never through Agora.
    let (status, ticket) = server.post(&uploads, Some(&ann), request.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    assert!(!ticket["put"]["url"].as_str().unwrap().starts_with(&server.url("/")), "the URL points at storage, not at Agora");
    let send = |ticket: &serde_json::Value, bytes: Vec<u8>| {
        let mut put = server.client.put(ticket["put"]["url"].as_str().unwrap()).body(bytes);
        for header in ticket["put"]["headers"].as_array().unwrap() {
            put = put.header(header[0].as_str().unwrap(), header[1].as_str().unwrap());
        }
        put.send()
    };
    let complete = |ticket: &serde_json::Value| format!("/api/v1/datasets/{id}/uploads/{}/complete", ticket["upload_id"].as_str().unwrap());
    let (status, err) = server.post(&complete(&ticket), Some(&ann), json!({})).await;
    assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("upload")), "nothing arrived yet");
    assert!(send(&ticket, body.clone()).await.unwrap().status().is_success());
    let (status, file) = server.post(&complete(&ticket), Some(&ann), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{file}");
    assert_eq!((file["path"].as_str(), file["size"].as_u64()), (Some("train/labels.csv"), Some(body.len() as u64)));
    assert_eq!(server.post(&complete(&ticket), Some(&ann), json!({})).await.0, StatusCode::NOT_FOUND, "completing twice");

    // Reusing the URL after completion cannot change the file: other bytes
    // are refused by storage, and the URL only ever wrote the staging key.
    assert!(!send(&ticket, b"tampered!".to_vec()).await.unwrap().status().is_success());
    let (status, link) = server.get(&format!("/api/v1/datasets/{id}/download?path=train/labels.csv"), Some(&ben)).await;
    assert_eq!(status, StatusCode::OK, "viewers download: {link}");
    let fetched = server.client.get(link["url"].as_str().unwrap()).send().await.unwrap();
    assert!(fetched.headers()["content-disposition"].to_str().unwrap().contains("labels.csv"));
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), body);

    // Listed by folder.
    let (status, top) = server.get(&format!("/api/v1/datasets/{id}/files"), Some(&ben)).await;
    assert_eq!(status, StatusCode::OK, "{top}");
    assert_eq!((top["folders"].clone(), top["files"].as_array().map(Vec::len)), (json!([{"path": "train/", "files": 1}]), Some(0)));
    let (_, train) = server.get(&format!("/api/v1/datasets/{id}/files?folder=train"), Some(&ben)).await;
    assert_eq!(train["files"][0]["name"], "labels.csv");
    assert_eq!(train["files"][0]["size"], body.len());
    assert_eq!(train["files"][0]["labels"], json!([{"key": "split", "value": "train"}]));
    assert_eq!(server.get(&format!("/api/v1/datasets/{id}/files?folder=../x"), Some(&ben)).await.0, StatusCode::BAD_REQUEST);
    // Filters and sorting, with named errors for bad values.
    let (_, labelled) = server.get(&format!("/api/v1/datasets/{id}/files?labels=split=train&sort=size&descending=true"), Some(&ben)).await;
    assert_eq!((labelled["total"].as_u64(), labelled["facets"][0]["label"].as_str()), (Some(1), Some("split=train")));
    let (status, err) = server.get(&format!("/api/v1/datasets/{id}/files?sort=colour"), Some(&ben)).await;
    assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("sort")));

    // Labels are the object's tags: replaced as a set, AWS's rules named.
    let labels = format!("/api/v1/datasets/{id}/labels");
    let set = |labels: serde_json::Value| json!({"path": "train/labels.csv", "labels": labels});
    let (status, _) = server.call(Method::PUT, &labels, Some(&ben), Some(set(json!([{"key": "q", "value": "1"}])))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "viewers do not label");
    let eleven: Vec<_> = (0..11).map(|i| json!({"key": format!("k{i}"), "value": "v"})).collect();
    let (status, err) = server.call(Method::PUT, &labels, Some(&ann), Some(set(json!(eleven)))).await;
    assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("labels")));
    assert!(err["error"]["message"].as_str().unwrap().contains("at most 10"), "{err}");
    let (status, file) = server
        .call(Method::PUT, &labels, Some(&ann), Some(set(json!([{"key": "split", "value": "val"}, {"key": "reviewed", "value": "yes"}]))))
        .await;
    assert_eq!(status, StatusCode::OK, "{file}");
    let (_, train) = server.get(&format!("/api/v1/datasets/{id}/files?folder=train"), Some(&ben)).await;
    assert_eq!(train["files"][0]["labels"].as_array().map(Vec::len), Some(2), "visible in the listing right after");

    // The activity log says who did what, newest first; viewers read it.
    let (status, log) = server.get(&format!("/api/v1/datasets/{id}/activity"), Some(&ben)).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let lines: Vec<String> =
        log.as_array().unwrap().iter().map(|e| format!("{} {}", e["who"].as_str().unwrap(), e["what"].as_str().unwrap())).collect();
    assert_eq!(lines.first().map(String::as_str), Some("ann labelled train/labels.csv: split=val, reviewed=yes"), "{lines:?}");
    assert!(lines.iter().any(|l| l.starts_with("ann uploaded train/labels.csv (")), "{lines:?}");
    assert!(lines.iter().any(|l| l == "ann gave ben view access"), "{lines:?}");
    assert_eq!(lines.last().map(String::as_str), Some("ann created the dataset “files”"), "{lines:?}");

    // A manifest of presigned links, as JSON or as a curl script that runs.
    let (status, manifest) = server.get(&format!("/api/v1/datasets/{id}/manifest?folder=train"), Some(&ben)).await;
    assert_eq!(status, StatusCode::OK, "{manifest}");
    assert_eq!(manifest["files"][0]["path"], "train/labels.csv");
    let fetched = server.client.get(manifest["files"][0]["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(fetched.to_vec(), body);
    assert_eq!(server.get(&format!("/api/v1/datasets/{id}/manifest?format=xml"), Some(&ben)).await.0, StatusCode::BAD_REQUEST);
    let script = server
        .client
        .get(server.url(&format!("/api/v1/datasets/{id}/manifest?format=curl")))
        .bearer_auth(&ben)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("get.sh"), &script).unwrap();
    // Off the test's runtime: the embedded endpoint serving curl runs on it.
    let cwd = dir.path().to_owned();
    let ran = tokio::task::spawn_blocking(move || std::process::Command::new("sh").arg("get.sh").current_dir(cwd).output())
        .await
        .unwrap()
        .unwrap();
    assert!(ran.status.success(), "{script}\n{}", String::from_utf8_lossy(&ran.stderr));
    assert_eq!(std::fs::read(dir.path().join("files/train/labels.csv")).unwrap(), body, "the script pulls every file into ./<dataset>/");

    // The same path again: a conflict unless told what to do.
    let (status, err) = server.post(&uploads, Some(&ann), request.clone()).await;
    assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::CONFLICT, Some("path")));
    let mut keep_both = request.clone();
    keep_both["on_conflict"] = json!("keep_both");
    let (_, ticket) = server.post(&uploads, Some(&ann), keep_both).await;
    assert_eq!(ticket["path"], "train/labels (1).csv");

    // Other bytes than declared never land: the size and the MD5 are signed
    // into the URL, so storage refuses a body of another length or content.
    let refused = send(&ticket, b"short".to_vec()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{}", refused.text().await.unwrap());
    let mut tampered = body.clone();
    tampered[0] ^= 1;
    let refused = send(&ticket, tampered).await.unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(refused.text().await.unwrap().contains("BadDigest"));
    let (status, err) = server.post(&complete(&ticket), Some(&ann), json!({})).await;
    assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("upload")), "{err}");
    server
        .call(Method::DELETE, &format!("/api/v1/datasets/{id}/uploads/{}", ticket["upload_id"].as_str().unwrap()), Some(&ann), None)
        .await;
    assert_eq!(
        server.get(&format!("/api/v1/datasets/{id}/download?path=train/labels%20(1).csv"), Some(&ann)).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(server.get(&format!("/api/v1/datasets/{id}/download"), Some(&ann)).await.0, StatusCode::BAD_REQUEST);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_dataset_keeps_within_its_byte_quota() {
    let (server, smtp) = server_with_mail_and(|args| args.max_dataset_bytes = Some(100)).await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let (_, ds) = server.post("/api/v1/datasets", Some(&ann), json!({"name": "small"})).await;
    let id = ds["id"].as_str().unwrap().to_owned();
    let uploads = format!("/api/v1/datasets/{id}/uploads");
    let send = |ticket: &serde_json::Value, bytes: Vec<u8>| {
        let mut put = server.client.put(ticket["put"]["url"].as_str().unwrap()).body(bytes);
        for header in ticket["put"]["headers"].as_array().unwrap() {
            put = put.header(header[0].as_str().unwrap(), header[1].as_str().unwrap());
        }
        put.send()
    };
    let complete = |ticket: &serde_json::Value| format!("/api/v1/datasets/{id}/uploads/{}/complete", ticket["upload_id"].as_str().unwrap());

    let (status, err) = server.post(&uploads, Some(&ann), json!({"path": "big.bin", "size": 101, "md5": md5_b64(&[0; 101])})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("AGORA_MAX_DATASET_BYTES"), "{err}");

    // Two uploads that each fit, started together: the second to complete overruns.
    let (_, first) = server.post(&uploads, Some(&ann), json!({"path": "a.bin", "size": 60, "md5": md5_b64(&[1; 60])})).await;
    let (_, second) = server.post(&uploads, Some(&ann), json!({"path": "b.bin", "size": 60, "md5": md5_b64(&[2; 60])})).await;
    assert!(send(&first, vec![1; 60]).await.unwrap().status().is_success());
    assert!(send(&second, vec![2; 60]).await.unwrap().status().is_success());
    assert_eq!(server.post(&complete(&first), Some(&ann), json!({})).await.0, StatusCode::OK);
    let (status, err) = server.post(&complete(&second), Some(&ann), json!({})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{err}");
    let (_, files) = server.get(&format!("/api/v1/datasets/{id}/files"), Some(&ann)).await;
    assert_eq!(files["files"].as_array().map(Vec::len), Some(1), "the overrunning file was discarded");

    // Replacing a file counts only the difference.
    let (status, ticket) =
        server.post(&uploads, Some(&ann), json!({"path": "a.bin", "size": 90, "md5": md5_b64(&[3; 90]), "on_conflict": "replace"})).await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    assert!(send(&ticket, vec![3; 90]).await.unwrap().status().is_success());
    assert_eq!(server.post(&complete(&ticket), Some(&ann), json!({})).await.0, StatusCode::OK);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_script_sends_a_large_file_in_parts_and_can_resume_or_cancel() {
    let (server, smtp) = server_with_mail_and(|args| args.multipart_threshold = Some(1024)).await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let (_, ds) = server.post("/api/v1/datasets", Some(&ann), json!({"name": "models"})).await;
    let id = ds["id"].as_str().unwrap().to_owned();
    let uploads = format!("/api/v1/datasets/{id}/uploads");
    let size = 9 * 1024 * 1024;
    let body: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let (status, ticket) =
        server.post(&uploads, Some(&ann), json!({"path": "model.h5", "size": size, "labels": [{"key": "round", "value": "3"}]})).await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    assert!(ticket["put"].is_null());
    assert_eq!(ticket["multipart"]["part_count"], 2);
    let part_size = ticket["multipart"]["part_size"].as_u64().unwrap() as usize;
    let upload = format!("{uploads}/{}", ticket["upload_id"].as_str().unwrap());

    let part = |n: usize| body[n * part_size..((n + 1) * part_size).min(size)].to_vec();
    let parts = json!({"parts": [{"part_number": 1, "md5": md5_b64(&part(0))}, {"part_number": 2, "md5": md5_b64(&part(1))}]});
    let (status, urls) = server.post(&format!("{upload}/parts"), Some(&ann), parts).await;
    assert_eq!(status, StatusCode::OK, "{urls}");
    let put = |n: usize| {
        let mut put = server.client.put(urls[n]["url"].as_str().unwrap()).body(part(n));
        for header in urls[n]["headers"].as_array().unwrap() {
            put = put.header(header[0].as_str().unwrap(), header[1].as_str().unwrap());
        }
        put.send()
    };
    assert!(put(0).await.unwrap().status().is_success());
    // The script stops here; later, anywhere, it asks what storage holds.
    let (_, pending) = server.get(&uploads, Some(&ann)).await;
    assert_eq!(pending[0]["multipart"]["done"], json!([1]));
    assert!(put(1).await.unwrap().status().is_success());
    let (status, file) = server.post(&format!("{upload}/complete"), Some(&ann), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{file}");
    assert_eq!((file["size"].as_u64(), file["labels"][0]["value"].as_str()), (Some(size as u64), Some("3")));
    let (_, link) = server.get(&format!("/api/v1/datasets/{id}/download?path=model.h5"), Some(&ann)).await;
    let fetched = server.client.get(link["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert!(fetched[..] == body[..]);

    let (_, ticket) = server.post(&uploads, Some(&ann), json!({"path": "other.h5", "size": size})).await;
    let upload = format!("{uploads}/{}", ticket["upload_id"].as_str().unwrap());
    let (status, _) = server.call(reqwest::Method::DELETE, &upload, Some(&ann), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(server.get(&uploads, Some(&ann)).await.1, json!([]));
    let (status, err) = server.post(&format!("{upload}/complete"), Some(&ann), json!({})).await;
    assert_eq!((status, err["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
    server.stop().await.unwrap();
}

/// A transfer over REST is an offer: nothing changes until the recipient
/// accepts, an offer grants no access, and it can be declined or withdrawn.
#[tokio::test]
async fn a_transfer_is_an_offer_the_recipient_accepts_over_rest() {
    let (server, smtp) = server_with_mail().await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let ben = verified_user(&server, &smtp, "ben").await;
    let (_, ds) = server.post("/api/v1/datasets", Some(&ann), json!({"name": "Handover"})).await;
    let id = ds["id"].as_str().unwrap().to_owned();
    let transfer = format!("/api/v1/datasets/{id}/transfer");

    let (status, body) = server.post(&transfer, Some(&ben), json!({"username": "ben"})).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "only who manages it offers it: {body}");
    let (status, body) = server.post(&transfer, Some(&ann), json!({"username": "nobody-at-all"})).await;
    assert_eq!((status, body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("username")), "{body}");
    let (status, offered) = server.post(&transfer, Some(&ann), json!({"username": "ben"})).await;
    assert_eq!((status, offered["offered_to"].as_str()), (StatusCode::OK, Some("ben")), "{offered}");
    assert_eq!(offered["members"][0]["username"], "ann", "still ann's");
    assert_eq!(server.get(&format!("/api/v1/datasets/{id}"), Some(&ben)).await.0, StatusCode::NOT_FOUND, "an offer grants no access");
    let (status, offers) = server.get("/api/v1/me/transfer-offers", Some(&ben)).await;
    assert_eq!((status, offers[0]["dataset_name"].as_str(), offers[0]["from"].as_str()), (StatusCode::OK, Some("Handover"), Some("ann")));

    // Declined, then offered again and accepted.
    assert_eq!(server.call(Method::DELETE, &transfer, Some(&ben), None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(server.post(&format!("{transfer}/accept"), Some(&ben), json!({})).await.0, StatusCode::NOT_FOUND);
    server.post(&transfer, Some(&ann), json!({"username": "ben"})).await;
    let (status, moved) = server.post(&format!("{transfer}/accept"), Some(&ben), json!({})).await;
    assert_eq!((status, moved["permission"].as_str()), (StatusCode::OK, Some("manage")), "{moved}");
    let (_, seen) = server.get(&format!("/api/v1/datasets/{id}"), Some(&ann)).await;
    assert_eq!(seen["permission"], "write", "the old owner stays an editor");
    assert!(server.get("/api/v1/me/transfer-offers", Some(&ben)).await.1.as_array().unwrap().is_empty());

    let (_, doc) = server.get("/api/v1/openapi.json", None).await;
    for path in ["/api/v1/datasets/{id}/transfer", "/api/v1/datasets/{id}/transfer/accept", "/api/v1/me/transfer-offers"] {
        assert!(doc["paths"].get(path).is_some(), "OpenAPI lacks {path}");
    }
    assert!(doc["paths"]["/api/v1/datasets/{id}/transfer"].get("delete").is_some());
}
