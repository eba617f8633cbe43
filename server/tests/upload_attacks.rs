//! What a hostile account can do with the presigned URLs it is given, on a
//! live `agora serve` with its embedded endpoint: a URL grants exactly one
//! write (its key, size, bytes and headers), and completion verifies what
//! arrived. Every tampered request must write nothing and make nothing
//! readable that the account could not read before.

mod common;

use agora_testkit::md5_b64;
use common::api::{server_with_mail, server_with_mail_and, verified_admin, verified_user};
use common::UNSIGNED_ADDITIONS;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The objects a copy must never reach (the session-signing secret, the
/// administrator claim, every user record).
const SECRETS: [&str; 3] = ["agora/sys/session-secret", "agora/sys/admin-claimed", "agora/sys/users/"];

fn put(client: &reqwest::Client, method: Method, url: &str, headers: &Value, body: Vec<u8>) -> reqwest::RequestBuilder {
    let mut request = client.request(method, url).body(body);
    for header in headers.as_array().into_iter().flatten() {
        request = request.header(header[0].as_str().unwrap(), header[1].as_str().unwrap());
    }
    request
}

/// The four-request takeover: start an upload, send its PUT with an added
/// `x-amz-copy-source` naming a secret and no body, complete, download.
/// Each of the secrets, each with the declared size and MD5 of an empty or a
/// guessed body: nothing is copied, nothing completes, nothing downloads.
#[tokio::test]
async fn the_copy_source_takeover_reaches_no_secret() {
    let (server, smtp) = server_with_mail().await;
    let _admin = verified_admin(&server, &smtp, "root").await;
    let mallory = verified_user(&server, &smtp, "mallory").await;
    let (_, ds) = server.post("/api/v1/datasets", Some(&mallory), json!({"name": "mine"})).await;
    let id = ds["id"].as_str().unwrap().to_owned();
    let uploads = format!("/api/v1/datasets/{id}/uploads");
    let declared = vec![b'm'; 64];
    let mut cases = 0;
    for (n, source) in SECRETS.iter().enumerate() {
        for body in [Vec::new(), declared.clone()] {
            let path = format!("loot{n}-{}.bin", body.len());
            let (status, ticket) =
                server.post(&uploads, Some(&mallory), json!({"path": path, "size": 64, "md5": md5_b64(&declared)})).await;
            assert_eq!(status, StatusCode::CREATED, "{ticket}");
            let response = put(&server.client, Method::PUT, ticket["put"]["url"].as_str().unwrap(), &ticket["put"]["headers"], body)
                .header("x-amz-copy-source", *source)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{source}: {}", response.text().await.unwrap());
            let complete = format!("{uploads}/{}/complete", ticket["upload_id"].as_str().unwrap());
            let (status, err) = server.post(&complete, Some(&mallory), json!({})).await;
            assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("upload")), "{source}: {err}");
            let (status, _) = server.get(&format!("/api/v1/datasets/{id}/download?path={path}"), Some(&mallory)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{source}");
            cases += 1;
        }
    }
    println!("takeover attempts: {cases}, none reached a secret");
    // The secret still signs sessions: mallory is no administrator.
    assert_eq!(server.get("/api/v1/admin/users", Some(&mallory)).await.0, StatusCode::FORBIDDEN);
    server.stop().await.unwrap();
}

