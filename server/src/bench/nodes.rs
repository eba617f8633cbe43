//! `agora bench nodes`: Agora nodes sharing one bucket, on the embedded
//! endpoint and, with `--s3-endpoint`, on an external store in the same run
//! (`scripts/bench-nodes` starts a Ceph RGW for it):
//!
//! - presigned upload throughput: small files a second, one large file's
//!   MiB a second;
//! - a label set on node A until node B's search finds it (p50/p99), next to
//!   the time node A's own search takes to find it;
//! - a node joining a bucket of many files: the time until its index lists
//!   them all and answers like node B, next to one listing of every key
//!   (what any join must read) and to the same node restarting with its
//!   index.
//!
//! The joining bucket's files are written straight through the S3 API as
//! uploads leave them (the object and its tags): their upload rate is the
//! first figure, and 100,000 presigned uploads would take the bench minutes
//! without telling more.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Args;
use futures::{StreamExt, TryStreamExt};
use serde_json::{json, Value};
use tempfile::TempDir;

use agora_core::datasets::files::file_key;
use agora_core::secret::Secret;
use agora_core::storage::{PutOptions, Storage, StorageConfig};
use agora_model::tags::Tag;

use super::accounts::{create_user, login, USER};
use super::child::AgoraChild;
use super::client::Api;
use super::datasets::{small_path, upload_large, upload_small, UploadArgs};
use super::{machine_line, percentiles};

#[derive(Debug, Args)]
pub struct NodesArgs {
    /// An external S3 endpoint to measure beside the embedded one (e.g. Ceph
    /// RGW; `scripts/bench-nodes` starts one) [default: the embedded one only].
    #[arg(long, env = "AGORA_BENCH_S3_ENDPOINT", value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// Access key of the external store.
    #[arg(long, env = "AGORA_BENCH_S3_ACCESS_KEY_ID", value_name = "KEY", hide_env_values = true)]
    pub s3_access_key_id: Option<String>,
    /// Secret key of the external store.
    #[arg(long, env = "AGORA_BENCH_S3_SECRET_ACCESS_KEY", value_name = "SECRET", hide_env_values = true)]
    pub s3_secret_access_key: Option<String>,
    /// What the output calls the external store.
    #[arg(long, default_value = "external S3", value_name = "NAME")]
    pub s3_name: String,
    #[command(flatten)]
    pub uploads: UploadArgs,
    /// Label changes timed from node A to node B.
    #[arg(long, default_value_t = 200)]
    pub changes: usize,
    /// Files in the bucket a new node joins.
    #[arg(long, default_value_t = 100_000)]
    pub join_files: usize,
}

/// An external store's address and keys.
struct External {
    endpoint: String,
    access_key: String,
    secret_key: String,
}

