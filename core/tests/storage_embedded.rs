//! What only the embedded endpoint promises (moto does not check signatures):
//! signature and expiry enforcement, SigV2 refusal, CORS for browsers.

use std::time::Duration;

use agora_core::storage::sigv4::{Presign, QuerySigner, SigningKeys, Target};
use agora_core::storage::{PresignExpiry, PutOptions};
use agora_testkit::{digest, Backend};
use bytes::Bytes;

async fn embedded() -> agora_testkit::Fixture {
    agora_testkit::fixture(Backend::Embedded).await
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

/// A PUT of `body` to `url` with the signed headers of `presigned`.
fn signed_put(url: &str, presigned: &agora_core::storage::PresignedRequest, body: &'static [u8]) -> reqwest::RequestBuilder {
    let mut request = http().put(url).body(body);
    for (name, value) in &presigned.headers {
        request = request.header(name, value);
    }
    request
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_and_expired_urls_are_refused_and_write_nothing() {
    let f = embedded().await;
    let put = f.storage.presign_put("a.txt", digest(b"x"), None, &[], PresignExpiry::default()).await.unwrap();

    // Another key with the same signature.
    let tampered = put.url.replace("/a.txt?", "/b.txt?");
    let response = signed_put(&tampered, &put, b"x").send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("<Code>SignatureDoesNotMatch</Code>"));

    // A forged signature.
    let forged = regex_replace_signature(&put.url);
    assert_eq!(signed_put(&forged, &put, b"x").send().await.unwrap().status(), 403);

    // Expired.
    let short = f.storage.presign_put("c.txt", digest(b"x"), None, &[], PresignExpiry::new(Duration::from_secs(1)).unwrap()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let response = signed_put(&short.url, &short, b"x").send().await.unwrap();
    assert_eq!(response.status(), 403, "{}", response.text().await.unwrap());

    for key in ["a.txt", "b.txt", "c.txt"] {
        assert!(f.storage.head(key).await.is_err(), "{key} must not exist");
    }
}

/// A presigned PUT writes exactly the declared bytes: another length breaks
/// the signature, other bytes of the same length fail the signed
/// Content-MD5, and headers it did not sign (a copy source, tags, metadata,
/// an ACL) are refused as AWS refuses them. Nothing is written by any of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_presigned_put_writes_exactly_the_declared_bytes_and_nothing_else() {
    let f = embedded().await;
    f.storage.put("sys/session-secret", Bytes::from_static(b"the secret"), PutOptions::default()).await.unwrap();
    let put = f.storage.presign_put("up.bin", digest(b"declared"), None, &[], PresignExpiry::default()).await.unwrap();
    let response = signed_put(&put.url, &put, b"longer than declared").send().await.unwrap();
    assert_eq!(response.status(), 403, "another length: {}", response.text().await.unwrap());
    let response = signed_put(&put.url, &put, b"DECLARED").send().await.unwrap();
    assert_eq!(response.status(), 400);
    assert!(response.text().await.unwrap().contains("<Code>BadDigest</Code>"));
    let copy_source = format!("{}/sys/session-secret", f.storage.bucket());
    for (name, value) in [
        ("x-amz-copy-source", copy_source.as_str()),
        ("x-amz-tagging", "owner=mallory"),
        ("x-amz-meta-owner", "mallory"),
        ("x-amz-acl", "public-read"),
        ("x-amz-storage-class", "GLACIER"),
    ] {
        let response = signed_put(&put.url, &put, b"declared").header(name, value).send().await.unwrap();
        assert_eq!(response.status(), 403, "{name}");
        let text = response.text().await.unwrap();
        assert!(text.contains("AccessDenied") && text.contains("not signed") && text.contains(name), "{name}: {text}");
    }
    assert!(f.storage.head("up.bin").await.is_err(), "nothing was written");
    let response = signed_put(&put.url, &put, b"declared").send().await.unwrap();
    assert!(response.status().is_success(), "{}", response.text().await.unwrap());
    assert_eq!(&f.storage.get("up.bin", None).await.unwrap().body[..], b"declared");
}

fn regex_replace_signature(url: &str) -> String {
    let (head, signature) = url.rsplit_once("X-Amz-Signature=").unwrap();
    let flipped: String = signature.chars().map(|c| if c == '0' { '1' } else { '0' }).collect();
    format!("{head}X-Amz-Signature={flipped}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsigned_and_sigv2_requests_are_refused() {
    let f = embedded().await;
    f.storage.put("secret.txt", Bytes::from_static(b"s"), PutOptions::default()).await.unwrap();
    let url = format!("{}/{}/secret.txt", f.endpoint, f.storage.bucket());
    assert_eq!(http().get(&url).send().await.unwrap().status(), 403, "anonymous reads are refused");
    let response = http().get(&url).header("authorization", "AWS AKIDEXAMPLE:frJIUN8DYpKDtOLCwo//yllqDzg=").send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("Signature Version 2 is not supported"));
    let v2_query = format!("{url}?AWSAccessKeyId=AKID&Expires=9999999999&Signature=abc");
    assert_eq!(http().get(&v2_query).send().await.unwrap().status(), 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browsers_of_the_allowed_origin_get_cors_with_etag_exposed() {
    let f = embedded().await;
    let url = format!("{}/{}/x.bin", f.endpoint, f.storage.bucket());
    let preflight = http()
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "http://127.0.0.1:3000")
        .header("access-control-request-method", "PUT")
        .header("access-control-request-headers", "content-type,x-amz-tagging")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "http://127.0.0.1:3000");
    let allowed = preflight.headers()["access-control-allow-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(allowed.contains("x-amz-tagging"), "{allowed}");

    let put = f.storage.presign_put("x.bin", digest(b"x"), None, &[], PresignExpiry::default()).await.unwrap();
    let response = signed_put(&put.url, &put, b"x").header("origin", "http://127.0.0.1:3000").send().await.unwrap();
    assert!(response.status().is_success());
    let exposed = response.headers()["access-control-expose-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(exposed.contains("etag"), "{exposed}");

    let other = http()
        .request(reqwest::Method::OPTIONS, &url)
        .header("origin", "http://evil.example")
        .header("access-control-request-method", "PUT")
        .send()
        .await
        .unwrap();
    assert!(other.headers().get("access-control-allow-origin").is_none(), "other origins get no CORS grant");
    assert_eq!(other.status(), 403, "a preflight from another origin is refused");

    // User metadata has names no fixed list can hold: each response exposes its own.
    let options = PutOptions { metadata: vec![("owner".into(), "ann".into())], ..Default::default() };
    f.storage.put("meta.bin", Bytes::from_static(b"m"), options).await.unwrap();
    let get = f
        .storage
        .presign_get("meta.bin", agora_core::storage::Delivery::Attachment { filename: "meta.bin" }, PresignExpiry::default())
        .await
        .unwrap();
    let response = http().get(&get.url).header("origin", "http://127.0.0.1:3000").send().await.unwrap();
    let exposed = response.headers()["access-control-expose-headers"].to_str().unwrap().to_ascii_lowercase();
    assert!(exposed.contains("x-amz-meta-owner") && exposed.contains("x-amz-checksum-crc32"), "{exposed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_keys_and_bodies_get_4xx() {
    let f = embedded().await;
    let long_key = "k".repeat(1025);
    let put = f.storage.presign_put(&long_key, digest(b"x"), None, &[], PresignExpiry::default()).await.unwrap();
    let response = signed_put(&put.url, &put, b"x").send().await.unwrap();
    assert_eq!(response.status(), 400, "{}", response.text().await.unwrap());

    let id = f.storage.create_upload("m.bin", PutOptions::default()).await.unwrap();
    for n in [0, 10_001, 99_999_999] {
        let url = f.storage.presign_upload_part("m.bin", &id, n, digest(b"x"), PresignExpiry::default()).await.unwrap();
        let status = signed_put(&url.url, &url, b"x").send().await.unwrap().status();
        assert!(status.is_client_error(), "part {n} -> {status}");
    }

    // Malformed XML for a signed complete request goes through the SDK path:
    // an upload id that was never issued is a 404, not a 500.
    let err = f.storage.complete_upload("m.bin", "../../../etc", &[(1, "x".into())], None, &[]).await.unwrap_err();
    assert_eq!(err.kind(), agora_model::ErrorKind::NotFound, "{err}");
}

/// Presigns any request for the fixture's bucket with the given keys.
fn presign(f: &agora_testkit::Fixture, keys: &SigningKeys, method: &str, key: &str, params: &[(&str, &str)]) -> String {
    let target = Target::from_endpoint(&f.endpoint, f.storage.bucket(), false).unwrap();
    let now = time::OffsetDateTime::now_utc();
    QuerySigner::new("us-east-1").presign(&target, keys, &Presign { method, key, params, headers: &[], expires_secs: 300, now })
}

fn keys_of(f: &agora_testkit::Fixture) -> SigningKeys {
    SigningKeys { access_key_id: f.credentials.0.clone(), secret_access_key: f.credentials.1.clone(), session_token: None }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urls_signed_with_the_wrong_key_are_refused() {
    let f = embedded().await;
    let wrong_secret = SigningKeys { secret_access_key: "not-the-secret".into(), ..keys_of(&f) };
    let response = http().put(presign(&f, &wrong_secret, "PUT", "w.txt", &[])).body("x").send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("<Code>SignatureDoesNotMatch</Code>"));
    let unknown_key = SigningKeys { access_key_id: "AKIAUNKNOWN".into(), ..keys_of(&f) };
    let response = http().put(presign(&f, &unknown_key, "PUT", "w.txt", &[])).body("x").send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(f.storage.head("w.txt").await.is_err(), "nothing was written");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_xml_get_4xx_and_change_nothing() {
    let f = embedded().await;
    let id = f.storage.create_upload("x.bin", PutOptions::default()).await.unwrap();
    let url = presign(&f, &keys_of(&f), "POST", "x.bin", &[("uploadId", &id)]);
    let response = http().post(&url).body("<CompleteMultipartUpload><Part><PartNumber>1</Part>").send().await.unwrap();
    assert_eq!(response.status(), 400, "malformed XML");
    assert!(response.text().await.unwrap().contains("MalformedXML"));

    let url = presign(&f, &keys_of(&f), "POST", "x.bin", &[("uploadId", &id)]);
    let huge = format!(
        "<CompleteMultipartUpload>{}</CompleteMultipartUpload>",
        "<Part><PartNumber>1</PartNumber><ETag>x</ETag></Part>".repeat(100_000)
    );
    assert!(huge.len() > 4 * 1024 * 1024);
    let status = http().post(&url).body(huge).send().await.map(|r| r.status());
    // Either a 4xx answer, or the connection closed on the oversized body.
    if let Ok(status) = status {
        assert!(status.is_client_error(), "oversized XML -> {status}");
    }
    assert!(f.storage.head("x.bin").await.is_err(), "no object was created");
    assert!(f.storage.list_parts("x.bin", &id).await.is_ok(), "the upload is still there");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_one_of_100_racing_create_once_puts_wins_over_http() {
    let f = embedded().await;
    let storage = std::sync::Arc::new(f.storage.clone());
    let racers: Vec<_> = (0..100)
        .map(|i| {
            let storage = std::sync::Arc::clone(&storage);
            tokio::spawn(async move {
                let create = PutOptions { condition: Some(agora_core::storage::WriteCondition::Create), ..Default::default() };
                storage.put("sys/names/racer", Bytes::from(format!("writer {i}")), create).await.map(|_| i)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for racer in racers {
        match racer.await.unwrap() {
            Ok(i) => winners.push(i),
            Err(agora_core::storage::StorageError::PreconditionFailed) => {}
            Err(other) => panic!("unexpected: {other}"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let stored = f.storage.get("sys/names/racer", None).await.unwrap().body;
    assert_eq!(stored, format!("writer {}", winners[0]));
}

/// Runs a boto3 script of `tests/clients/` against the fixture's endpoint
/// and returns the JSON report it prints.
async fn boto3(f: &agora_testkit::Fixture, script: &str) -> serde_json::Value {
    let script = format!("{}/tests/clients/{script}", env!("CARGO_MANIFEST_DIR"));
    let output = tokio::process::Command::new(agora_testkit::peer_python("moto"))
        .arg(script)
        .env("ENDPOINT", &f.endpoint)
        .env("BUCKET", f.storage.bucket())
        .env("ACCESS_KEY", &f.credentials.0)
        .env("SECRET_KEY", &f.credentials.1)
        .output()
        .await
        .expect("boto3 runs (it comes with moto's virtualenv: scripts/install-test-tools)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).unwrap()
}

/// boto3 — what the AWS CLI and most Python training code use — sends
/// `encoding-type=url` on listings and decodes what comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_sees_exactly_the_keys_tags_and_etags_it_wrote() {
    let f = embedded().await;
    let report = boto3(&f, "boto3_roundtrip.py").await;
    // Listed before the multipart upload: exactly the keys written, `+` and `%` intact.
    assert_eq!(report["listed"], report["wrote"], "{report}");
    assert_eq!(report["paginated"], report["listed"]);
    assert_eq!(report["folders"], serde_json::json!(["dir/", "ünï/"]));
    assert_eq!(report["tags"], serde_json::json!([["note", "a b"], ["split", "train"]]));
    assert_eq!(report["uploads_in_progress"], serde_json::json!(["mp+1.bin"]));
    assert!(report["multipart_etag"].as_str().unwrap().ends_with("-1\""), "{report}");
    assert_eq!(report["conditional"], "PreconditionFailed");
    assert_eq!(report["ranged"], serde_json::json!((10..20).collect::<Vec<u8>>()));
    assert_eq!(report["copied_tags"], report["tags"]);
    assert_eq!(report["deleted"], serde_json::json!(["a&b=c?.txt", "percent%41.txt"]));
    assert_eq!(report["after_delete"], "404");
    assert_eq!(report["presigned_body"], "x");
}

/// S3 as AWS documents it, driven by boto3: ListObjects v1, UploadPartCopy,
/// partNumber reads, date preconditions, copy rules, error documents,
/// presigned-URL limits, default headers, bucket sub-resources, ranges,
/// multipart listings and virtual-hosted-style refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_finds_s3_as_aws_documents_it() {
    let f = embedded().await;
    let report = boto3(&f, "boto3_conformance.py").await;
    assert_eq!(report["failed"], serde_json::json!([]), "{report:#}");
    assert!(report["passed"].as_array().unwrap().len() >= 43, "{report:#}");
}

/// Clients that hang up in the middle of their commit, racing others that
/// wait for their answer, all with `If-None-Match: *` on one key: exactly
/// one write wins every round, and what the endpoint serves is what its
/// disk holds (a restart would see the same object).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn clients_hanging_up_mid_commit_never_make_two_winners() {
    use sha2::Digest;
    use tokio::io::AsyncWriteExt;

    let f = embedded().await;
    let data = f.guard().expect("the embedded endpoint's files");
    let authority = f.endpoint.trim_start_matches("http://").to_owned();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for round in 0..100 {
        let key = format!("race/{round}");
        let mut hang_ups = Vec::new();
        for i in 0..4 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let url = reqwest::Url::parse(&presign(&f, &keys_of(&f), "PUT", &key, &[])).unwrap();
            let (authority, delay) = (authority.clone(), seed % 3000);
            let body = format!("gone {i}");
            hang_ups.push(tokio::spawn(async move {
                let mut socket = tokio::net::TcpStream::connect(&authority).await.unwrap();
                let request = format!(
                    "PUT {}?{} HTTP/1.1\r\nHost: {authority}\r\nContent-Length: {}\r\nIf-None-Match: *\r\n\r\n{body}",
                    url.path(),
                    url.query().unwrap_or(""),
                    body.len()
                );
                socket.write_all(request.as_bytes()).await.unwrap();
                tokio::time::sleep(Duration::from_micros(delay)).await;
                drop(socket); // hangs up without reading the answer
            }));
        }
        let waiters: Vec<_> = (0..4)
            .map(|i| {
                let url = presign(&f, &keys_of(&f), "PUT", &key, &[]);
                tokio::spawn(async move {
                    http().put(url).header("if-none-match", "*").body(format!("kept {i}")).send().await.unwrap().status()
                })
            })
            .collect();
        for hang_up in hang_ups {
            hang_up.await.unwrap();
        }
        let mut answered_winners = 0;
        for waiter in waiters {
            match waiter.await.unwrap().as_u16() {
                200 => answered_winners += 1,
                412 | 409 => {}
                other => panic!("round {round}: a racer got {other}"),
            }
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
        let served = f.storage.get(&key, None).await.unwrap();
        let won_by_hang_up = served.body.starts_with(b"gone ");
        assert_eq!(answered_winners + usize::from(won_by_hang_up), 1, "round {round}: one winner");

        let hash = hex::encode(sha2::Sha256::digest(key.as_bytes()));
        let on_disk = data.path().join("s3/buckets").join(f.storage.bucket()).join("meta").join(&hash[..2]).join(format!("{hash}.json"));
        let on_disk: serde_json::Value = serde_json::from_slice(&std::fs::read(&on_disk).unwrap()).unwrap();
        let served_etag = served.info.etag.trim_matches('"').to_owned();
        assert_eq!(on_disk["etag"].as_str(), Some(served_etag.as_str()), "round {round}: memory and disk agree");
    }
}
