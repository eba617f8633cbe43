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
    client_script(f, script, &[]).await
}

/// [`boto3`] with more environment for the script.
async fn client_script(f: &agora_testkit::Fixture, script: &str, env: &[(&str, String)]) -> serde_json::Value {
    let script = format!("{}/tests/clients/{script}", env!("CARGO_MANIFEST_DIR"));
    let output = tokio::process::Command::new(agora_testkit::peer_python("moto"))
        .arg(script)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
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
/// multipart listings, additional checksums and virtual-hosted-style
/// refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_finds_s3_as_aws_documents_it() {
    let f = embedded().await;
    let report = boto3(&f, "boto3_conformance.py").await;
    assert_eq!(report["failed"], serde_json::json!([]), "{report:#}");
    assert!(report["passed"].as_array().unwrap().len() >= 57, "{report:#}");
}

/// The command-line clients people point at a store — the AWS CLI, rclone
/// and s3cmd — upload (in parts too), list, copy inside the store, sync,
/// tag, download and delete through the embedded endpoint, and what they
/// wrote is what boto3 reads back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aws_cli_rclone_and_s3cmd_work_against_it() {
    let f = embedded().await;
    let aws = agora_testkit::peer_python("awscli").with_file_name("aws");
    let report = client_script(&f, "cli_clients.py", &[("AWS_CLI", aws.display().to_string())]).await;
    assert_eq!(report["failed"], serde_json::json!([]), "{report:#}");
    assert_eq!(report["passed"].as_array().unwrap().len(), 21, "{report:#}");
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

/// An SDK client of the fixture's endpoint that sends and checks checksums
/// wherever S3 supports them, as the AWS SDKs do by default since 2025.
fn checksumming_client(f: &agora_testkit::Fixture) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
    let config = f
        .storage
        .sdk_client()
        .config()
        .to_builder()
        .request_checksum_calculation(RequestChecksumCalculation::WhenSupported)
        .response_checksum_validation(ResponseChecksumValidation::WhenSupported)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// A streaming body makes the Rust SDK send its CRC32 in an aws-chunked
/// trailer (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`): the endpoint checks it,
/// keeps it, returns it on request, and stores the object without the
/// `aws-chunked` framing in its Content-Encoding.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trailer_checksums_are_checked_stored_and_returned() {
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode};
    let f = embedded().await;
    let s3 = checksumming_client(&f);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("body.bin");
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &bytes).unwrap();
    let put = s3
        .put_object()
        .bucket(f.storage.bucket())
        .key("ck/trailer.bin")
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .body(ByteStream::from_path(&path).await.unwrap())
        .send()
        .await
        .expect("a streamed PUT with a CRC32 trailer is stored");
    let crc = put.checksum_crc32().expect("the PUT answers with the CRC32 it stored").to_owned();

    let head = s3.head_object().bucket(f.storage.bucket()).key("ck/trailer.bin").checksum_mode(ChecksumMode::Enabled).send().await.unwrap();
    assert_eq!(head.checksum_crc32(), Some(crc.as_str()));
    assert_eq!(head.checksum_type().map(|t| t.as_str()), Some("FULL_OBJECT"));
    assert_eq!(head.content_encoding(), None, "aws-chunked was stored as the object's encoding");
    let plain = s3.head_object().bucket(f.storage.bucket()).key("ck/trailer.bin").send().await.unwrap();
    assert_eq!(plain.checksum_crc32(), None, "a checksum came without x-amz-checksum-mode");
    // The SDK checks the returned CRC32 against the bytes it reads.
    let got = s3.get_object().bucket(f.storage.bucket()).key("ck/trailer.bin").checksum_mode(ChecksumMode::Enabled).send().await.unwrap();
    assert_eq!(got.checksum_crc32(), Some(crc.as_str()));
    assert_eq!(got.body.collect().await.unwrap().into_bytes(), bytes);

    // The same bytes by hand, with the right CRC32 in the trailer and then
    // a wrong one: the trailer is what is checked.
    let chunks = vec![bytes[..100_000].to_vec(), bytes[100_000..].to_vec()];
    let (status, body) = signed_chunked_put(&f, "ck/trailer-ok", &chunks, Framing::UnsignedTrailer { crc32: &crc }).await;
    assert_eq!(status, 200, "{body}");
    let head = s3.head_object().bucket(f.storage.bucket()).key("ck/trailer-ok").checksum_mode(ChecksumMode::Enabled).send().await.unwrap();
    assert_eq!(head.checksum_crc32(), Some(crc.as_str()));
    let (status, body) = signed_chunked_put(&f, "ck/trailer-wrong", &chunks, Framing::UnsignedTrailer { crc32: "AAAAAA==" }).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("<Code>BadDigest</Code>"), "{body}");
    assert!(matches!(f.storage.head("ck/trailer-wrong").await, Err(agora_core::storage::StorageError::NotFound)));
}

