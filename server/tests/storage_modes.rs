//! `agora serve` with its embedded S3 endpoint and with external stores:
//! moto's server and a real Ceph RGW, and its start-up check of every S3
//! feature it relies on.

#![recursion_limit = "256"]

mod common;

use common::TestServer;

fn component<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["components"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no {name} in {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_endpoint_starts_with_its_bucket_and_private_credentials() {
    let server = TestServer::start().await;
    let (status, report) = server.get_json("/readyz").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(component(&report, "storage")["ok"], true);

    let credentials = server.data_dir.path().join("data/s3/credentials.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&credentials).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert!(server.data_dir.path().join("data/s3/buckets/agora").is_dir());
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_store_without_the_bucket_stops_the_start_with_the_fix() {
    let endpoint = agora_testkit::moto_endpoint();
    let err = TestServer::start_with(|args| {
        args.s3_endpoint = Some(endpoint.to_owned());
        args.s3_bucket = Some(format!("missing-{}", std::process::id()));
        args.s3_access_key_id = Some("testing".into());
        args.s3_secret_access_key = Some(agora_core::secret::Secret::new("testing".into()));
    })
    .await
    .err()
    .expect("the start fails");
    let message = format!("{err:#}");
    assert!(message.contains("does not exist") && message.contains("aws s3 mb"), "{message}");
}

/// A new bucket on an external store.
async fn bucket_on(endpoint: &str, keys: (&str, &str), name: &str) -> String {
    let bucket = format!("{name}-{}", std::process::id());
    let storage = agora_core::storage::Storage::connect(&agora_core::storage::StorageConfig {
        endpoint: Some(endpoint.to_owned()),
        public_endpoint: None,
        region: "us-east-1".into(),
        bucket: bucket.clone(),
        credentials: Some((keys.0.to_owned(), agora_core::secret::Secret::new(keys.1.to_owned()))),
        path_style: true,
    })
    .await;
    storage.ensure_bucket().await.unwrap();
    bucket
}

async fn serve_on(endpoint: &str, keys: (&str, &str), bucket: &str) -> anyhow::Result<TestServer> {
    TestServer::start_with(|args| {
        args.s3_endpoint = Some(endpoint.to_owned());
        args.s3_bucket = Some(bucket.to_owned());
        args.s3_access_key_id = Some(keys.0.to_owned());
        args.s3_secret_access_key = Some(agora_core::secret::Secret::new(keys.1.to_owned()));
    })
    .await
}

/// The start-up self-check passes on a store that has every feature, and
/// the node serves.
async fn an_external_store_serves_and_reports_ready(endpoint: &str, keys: (&str, &str)) {
    let bucket = bucket_on(endpoint, keys, "external").await;
    let server = serve_on(endpoint, keys, &bucket).await.expect("starts on the external store");
    let (status, report) = server.get_json("/readyz").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(component(&report, "storage")["ok"], true);
    assert!(!server.data_dir.path().join("data/s3").exists(), "no embedded endpoint in external mode");
    server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto_passes_the_start_up_check_and_serves() {
    an_external_store_serves_and_reports_ready(agora_testkit::moto_endpoint(), ("testing", "testing")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ceph_rgw_passes_the_start_up_check_and_serves() {
    let rgw = agora_testkit::rgw_endpoint();
    an_external_store_serves_and_reports_ready(&rgw.url, (&rgw.access_key, &rgw.secret_key)).await;
}

/// A store that accepts If-None-Match and If-Match but ignores them would
/// let two uploads take one name and concurrent saves lose each other: the
/// node refuses to start on it and names the feature.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_that_ignores_conditional_writes_is_refused_at_start_with_the_feature_named() {
    let keys = ("testing", "testing");
    let bucket = bucket_on(agora_testkit::moto_endpoint(), keys, "no-conditions").await;
    let store = agora_testkit::store_ignoring_conditions(agora_testkit::moto_endpoint()).await;
    let err = serve_on(&store, keys, &bucket).await.err().expect("the start fails");
    let message = format!("{err:#}");
    assert!(message.contains("conditional create") && message.contains("If-None-Match"), "{message}");
    assert!(message.contains("second create of the same key succeeded"), "{message}");
}
