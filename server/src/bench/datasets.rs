//! `agora bench datasets`: uploads through the same presign → PUT → complete
//! flow a browser uses, driven from a Rust client, and file listings.
//!
//! Two `agora serve` processes: one is only the S3 endpoint (its embedded
//! store), the other is Agora pointed at it as an external S3. So the CPU
//! time Agora spends per GiB uploaded is measured apart from the storage's,
//! which receives the bytes — the comparison in the same run.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use futures::{StreamExt, TryStreamExt};
use serde_json::{json, Value};

use agora_core::index::query::list_files;
use agora_core::index::{DatasetDoc, FileDoc, Op, SearchIndex};
use agora_model::files::{FileQuery, FileSort};
use agora_model::tags::Tag;

use super::accounts::{create_user, login, USER};
use super::child::AgoraChild;
use super::client::Api;
use super::{machine_line, percentiles};

/// The uploads a bench times: many small files, then one large one.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// Small files uploaded.
    #[arg(long, default_value_t = 1000)]
    pub small: usize,
    /// Bytes of each small file.
    #[arg(long, default_value_t = 4096)]
    pub small_bytes: usize,
    /// Small uploads in flight.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// MiB of the large (multipart) file.
    #[arg(long, default_value_t = 1024)]
    pub large_mib: u64,
}

#[derive(Debug, Args)]
pub struct DatasetsArgs {
    #[command(flatten)]
    pub uploads: UploadArgs,
    /// Files in the dataset whose listing is timed.
    #[arg(long, default_value_t = 100_000)]
    pub listed: usize,
    /// Timed runs of each listing.
    #[arg(long, default_value_t = 200)]
    pub runs: usize,
}

/// The base64 MD5 a client declares for the bytes it uploads.
fn md5_b64(bytes: &[u8]) -> String {
    use md5::{Digest, Md5};
    agora_model::files::md5_base64(&Md5::digest(bytes).into())
}

async fn put(client: &reqwest::Client, call: &Value, body: Vec<u8>) -> anyhow::Result<()> {
    let mut request = client.put(call["url"].as_str().context("no url")?).body(body);
    for header in call["headers"].as_array().into_iter().flatten() {
        request = request.header(header[0].as_str().unwrap_or_default(), header[1].as_str().unwrap_or_default());
    }
    let response = request.send().await?;
    if !response.status().is_success() {
        bail!("storage answered {}", response.status());
    }
    Ok(())
}

fn cpu(child: &AgoraChild) -> f64 {
    child.cpu_seconds().unwrap_or(f64::NAN)
}

pub fn run(args: DatasetsArgs) -> anyhow::Result<()> {
    println!("{}", machine_line());
    let (storage_dir, agora_dir) = (tempfile::tempdir()?, tempfile::tempdir()?);
    create_user(storage_dir.path(), USER, &[])?;
    let mut storage = AgoraChild::spawn(storage_dir.path())?;
    storage.wait_ready(Instant::now(), Duration::from_secs(60))?;
    let credentials: Value = serde_json::from_slice(&std::fs::read(storage_dir.path().join("s3/credentials.json"))?)?;
    let env = [
        ("AGORA_S3_ENDPOINT", format!("http://{}", storage.s3_addr)),
        ("AGORA_S3_ACCESS_KEY_ID", credentials["access_key_id"].as_str().unwrap_or_default().to_owned()),
        ("AGORA_S3_SECRET_ACCESS_KEY", credentials["secret_access_key"].as_str().unwrap_or_default().to_owned()),
    ];
    let mut agora = AgoraChild::spawn_with(agora_dir.path(), &env)?;
    agora.wait_ready(Instant::now(), Duration::from_secs(60))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let client = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
        let base = format!("http://{}", agora.addr);
        let token = login(&client, &base).await?;
        let api = Api { client, base, token };
        let dataset = api.post("/api/v1/datasets", json!({"name": "bench"})).await?;
        let id = dataset["id"].as_str().context("no dataset id")?.to_owned();
        small_files(&api, &id, &args.uploads, &agora, &storage).await?;
        large_file(&api, &id, &args.uploads, &agora, &storage).await?;
        listing_over_http(&api, &id, args.runs).await?;
        anyhow::Ok(())
    })?;
    runtime.block_on(listing_in_process(&args))
}