/// CRC64NVME (the SDKs' default) on a multipart upload is a checksum of the
/// whole object, combined from the parts': the same value a single PUT of
/// the same bytes gets. SHA-256 parts make a COMPOSITE checksum, `-N`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_checksums_are_combined_from_the_parts() {
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart};
    let f = embedded().await;
    let s3 = checksumming_client(&f);
    let bucket = f.storage.bucket().to_owned();
    let parts: Vec<Vec<u8>> = vec![vec![7u8; 5 * 1024 * 1024], b"the tail".to_vec()];
    let whole = parts.concat();
    let single = s3
        .put_object()
        .bucket(&bucket)
        .key("ck/single")
        .checksum_algorithm(ChecksumAlgorithm::Crc64Nvme)
        .body(ByteStream::from(whole.clone()))
        .send()
        .await
        .unwrap();
    let single_crc = single.checksum_crc64_nvme().expect("a CRC64NVME for the single PUT").to_owned();

    for (algorithm, key) in [(ChecksumAlgorithm::Crc64Nvme, "ck/multi-crc64"), (ChecksumAlgorithm::Sha256, "ck/multi-sha256")] {
        let upload = s3.create_multipart_upload().bucket(&bucket).key(key).checksum_algorithm(algorithm.clone()).send().await.unwrap();
        let id = upload.upload_id().unwrap().to_owned();
        let mut done = Vec::new();
        for (n, part) in parts.iter().enumerate() {
            let number = n as i32 + 1;
            let answer = s3
                .upload_part()
                .bucket(&bucket)
                .key(key)
                .upload_id(&id)
                .part_number(number)
                .checksum_algorithm(algorithm.clone())
                .body(ByteStream::from(part.clone()))
                .send()
                .await
                .unwrap();
            done.push(
                CompletedPart::builder()
                    .part_number(number)
                    .e_tag(answer.e_tag().unwrap())
                    .set_checksum_crc64_nvme(answer.checksum_crc64_nvme().map(str::to_owned))
                    .set_checksum_sha256(answer.checksum_sha256().map(str::to_owned))
                    .build(),
            );
        }
        let complete = s3
            .complete_multipart_upload()
            .bucket(&bucket)
            .key(key)
            .upload_id(&id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(done)).build())
            .send()
            .await
            .unwrap();
        let head = s3.head_object().bucket(&bucket).key(key).checksum_mode(ChecksumMode::Enabled).send().await.unwrap();
        if algorithm == ChecksumAlgorithm::Crc64Nvme {
            assert_eq!(complete.checksum_crc64_nvme(), Some(single_crc.as_str()), "the combined CRC is not the whole object's");
            assert_eq!(head.checksum_type().map(|t| t.as_str()), Some("FULL_OBJECT"));
            // The SDK validates a whole-object checksum while reading.
            let got = s3.get_object().bucket(&bucket).key(key).checksum_mode(ChecksumMode::Enabled).send().await.unwrap();
            assert_eq!(got.body.collect().await.unwrap().into_bytes().len(), whole.len());
        } else {
            let composite = complete.checksum_sha256().expect("a composite SHA-256");
            assert!(composite.ends_with("-2"), "{composite}");
            assert_eq!(head.checksum_sha256(), Some(composite));
            assert_eq!(head.checksum_type().map(|t| t.as_str()), Some("COMPOSITE"));
        }
    }
}

