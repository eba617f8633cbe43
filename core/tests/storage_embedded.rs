//! What only the embedded endpoint promises (moto does not check signatures):
//! signature and expiry enforcement, SigV2 refusal, CORS for browsers.

use std::time::Duration;

use agora_core::storage::{PresignExpiry, PutOptions};
use bytes::Bytes;
use agora_testkit::Backend;

async fn embedded() -> agora_testkit::Fixture {
    agora_testkit::fixture(Backend::Embedded).await
}

fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tampered_and_expired_urls_are_refused_and_write_nothing() {
    let f = embedded().await;
    let put = f.storage.presign_put("a.txt", None, &[], PresignExpiry::default()).await.unwrap();

    // Another key with the same signature.
    let tampered = put.url.replace("/a.txt?", "/b.txt?");
    let response = http().put(&tampered).body("x").send().await.unwrap();
    assert_eq!(response.status(), 403);
    assert!(response.text().await.unwrap().contains("<Code>SignatureDoesNotMatch</Code>"));

    // A forged signature.
    let forged = regex_replace_signature(&put.url);
    assert_eq!(http().put(&forged).body("x").send().await.unwrap().status(), 403);

    // Expired.
    let short = f.storage.presign_put("c.txt", None, &[], PresignExpiry::new(Duration::from_secs(1)).unwrap()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let response = http().put(&short.url).body("x").send().await.unwrap();
    assert_eq!(response.status(), 403, "{}", response.text().await.unwrap());

    for key in ["a.txt", "b.txt", "c.txt"] {
        assert!(f.storage.head(key).await.is_err(), "{key} must not exist");
    }
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

    let put = f.storage.presign_put("x.bin", None, &[], PresignExpiry::default()).await.unwrap();
    let response = http().put(&put.url).header("origin", "http://127.0.0.1:3000").body("x").send().await.unwrap();
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
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_keys_and_bodies_get_4xx() {
    let f = embedded().await;
    let client = http();
    let long_key = "k".repeat(1025);
    let put = f.storage.presign_put(&long_key, None, &[], PresignExpiry::default()).await.unwrap();
    let response = client.put(&put.url).body("x").send().await.unwrap();
    assert_eq!(response.status(), 400, "{}", response.text().await.unwrap());

    let id = f.storage.create_upload("m.bin", PutOptions::default()).await.unwrap();
    for n in [0, 10_001, 99_999_999] {
        let url = f.storage.presign_upload_part("m.bin", &id, n, PresignExpiry::default()).await.unwrap();
        let status = client.put(&url.url).body("x").send().await.unwrap().status();
        assert!(status.is_client_error(), "part {n} -> {status}");
    }

    // Malformed XML for a signed complete request goes through the SDK path:
    // an upload id that was never issued is a 404, not a 500.
    let err = f.storage.complete_upload("m.bin", "../../../etc", &[(1, "x".into())], None).await.unwrap_err();
    assert_eq!(err.kind(), agora_model::ErrorKind::NotFound, "{err}");
}