/// The path of the `n`-th small file.
pub(super) fn small_path(n: usize) -> String {
    format!("small/{:02}/file{n:05}.bin", n % 50)
}

/// The large file's path.
const LARGE_PATH: &str = "large/model.bin";

/// Uploads the small files through presign → PUT → complete, `concurrency`
/// at a time; returns the seconds it took.
pub(super) async fn upload_small(api: &Api, id: &str, args: &UploadArgs) -> anyhow::Result<f64> {
    let started = Instant::now();
    let bytes = args.small_bytes;
    futures::stream::iter(0..args.small)
        .map(|n| async move {
            let body = vec![(n % 251) as u8; bytes];
            let request = json!({"path": small_path(n), "size": bytes, "md5": md5_b64(&body)});
            let ticket = api.post(&format!("/api/v1/datasets/{id}/uploads"), request).await?;
            put(&api.client, &ticket["put"], body).await?;
            let upload = ticket["upload_id"].as_str().unwrap_or_default();
            api.post(&format!("/api/v1/datasets/{id}/uploads/{upload}/complete"), json!({})).await?;
            anyhow::Ok(())
        })
        .buffer_unordered(args.concurrency)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(started.elapsed().as_secs_f64())
}

/// Uploads the large file in parts, 4 in flight; returns the seconds it
/// took and the number of parts.
pub(super) async fn upload_large(api: &Api, id: &str, args: &UploadArgs) -> anyhow::Result<(f64, u32)> {
    let size = args.large_mib * 1024 * 1024;
    let started = Instant::now();
    let ticket = api.post(&format!("/api/v1/datasets/{id}/uploads"), json!({"path": LARGE_PATH, "size": size})).await?;
    let upload = ticket["upload_id"].as_str().context("no upload id")?.to_owned();
    let part_size = ticket["multipart"]["part_size"].as_u64().context("not a multipart upload")?;
    let parts = ticket["multipart"]["part_count"].as_u64().context("no part count")? as u32;
    let body: Vec<u8> = (0..part_size).map(|i| (i % 253) as u8).collect();
    futures::stream::iter(1..=parts)
        .map(|n| {
            let (upload, body) = (&upload, &body);
            async move {
                let len = if n == parts { (size - part_size * u64::from(parts - 1)) as usize } else { body.len() };
                let part = json!({"parts": [{"part_number": n, "md5": md5_b64(&body[..len])}]});
                let urls = api.post(&format!("/api/v1/datasets/{id}/uploads/{upload}/parts"), part).await?;
                put(&api.client, &urls[0], body[..len].to_vec()).await.with_context(|| format!("part {n}"))?;
                anyhow::Ok(())
            }
        })
        .buffer_unordered(4)
        .try_collect::<Vec<()>>()
        .await?;
    api.post(&format!("/api/v1/datasets/{id}/uploads/{upload}/complete"), json!({})).await?;
    Ok((started.elapsed().as_secs_f64(), parts))
}

async fn small_files(api: &Api, id: &str, args: &UploadArgs, agora: &AgoraChild, storage: &AgoraChild) -> anyhow::Result<()> {
    let (agora_cpu, storage_cpu) = (cpu(agora), cpu(storage));
    let took = upload_small(api, id, args).await?;
    println!(
        "{} small files of {} B, {} in flight: {:.0} files/s ({:.1} s); CPU: Agora {:.2} s, storage {:.2} s",
        args.small,
        args.small_bytes,
        args.concurrency,
        args.small as f64 / took,
        took,
        cpu(agora) - agora_cpu,
        cpu(storage) - storage_cpu
    );
    Ok(())
}