/// A declared checksum that does not match the bytes is `400 BadDigest`,
/// and nothing is stored; a malformed one is `400 InvalidRequest`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_checksum_is_refused_and_stores_nothing() {
    let f = embedded().await;
    let s3 = checksumming_client(&f);
    use base64::Engine as _;
    let wrong = base64::engine::general_purpose::STANDARD.encode([0u8; 32]);
    let err = s3
        .put_object()
        .bucket(f.storage.bucket())
        .key("ck/wrong")
        .checksum_sha256(&wrong)
        .body(b"not those bytes".to_vec().into())
        .send()
        .await
        .expect_err("a wrong SHA-256 is refused");
    let service = err.into_service_error();
    assert_eq!(aws_sdk_s3::error::ProvideErrorMetadata::code(&service), Some("BadDigest"), "{service:?}");
    assert!(matches!(f.storage.head("ck/wrong").await, Err(agora_core::storage::StorageError::NotFound)));

    let response = signed_raw_put(&f, "ck/malformed", &[("x-amz-checksum-crc32", "not base64!")], b"x".to_vec()).await;
    assert_eq!(response.0, 400);
    assert!(response.1.contains("<Code>InvalidRequest</Code>"), "{}", response.1);
}

/// An aws-chunked body signed chunk by chunk (`STREAMING-AWS4-HMAC-SHA256-
/// PAYLOAD`): correct chunk signatures store the bytes; a chunk changed in
/// flight is `403 SignatureDoesNotMatch`, as AWS answers, and stores nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunk_whose_signature_does_not_match_is_403() {
    let f = embedded().await;
    let chunks: Vec<Vec<u8>> = vec![vec![b'a'; 64 * 1024], b"second chunk".to_vec()];
    let (status, body) = signed_chunked_put(&f, "ck/chunked-good", &chunks, Framing::Signed { tamper: None }).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(f.storage.get("ck/chunked-good", None).await.unwrap().body, chunks.concat());

    let (status, body) = signed_chunked_put(&f, "ck/chunked-bad", &chunks, Framing::Signed { tamper: Some(1) }).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Code>SignatureDoesNotMatch</Code>"), "{body}");
    assert!(matches!(f.storage.head("ck/chunked-bad").await, Err(agora_core::storage::StorageError::NotFound)));
}

/// SigV4 by hand, for requests no SDK sends: the signing key, and the
/// signature of a string to sign.
struct HandSigner {
    secret: String,
    access_key: String,
    date: String,
    amz_date: String,
}

impl HandSigner {
    fn new(f: &agora_testkit::Fixture) -> Self {
        let now = time::OffsetDateTime::now_utc();
        let amz_date = format!(
            "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            now.year(),
            u8::from(now.month()),
            now.day(),
            now.hour(),
            now.minute(),
            now.second()
        );
        HandSigner { secret: f.credentials.1.clone(), access_key: f.credentials.0.clone(), date: amz_date[..8].to_owned(), amz_date }
    }

    fn scope(&self) -> String {
        format!("{}/us-east-1/s3/aws4_request", self.date)
    }

    fn sign(&self, string_to_sign: &str) -> String {
        use hmac::{Hmac, Mac};
        let mac = |key: &[u8], data: &[u8]| {
            let mut m = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
            m.update(data);
            m.finalize().into_bytes().to_vec()
        };
        let key = [self.date.as_str(), "us-east-1", "s3", "aws4_request"]
            .iter()
            .fold(format!("AWS4{}", self.secret).into_bytes(), |key, part| mac(&key, part.as_bytes()));
        hex::encode(mac(&key, string_to_sign.as_bytes()))
    }

    /// The seed signature and `Authorization` header of a PUT of `path`
    /// whose headers are `headers` (lower-case names, all signed).
    fn authorize(&self, path: &str, headers: &[(&str, String)], payload: &str) -> (String, String) {
        use sha2::Digest as _;
        let mut sorted: Vec<&(&str, String)> = headers.iter().collect();
        sorted.sort_by_key(|(name, _)| *name);
        let canonical_headers: String = sorted.iter().map(|(n, v)| format!("{n}:{}\n", v.trim())).collect();
        let signed: Vec<&str> = sorted.iter().map(|(n, _)| *n).collect();
        let signed = signed.join(";");
        let canonical = format!("PUT\n{path}\n\n{canonical_headers}\n{signed}\n{payload}");
        let to_sign =
            format!("AWS4-HMAC-SHA256\n{}\n{}\n{}", self.amz_date, self.scope(), hex::encode(sha2::Sha256::digest(canonical.as_bytes())));
        let signature = self.sign(&to_sign);
        let authorization =
            format!("AWS4-HMAC-SHA256 Credential={}/{}, SignedHeaders={signed}, Signature={signature}", self.access_key, self.scope());
        (signature, authorization)
    }
}