/// Two serving nodes on one bucket, and what a third needs to join it.
struct Cluster {
    a: AgoraChild,
    b: AgoraChild,
    /// The settings every node but the embedded one's holder needs.
    env: Vec<(&'static str, String)>,
    storage: Storage,
    _dirs: (TempDir, TempDir),
}

const READY_WITHIN: Duration = Duration::from_secs(120);

pub fn run(args: NodesArgs) -> anyhow::Result<()> {
    println!("{}", machine_line());
    let external = match (&args.s3_endpoint, &args.s3_access_key_id, &args.s3_secret_access_key) {
        (None, _, _) => None,
        (Some(endpoint), Some(access_key), Some(secret_key)) => {
            Some(External { endpoint: endpoint.clone(), access_key: access_key.clone(), secret_key: secret_key.clone() })
        }
        _ => bail!("--s3-endpoint needs --s3-access-key-id and --s3-secret-access-key"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let mut stores = vec![("embedded endpoint".to_owned(), None)];
    if let Some(external) = external {
        stores.push((args.s3_name.clone(), Some(external)));
    }
    for (name, external) in stores {
        println!("\n{name}:");
        let cluster = match &external {
            None => embedded_cluster(&runtime)?,
            Some(external) => external_cluster(&runtime, external)?,
        };
        runtime.block_on(measure(&cluster, &args))?;
        join(&runtime, &cluster, &args)?;
    }
    Ok(())
}

/// Node A serves with its embedded endpoint; node B uses that endpoint as
/// its external store.
fn embedded_cluster(runtime: &tokio::runtime::Runtime) -> anyhow::Result<Cluster> {
    let (dir_a, dir_b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    create_user(dir_a.path(), USER, &[])?;
    let mut a = AgoraChild::spawn(dir_a.path())?;
    a.wait_ready(Instant::now(), READY_WITHIN)?;
    let credentials: Value = serde_json::from_slice(&std::fs::read(dir_a.path().join("s3/credentials.json"))?)?;
    let env = vec![
        ("AGORA_S3_ENDPOINT", format!("http://{}", a.s3_addr)),
        ("AGORA_S3_ACCESS_KEY_ID", credentials["access_key_id"].as_str().unwrap_or_default().to_owned()),
        ("AGORA_S3_SECRET_ACCESS_KEY", credentials["secret_access_key"].as_str().unwrap_or_default().to_owned()),
    ];
    let storage = runtime.block_on(a.storage(dir_a.path()))?;
    let mut b = AgoraChild::spawn_with(dir_b.path(), &env)?;
    b.wait_ready(Instant::now(), READY_WITHIN)?;
    Ok(Cluster { a, b, env, storage, _dirs: (dir_a, dir_b) })
}

/// Both nodes on a new bucket of the external store.
fn external_cluster(runtime: &tokio::runtime::Runtime, external: &External) -> anyhow::Result<Cluster> {
    let millis = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_millis();
    let bucket = format!("agora-bench-{millis}");
    let storage = runtime.block_on(Storage::connect(&StorageConfig {
        endpoint: Some(external.endpoint.clone()),
        public_endpoint: None,
        region: "us-east-1".into(),
        bucket: bucket.clone(),
        credentials: Some((external.access_key.clone(), Secret::new(external.secret_key.clone()))),
        path_style: true,
    }));
    runtime.block_on(storage.ensure_bucket()).with_context(|| format!("cannot create the bucket {bucket}"))?;
    let env = vec![
        ("AGORA_S3_ENDPOINT", external.endpoint.clone()),
        ("AGORA_S3_ACCESS_KEY_ID", external.access_key.clone()),
        ("AGORA_S3_SECRET_ACCESS_KEY", external.secret_key.clone()),
        ("AGORA_S3_BUCKET", bucket),
    ];
    let (dir_a, dir_b) = (tempfile::tempdir()?, tempfile::tempdir()?);
    create_user(dir_a.path(), USER, &env)?;
    let mut a = AgoraChild::spawn_with(dir_a.path(), &env)?;
    a.wait_ready(Instant::now(), READY_WITHIN)?;
    let mut b = AgoraChild::spawn_with(dir_b.path(), &env)?;
    b.wait_ready(Instant::now(), READY_WITHIN)?;
    Ok(Cluster { a, b, env, storage, _dirs: (dir_a, dir_b) })
}

fn api(client: &reqwest::Client, node: &AgoraChild, token: &str) -> Api {
    Api { client: client.clone(), base: format!("http://{}", node.addr), token: token.to_owned() }
}

/// Uploads through node A, then label changes from A to B.
async fn measure(cluster: &Cluster, args: &NodesArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
    let token = login(&client, &format!("http://{}", cluster.a.addr)).await?;
    let (on_a, on_b) = (api(&client, &cluster.a, &token), api(&client, &cluster.b, &token));
    let dataset = on_a.post("/api/v1/datasets", json!({"name": "bench"})).await?;
    let id = dataset["id"].as_str().context("no dataset id")?.to_owned();

    let uploads = &args.uploads;
    let took = upload_small(&on_a, &id, uploads).await?;
    println!(
        "  presigned uploads: {} files of {} B, {} in flight: {:.0} files/s ({took:.1} s)",
        uploads.small,
        uploads.small_bytes,
        uploads.concurrency,
        uploads.small as f64 / took
    );
    let (took, parts) = upload_large(&on_a, &id, uploads).await?;
    println!(
        "  presigned upload: one {} MiB file in {parts} parts: {:.0} MiB/s ({took:.1} s)",
        uploads.large_mib,
        uploads.large_mib as f64 / took
    );

    let (mut here, mut there) = (Vec::with_capacity(args.changes), Vec::with_capacity(args.changes));
    for change in 0..args.changes {
        let path = small_path(change % uploads.small.max(1));
        let value = format!("r{change}");
        let started = Instant::now();
        on_a.put(&format!("/api/v1/datasets/{id}/labels"), json!({"path": path, "labels": [{"key": "round", "value": value}]})).await?;
        let query = format!("label:round={value}");
        let (a, b) = futures::join!(found(&on_a, &id, &query, started), found(&on_b, &id, &query, started));
        here.push(a?);
        there.push(b?);
    }
    let ((a50, a99), (b50, b99)) = (percentiles(&mut here), percentiles(&mut there));
    println!(
        "  a label set on node A, found by node B's search: p50 {b50:.0} ms, p99 {b99:.0} ms over {} changes (goal p99 ≤ 2 s); \
         by node A's own search: p50 {a50:.0} ms, p99 {a99:.0} ms",
        args.changes
    );
    Ok(())
}

/// Polls a node's search until `query` finds a file of the dataset;
/// returns the milliseconds since `started`.
async fn found(node: &Api, dataset: &str, query: &str, started: Instant) -> anyhow::Result<f64> {
    while started.elapsed() < Duration::from_secs(60) {
        let answer = node.get("/api/v1/search", &[("q", query), ("kind", "file"), ("dataset", dataset)]).await?;
        if answer["total"].as_u64().unwrap_or(0) > 0 {
            return Ok(started.elapsed().as_secs_f64() * 1000.0);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    bail!("{} did not find {query:?} within 60 s", node.base)
}

/// Fills a dataset with `--join-files` files, then starts node C with an
/// empty data directory and times it until it answers like node B.
fn join(runtime: &tokio::runtime::Runtime, cluster: &Cluster, args: &NodesArgs) -> anyhow::Result<()> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
    let (token, id) = runtime.block_on(async {
        let token = login(&client, &format!("http://{}", cluster.a.addr)).await?;
        let dataset = api(&client, &cluster.a, &token).post("/api/v1/datasets", json!({"name": "join"})).await?;
        anyhow::Ok((token, dataset["id"].as_str().context("no dataset id")?.to_owned()))
    })?;
    let started = Instant::now();
    runtime.block_on(fill(&cluster.storage, &id, args.join_files))?;
    println!("  {} files written straight into the bucket in {:.0} s", args.join_files, started.elapsed().as_secs_f64());
    let started = Instant::now();
    let keys = runtime.block_on(cluster.storage.list_all(&file_key(&id, "")))?.len();
    let listing = started.elapsed().as_secs_f64();

    // What node B answers about the uploaded dataset, as node C must.
    let on_b = api(&client, &cluster.b, &token);
    let bench_query = [("q", "label:round"), ("kind", "file")];
    let expected = runtime.block_on(on_b.get("/api/v1/search", &bench_query))?["total"].as_u64();

    let dir = tempfile::tempdir()?;
    let (joined, ready) = node_answers(runtime, &client, &token, dir.path(), &cluster.env, &id, keys, &bench_query, expected)?;
    let (restarted, _) = node_answers(runtime, &client, &token, dir.path(), &cluster.env, &id, keys, &bench_query, expected)?;
    println!(
        "  a node joining {keys} files: answers like node B after {joined:.1} s (ready after {ready:.1} s); \
         one listing of every key: {listing:.1} s; the node restarting with its index: {restarted:.1} s"
    );
    Ok(())
}

/// Writes `count` files with two tags each under the dataset.
async fn fill(storage: &Storage, id: &str, count: usize) -> anyhow::Result<()> {
    let body = Bytes::from(vec![7u8; 1024]);
    futures::stream::iter(0..count)
        .map(|n| {
            let (key, body) = (file_key(id, &format!("train/class{:03}/img{n:07}.jpg", n % 100)), body.clone());
            let tags = vec![Tag::new("split", ["train", "val", "test"][n % 3]), Tag::new("class", format!("c{}", n % 100))];
            async move { storage.put(&key, body, PutOptions { content_type: Some("image/jpeg".into()), tags, ..Default::default() }).await }
        })
        .buffer_unordered(64)
        .try_collect::<Vec<_>>()
        .await?;
    Ok(())
}

/// Starts a node on `dir` and times it until it lists `files` files in the
/// dataset and answers `query` with `expected`; returns (seconds until
/// then, seconds until `/readyz`). The node is stopped again.
#[allow(clippy::too_many_arguments)]
fn node_answers(
    runtime: &tokio::runtime::Runtime,
    client: &reqwest::Client,
    token: &str,
    dir: &Path,
    env: &[(&'static str, String)],
    id: &str,
    files: usize,
    query: &[(&str, &str)],
    expected: Option<u64>,
) -> anyhow::Result<(f64, f64)> {
    let started = Instant::now();
    let mut node = AgoraChild::spawn_with(dir, env)?;
    let (_, ready) = node.wait_ready(started, READY_WITHIN)?;
    let on_node = api(client, &node, token);
    let answered = runtime.block_on(async {
        while started.elapsed() < Duration::from_secs(1800) {
            let listed = on_node.get(&format!("/api/v1/datasets/{id}/files"), &[("labels", "split"), ("limit", "1")]).await?;
            if listed["total"].as_u64() == Some(files as u64) && on_node.get("/api/v1/search", query).await?["total"].as_u64() == expected {
                return anyhow::Ok(started.elapsed().as_secs_f64());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the joining node did not list {files} files within 30 minutes")
    })?;
    drop(node);
    Ok((answered, ready.as_secs_f64()))
}