async fn large_file(api: &Api, id: &str, args: &UploadArgs, agora: &AgoraChild, storage: &AgoraChild) -> anyhow::Result<()> {
    let (agora_cpu, storage_cpu) = (cpu(agora), cpu(storage));
    let (took, parts) = upload_large(api, id, args).await?;
    let gib = args.large_mib as f64 / 1024.0;
    let (agora_spent, storage_spent) = (cpu(agora) - agora_cpu, cpu(storage) - storage_cpu);
    println!(
        "one {} MiB file in {parts} parts, 4 in flight: {:.0} MiB/s ({took:.1} s); CPU per GiB: Agora {:.3} s, storage endpoint {:.2} s",
        args.large_mib,
        args.large_mib as f64 / took,
        agora_spent / gib,
        storage_spent / gib
    );
    Ok(())
}

async fn listing_over_http(api: &Api, id: &str, runs: usize) -> anyhow::Result<()> {
    let timed = |path: String| {
        let api = &api;
        async move {
            let mut samples = Vec::with_capacity(runs);
            for _ in 0..runs {
                let started = Instant::now();
                let response = api.client.get(format!("{}{path}", api.base)).bearer_auth(&api.token).send().await?;
                if !response.status().is_success() {
                    bail!("GET {path} answered {}", response.status());
                }
                response.bytes().await?;
                samples.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            anyhow::Ok(percentiles(&mut samples).0)
        }
    };
    let me = timed("/api/v1/me".into()).await?;
    let folder = timed(format!("/api/v1/datasets/{id}/files?folder=small/07/")).await?;
    let sorted = timed(format!("/api/v1/datasets/{id}/files?folder=small/&name=file00&sort=size&descending=true")).await?;
    println!("listing over HTTP (1,001 files): one folder p50 {folder:.2} ms, name filter + size sort p50 {sorted:.2} ms; GET /me p50 {me:.2} ms");
    Ok(())
}

/// One page of a 100,000-file dataset, from the index as Agora queries it.
async fn listing_in_process(args: &DatasetsArgs) -> anyhow::Result<()> {
    let index = SearchIndex::in_memory();
    let dataset = DatasetDoc {
        id: "00000000000000aa".into(),
        name: "listing".into(),
        description: String::new(),
        owner: "owner".into(),
        readers: vec!["owner".into()],
        updated_at: 0,
    };
    index.apply(vec![Op::Dataset(dataset.clone())]).await?;
    for start in (0..args.listed).step_by(20_000) {
        let ops = (start..(start + 20_000).min(args.listed))
            .map(|n| {
                let split = ["train", "val", "test"][n % 3];
                Op::File(FileDoc {
                    dataset: dataset.id.clone(),
                    path: format!("{split}/class{:03}/img{n:07}.jpg", n % 100),
                    size: 1000 + (n as u64 * 7919) % 1_000_000,
                    modified: 1_700_000_000 + n as i64,
                    content_type: None,
                    labels: vec![Tag::new("split", split), Tag::new("class", format!("c{}", n % 100))],
                })
            })
            .collect();
        index.apply(ops).await?;
    }
    let cases = [
        ("one folder (~333 files), by name", FileQuery { folder: "train/class001/".into(), ..Default::default() }),
        ("the top folder (3 sub-folders)", FileQuery::default()),
        ("label filter, whole dataset", FileQuery { labels: vec!["split=train".into()], ..Default::default() }),
        (
            "two labels, sorted by size",
            FileQuery { labels: vec!["split=val".into(), "class=c7".into()], sort: FileSort::Size, descending: true, ..Default::default() },
        ),
        ("name filter, whole dataset", FileQuery { name: Some("img00042".into()), ..Default::default() }),
        ("label filter, page 50", FileQuery { labels: vec!["split".into()], offset: 5000, ..Default::default() }),
    ];
    println!("listing one page (100 files + counts) of a {}-file dataset, in-process:", args.listed);
    for (name, query) in cases {
        let mut samples = Vec::with_capacity(args.runs);
        let mut total = 0;
        for _ in 0..args.runs {
            let (query, id) = (query.clone(), dataset.id.clone());
            let started = Instant::now();
            total = index.read(move |s, f| list_files(s, f, &id, &query)).await?.total;
            samples.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        let (p50, p99) = percentiles(&mut samples);
        println!("  {name:<36} p50 {p50:>6.2} ms  p99 {p99:>6.2} ms  ({total} match; goal p50 < 20 ms)");
    }
    Ok(())
}
