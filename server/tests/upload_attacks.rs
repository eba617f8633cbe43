//! What a hostile account can do with the presigned URLs it is given, on a
//! live `agora serve` with its embedded endpoint: a URL grants exactly one
//! write (its key, size, bytes and headers), and completion verifies what
//! arrived. Every tampered request must write nothing and make nothing
//! readable that the account could not read before.

mod common;

use agora_testkit::md5_b64;
use common::api::{server_with_mail, server_with_mail_and, verified_user};
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
    let _admin = verified_user(&server, &smtp, "root").await; // the first account: the administrator
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
    for (name, value) in [
        ("x-amz-metadata-directive", "REPLACE"),
        ("x-amz-tagging-directive", "REPLACE"),
        ("x-amz-meta-owner", "mallory"),
        ("x-amz-acl", "public-read"),
        ("x-amz-grant-read", "uri=http://acs.amazonaws.com/groups/global/AllUsers"),
        ("x-amz-storage-class", "GLACIER"),
        ("x-amz-website-redirect-location", "https://evil.example/"),
        ("x-amz-server-side-encryption", "AES256"),
        ("x-amz-object-lock-mode", "GOVERNANCE"),
        ("x-amz-content-sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER"),
        ("x-amz-decoded-content-length", "1048576"),
        ("x-amz-checksum-sha256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
    ] {
        added.push((name.to_string(), value.to_string()));
    }
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