fn host_of(f: &agora_testkit::Fixture) -> String {
    f.endpoint.split_once("://").map_or(f.endpoint.clone(), |(_, rest)| rest.trim_end_matches('/').to_owned())
}

/// Sends a PUT of `body` to `path` with the `headers` it was signed with
/// (reqwest sets `host`) and its `Authorization`; returns the status and body.
async fn send_signed(
    f: &agora_testkit::Fixture,
    path: &str,
    authorization: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (u16, String) {
    let mut request = http().put(format!("{}{path}", f.endpoint.trim_end_matches('/'))).header("authorization", authorization).body(body);
    for (name, value) in headers.iter().filter(|(n, _)| *n != "host") {
        request = request.header(*name, value);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// A header-signed PUT with `extra` headers (signed too) and an unsigned
/// payload; returns the status and body.
async fn signed_raw_put(f: &agora_testkit::Fixture, key: &str, extra: &[(&str, &str)], body: Vec<u8>) -> (u16, String) {
    let signer = HandSigner::new(f);
    let path = format!("/{}/{key}", f.storage.bucket());
    let mut headers =
        vec![("host", host_of(f)), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD".to_owned()), ("x-amz-date", signer.amz_date.clone())];
    headers.extend(extra.iter().map(|(n, v)| (*n, (*v).to_owned())));
    let (_, authorization) = signer.authorize(&path, &headers, "UNSIGNED-PAYLOAD");
    send_signed(f, &path, &authorization, &headers, body).await
}

/// How a hand-made aws-chunked body is framed.
enum Framing<'a> {
    /// Every chunk signed (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`); with
    /// `tamper`, that chunk's first byte is changed after it was signed.
    Signed { tamper: Option<usize> },
    /// Unsigned chunks and an `x-amz-checksum-crc32` trailer with this
    /// value (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`).
    UnsignedTrailer { crc32: &'a str },
}

/// A header-signed PUT of `chunks` as an aws-chunked body; returns the
/// status and body of the answer.
async fn signed_chunked_put(f: &agora_testkit::Fixture, key: &str, chunks: &[Vec<u8>], framing: Framing<'_>) -> (u16, String) {
    use sha2::Digest as _;
    let payload = match framing {
        Framing::Signed { .. } => "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        Framing::UnsignedTrailer { .. } => "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    };
    let signer = HandSigner::new(f);
    let path = format!("/{}/{key}", f.storage.bucket());
    let decoded: usize = chunks.iter().map(Vec::len).sum();
    let mut headers = vec![
        ("host", host_of(f)),
        ("content-encoding", "aws-chunked".to_owned()),
        ("x-amz-content-sha256", payload.to_owned()),
        ("x-amz-date", signer.amz_date.clone()),
        ("x-amz-decoded-content-length", decoded.to_string()),
    ];
    if let Framing::UnsignedTrailer { .. } = framing {
        headers.push(("x-amz-trailer", "x-amz-checksum-crc32".to_owned()));
    }
    let (seed, authorization) = signer.authorize(&path, &headers, payload);
    let empty_hash = hex::encode(sha2::Sha256::digest(b""));
    let mut previous = seed;
    let mut body = Vec::new();
    let all: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).chain(std::iter::once(&[][..])).collect();
    for (i, chunk) in all.into_iter().enumerate() {
        match framing {
            Framing::Signed { tamper } => {
                let to_sign = format!(
                    "AWS4-HMAC-SHA256-PAYLOAD\n{}\n{}\n{previous}\n{empty_hash}\n{}",
                    signer.amz_date,
                    signer.scope(),
                    hex::encode(sha2::Sha256::digest(chunk))
                );
                let signature = signer.sign(&to_sign);
                let mut data = chunk.to_vec();
                if tamper == Some(i) {
                    data[0] ^= 1;
                }
                body.extend_from_slice(format!("{:x};chunk-signature={signature}\r\n", data.len()).as_bytes());
                body.extend_from_slice(&data);
                body.extend_from_slice(b"\r\n");
                previous = signature;
            }
            Framing::UnsignedTrailer { .. } => {
                body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
                body.extend_from_slice(chunk);
                if !chunk.is_empty() {
                    body.extend_from_slice(b"\r\n");
                }
            }
        }
    }
    if let Framing::UnsignedTrailer { crc32 } = framing {
        body.extend_from_slice(format!("x-amz-checksum-crc32:{crc32}\r\n\r\n").as_bytes());
    }
    send_signed(f, &path, &authorization, &headers, body).await
}