/// Every way to make a single-PUT URL write something other than what was
/// declared: another size, other bytes, another content type or tags, added
/// `x-amz-*` headers, another method, another key. Storage refuses each, and
/// the upload still has nothing to complete; then the declared bytes go
/// through and are exactly what downloads. The URL used again after
/// completion changes nothing.
#[tokio::test]
async fn a_single_put_url_writes_only_the_declared_bytes() {
    let (server, smtp) = server_with_mail().await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let (_, ds) = server.post("/api/v1/datasets", Some(&ann), json!({"name": "cats"})).await;
    let id = ds["id"].as_str().unwrap().to_owned();
    let uploads = format!("/api/v1/datasets/{id}/uploads");
    let declared = b"the bytes ann means to send".to_vec();
    let request = json!({"path": "a.txt", "size": declared.len(), "md5": md5_b64(&declared), "content_type": "text/plain",
        "labels": [{"key": "split", "value": "train"}]});
    let (status, ticket) = server.post(&uploads, Some(&ann), request).await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    let (url, headers) = (ticket["put"]["url"].as_str().unwrap().to_owned(), ticket["put"]["headers"].clone());
    let complete = format!("{uploads}/{}/complete", ticket["upload_id"].as_str().unwrap());

    let mut flipped = declared.clone();
    flipped[3] ^= 0x20;
    let mut cases: Vec<(String, reqwest::RequestBuilder)> = vec![
        ("empty body".into(), put(&server.client, Method::PUT, &url, &headers, Vec::new())),
        ("one byte short".into(), put(&server.client, Method::PUT, &url, &headers, declared[1..].to_vec())),
        ("one byte more".into(), put(&server.client, Method::PUT, &url, &headers, [&declared[..], b"!"].concat())),
        ("a megabyte".into(), put(&server.client, Method::PUT, &url, &headers, vec![0; 1 << 20])),
        ("other bytes, same size".into(), put(&server.client, Method::PUT, &url, &headers, flipped.clone())),
        ("no Content-MD5".into(), put(&server.client, Method::PUT, &url, &json!([]), declared.clone())),
        ("POST".into(), put(&server.client, Method::POST, &url, &headers, declared.clone())),
        ("DELETE".into(), put(&server.client, Method::DELETE, &url, &headers, Vec::new())),
        ("another key".into(), put(&server.client, Method::PUT, &url.replace("/staging/", "/files/"), &headers, declared.clone())),
    ];
    let header_swaps =
        [("content-type", "text/html".to_string()), ("x-amz-tagging", "split=test".into()), ("content-md5", md5_b64(&flipped))];
    for (name, value) in header_swaps {
        let swapped: Vec<Value> =
            headers.as_array().unwrap().iter().map(|h| if h[0] == name { json!([name, value]) } else { h.clone() }).collect();
        cases.push((format!("{name} changed"), put(&server.client, Method::PUT, &url, &Value::Array(swapped), declared.clone())));
    }
    let copy_sources: Vec<String> = SECRETS.iter().map(|s| s.to_string()).chain([format!("agora/ds/{id}/files/other.txt")]).collect();
    let mut added: Vec<(String, String)> = copy_sources.into_iter().map(|source| ("x-amz-copy-source".to_string(), source)).collect();
    added.extend(UNSIGNED_ADDITIONS.iter().map(|(n, v)| (n.to_string(), v.to_string())));
    for (name, value) in added {
        for body in [declared.clone(), Vec::new()] {
            let case = format!("added {name}: {value} ({} bytes)", body.len());
            cases.push((case, put(&server.client, Method::PUT, &url, &headers, body).header(name.as_str(), value.as_str())));
        }
    }
    let total = cases.len();
    for (case, request) in cases {
        let response = request.send().await.unwrap();
        assert!(response.status().is_client_error(), "{case}: storage answered {}", response.status());
        let (status, err) = server.post(&complete, Some(&ann), json!({})).await;
        assert_eq!((status, err["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("upload")), "{case}: {err}");
    }
    println!("single-PUT tamper cases: {total}, each refused by storage with nothing written");

    assert!(put(&server.client, Method::PUT, &url, &headers, declared.clone()).send().await.unwrap().status().is_success());
    let (status, file) = server.post(&complete, Some(&ann), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{file}");
    // Used again, the URL can only write the declared bytes to its staging
    // key (swept later); it completes nothing and the file stays as it is.
    let _ = put(&server.client, Method::PUT, &url, &headers, declared.clone()).send().await.unwrap();
    assert_eq!(server.post(&complete, Some(&ann), json!({})).await.0, StatusCode::NOT_FOUND, "nothing completes twice");
    let (_, link) = server.get(&format!("/api/v1/datasets/{id}/download?path=a.txt"), Some(&ann)).await;
    let fetched = server.client.get(link["url"].as_str().unwrap()).send().await.unwrap();
    assert_eq!(fetched.headers()["x-content-type-options"], "nosniff");
    assert_eq!(fetched.bytes().await.unwrap().to_vec(), declared);
    server.stop().await.unwrap();
}

/// Part URLs bind a part's size and bytes the same way: a part of other
/// bytes, another size, or with an added copy source (UploadPartCopy) is
/// refused; a URL for one part cannot write another; the declared parts go
/// through and make the file.
#[tokio::test]
async fn a_part_url_writes_only_its_declared_part() {
    let (server, smtp) = server_with_mail_and(|args| args.multipart_threshold = Some(1024)).await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let (_, ds) = server.post("/api/v1/datasets", Some(&ann), json!({"name": "models"})).await;
    let id = ds["id"].as_str().unwrap().to_owned();
    let uploads = format!("/api/v1/datasets/{id}/uploads");
    let size = 8 * 1024 * 1024 + 10;
    let body: Vec<u8> = (0..size).map(|i| (i % 249) as u8).collect();
    let (_, ticket) = server.post(&uploads, Some(&ann), json!({"path": "m.bin", "size": size})).await;
    let upload = format!("{uploads}/{}", ticket["upload_id"].as_str().unwrap());
    let parts = [body[..8 * 1024 * 1024].to_vec(), body[8 * 1024 * 1024..].to_vec()];
    let declare = json!({"parts": [{"part_number": 1, "md5": md5_b64(&parts[0])}, {"part_number": 2, "md5": md5_b64(&parts[1])}]});
    let (status, urls) = server.post(&format!("{upload}/parts"), Some(&ann), declare).await;
    assert_eq!(status, StatusCode::OK, "{urls}");
    let part_url = |n: usize| urls[n]["url"].as_str().unwrap().to_owned();
    let mut other = parts[1].clone();
    other[0] ^= 1;
    let cases = vec![
        ("part 2 with other bytes", put(&server.client, Method::PUT, &part_url(1), &urls[1]["headers"], other)),
        ("part 2 one byte short", put(&server.client, Method::PUT, &part_url(1), &urls[1]["headers"], parts[1][1..].to_vec())),
        ("part 2's bytes to part 1's URL", put(&server.client, Method::PUT, &part_url(0), &urls[0]["headers"], parts[1].clone())),
        (
            "part 1's URL for part 2",
            put(&server.client, Method::PUT, &part_url(0).replace("partNumber=1", "partNumber=2"), &urls[0]["headers"], parts[0].clone()),
        ),
        (
            "UploadPartCopy of the secret",
            put(&server.client, Method::PUT, &part_url(1), &urls[1]["headers"], Vec::new()).header("x-amz-copy-source", SECRETS[0]),
        ),
        (
            "UploadPartCopy of a range",
            put(&server.client, Method::PUT, &part_url(1), &urls[1]["headers"], Vec::new())
                .header("x-amz-copy-source", SECRETS[1])
                .header("x-amz-copy-source-range", "bytes=0-9"),
        ),
    ];
    let total = cases.len();
    for (case, request) in cases {
        let response = request.send().await.unwrap();
        assert!(response.status().is_client_error(), "{case}: storage answered {}", response.status());
    }
    let (_, pending) = server.get(&uploads, Some(&ann)).await;
    assert_eq!(pending[0]["multipart"]["done"], json!([]), "no part landed");
    println!("part tamper cases: {total}, each refused by storage");
    for n in 0..2 {
        let response = put(&server.client, Method::PUT, &part_url(n), &urls[n]["headers"], parts[n].clone()).send().await.unwrap();
        assert!(response.status().is_success(), "part {}: {}", n + 1, response.status());
    }
    let (status, file) = server.post(&format!("{upload}/complete"), Some(&ann), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{file}");
    let (_, link) = server.get(&format!("/api/v1/datasets/{id}/download?path=m.bin"), Some(&ann)).await;
    let fetched = server.client.get(link["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert!(fetched[..] == body[..]);
    server.stop().await.unwrap();
}

/// Completions side by side cannot together break what each checks: six
/// `replace: false` uploads to one path give one file and five 409s, five
/// uploads that each fit the quota (but not all together) give as many
/// files as fit and 413s for the rest, and a training run's model artifacts
/// count toward the quota too.
#[tokio::test]
async fn concurrent_completions_keep_one_file_per_path_and_the_quota() {
    let (server, smtp) = server_with_mail_and(|args| args.max_dataset_bytes = Some(100)).await;
    let ann = verified_user(&server, &smtp, "ann").await;
    let (_, ds) = server.post("/api/v1/datasets", Some(&ann), json!({"name": "tight"})).await;
    let id = ds["id"].as_str().unwrap().to_owned();
    let uploads = format!("/api/v1/datasets/{id}/uploads");
    // Starts and sends every upload, then completes them all at once.
    let race = |bodies: Vec<(String, Vec<u8>)>| {
        let (server, ann, uploads) = (&server, &ann, &uploads);
        async move {
            let mut completions = Vec::new();
            for (path, body) in &bodies {
                let request = json!({"path": path, "size": body.len(), "md5": md5_b64(body)});
                let (status, ticket) = server.post(uploads, Some(ann), request).await;
                assert_eq!(status, StatusCode::CREATED, "{ticket}");
                let sent =
                    put(&server.client, Method::PUT, ticket["put"]["url"].as_str().unwrap(), &ticket["put"]["headers"], body.clone());
                assert!(sent.send().await.unwrap().status().is_success());
                completions.push(format!("{uploads}/{}/complete", ticket["upload_id"].as_str().unwrap()));
            }
            let answers = futures::future::join_all(completions.iter().map(|c| server.post(c, Some(ann), json!({})))).await;
            answers.into_iter().map(|(status, _)| status).collect::<Vec<_>>()
        }
    };
    let count = |statuses: &[StatusCode], wanted: StatusCode| statuses.iter().filter(|s| **s == wanted).count();

    let same: Vec<(String, Vec<u8>)> = (0..6u8).map(|n| ("same.bin".to_string(), vec![b'a' + n; 10])).collect();
    let statuses = race(same.clone()).await;
    assert_eq!((count(&statuses, StatusCode::OK), count(&statuses, StatusCode::CONFLICT)), (1, 5), "{statuses:?}");
    let winner = same[statuses.iter().position(|s| *s == StatusCode::OK).unwrap()].1.clone();
    let (_, link) = server.get(&format!("/api/v1/datasets/{id}/download?path=same.bin"), Some(&ann)).await;
    let fetched = server.client.get(link["url"].as_str().unwrap()).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(fetched.to_vec(), winner, "the file is the one upload that was told it landed");

    // 10 bytes used: room for three of these five 30-byte files.
    let five: Vec<(String, Vec<u8>)> = (0..5u8).map(|n| (format!("part{n}.bin"), vec![n; 30])).collect();
    let statuses = race(five).await;
    assert_eq!((count(&statuses, StatusCode::OK), count(&statuses, StatusCode::PAYLOAD_TOO_LARGE)), (3, 2), "{statuses:?}");
    let (_, files) = server.get(&format!("/api/v1/datasets/{id}/files"), Some(&ann)).await;
    let total: u64 = files["files"].as_array().unwrap().iter().map(|f| f["size"].as_u64().unwrap()).sum();
    assert_eq!(total, 100, "{files}");

    // Artifacts take bytes as well: with the quota full, a run cannot store one.
    let (status, run) = server.post(&format!("/api/v1/datasets/{id}/runs"), Some(&ann), json!({"name": "fit"})).await;
    assert_eq!(status, StatusCode::CREATED, "{run}");
    let base = format!("/api/v1/datasets/{id}/runs/{}", run["id"].as_str().unwrap());
    server.post(&format!("{base}/rounds"), Some(&ann), json!({"round": 1, "metrics": {"loss": 0.5}})).await;
    let artifact = json!({"name": "model.bin", "size": 1, "md5": md5_b64(b"m")});
    let (status, err) = server.post(&format!("{base}/rounds/1/artifacts"), Some(&ann), artifact.clone()).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{err}");
    // With room again, the artifact goes in, and then a file no longer fits.
    let landed = files["files"].as_array().unwrap().iter().find(|f| f["size"] == 30).unwrap()["path"].as_str().unwrap().to_owned();
    let (status, _) = server.call(Method::DELETE, &format!("/api/v1/datasets/{id}/files?path={landed}"), Some(&ann), None).await;
    assert!(status.is_success(), "{status}");
    let model = vec![7u8; 25];
    let (status, ticket) = server
        .post(&format!("{base}/rounds/1/artifacts"), Some(&ann), json!({"name": "model.bin", "size": 25, "md5": md5_b64(&model)}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{ticket}");
    assert!(put(&server.client, Method::PUT, ticket["put"]["url"].as_str().unwrap(), &ticket["put"]["headers"], model)
        .send()
        .await
        .unwrap()
        .status()
        .is_success());
    let (status, done) = server.post(&format!("{uploads}/{}/complete", ticket["upload_id"].as_str().unwrap()), Some(&ann), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{done}");
    let (status, err) = server.post(&uploads, Some(&ann), json!({"path": "more.bin", "size": 10, "md5": md5_b64(&[0; 10])})).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "95 bytes of files and artifacts leave 5: {err}");
    server.stop().await.unwrap();
}
