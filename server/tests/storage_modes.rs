//! `agora serve` with its embedded S3 endpoint and with an external store
//! (moto's server standing in for AWS S3 / MinIO / Ceph).

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_external_store_with_the_bucket_serves_and_reports_ready() {
    let endpoint = agora_testkit::moto_endpoint();
    let bucket = format!("external-{}", std::process::id());
    let fixture_storage = agora_core::storage::Storage::connect(&agora_core::storage::StorageConfig {
        endpoint: Some(endpoint.to_owned()),
        public_endpoint: None,
        region: "us-east-1".into(),
        bucket: bucket.clone(),
        credentials: Some(("testing".into(), agora_core::secret::Secret::new("testing".into()))),
        path_style: true,
    })
    .await;
    fixture_storage.ensure_bucket().await.unwrap();

    let server = TestServer::start_with(|args| {
        args.s3_endpoint = Some(endpoint.to_owned());
        args.s3_bucket = Some(bucket.clone());
        args.s3_access_key_id = Some("testing".into());
        args.s3_secret_access_key = Some(agora_core::secret::Secret::new("testing".into()));
    })
    .await
    .expect("starts against moto");
    let (status, report) = server.get_json("/readyz").await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(component(&report, "storage")["ok"], true);
    assert!(!server.data_dir.path().join("data/s3").exists(), "no embedded endpoint in external mode");
    server.stop().await.unwrap();
}
