//! Storage data plane: (a) a presigned multipart upload into the embedded
//! endpoint, the way a browser does it, against a plain file copy of the same
//! bytes on the same disk; (b) presigned URLs generated per second on one
//! core; (c) the endpoint's resident memory during (a); (d) small objects:
//! 4 KiB PUTs and GETs with 1 and 32 clients and a 1,000-key DeleteObjects,
//! each against plain file writes (with fsync), reads and unlinks of the
//! same sizes on the same disk; (e) a CompleteMultipartUpload of 10,000
//! parts in the endpoint's store, against the same file work done plainly.

use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use futures::StreamExt;

use agora_core::storage::{BodyDigest, PresignExpiry, PutOptions, Storage};

use super::child::{AgoraChild, PeakRss};
use super::machine_line;

const MIB: u64 = 1024 * 1024;

#[derive(Debug, Args)]
pub struct StorageArgs {
    /// Size of the uploaded file in MiB.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(8..=65536))]
    pub size_mib: u64,
    /// Part size in MiB (S3's minimum is 5).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(5..=512))]
    pub part_mib: u64,
    /// Parts in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub parallel: u64,
    /// 4 KiB objects written (and read) per client count in (d).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(100..=1_000_000))]
    pub small_count: u64,
    /// Presigned URLs to generate for the rate measurement.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(100..=10_000_000))]
    pub presign_count: u64,
    /// Directory for the benchmark's files (same disk as your data dir) [default: ./.agora-bench].
    #[arg(long)]
    pub dir: Option<PathBuf>,
}

pub fn run(args: StorageArgs) -> anyhow::Result<()> {
    let base = args.dir.clone().unwrap_or_else(|| PathBuf::from(".agora-bench"));
    std::fs::create_dir_all(&base).with_context(|| format!("cannot create {}", base.display()))?;
    let work = tempfile::tempdir_in(&base).context("cannot create a work directory")?;
    let size = args.size_mib * MIB;

    println!("{}", machine_line());
    println!("writing a {} MiB source file …", args.size_mib);
    let source = work.path().join("source.bin");
    write_source(&source, size)?;

    // Baseline: the same bytes copied on the same disk, made durable.
    let copy = work.path().join("copy.bin");
    let started = Instant::now();
    std::fs::copy(&source, &copy)?;
    std::fs::File::open(&copy)?.sync_all()?;
    let copy_secs = started.elapsed().as_secs_f64();
    std::fs::remove_file(&copy)?;

    let mut child = AgoraChild::spawn(&work.path().join("agora"))?;
    child.wait_ready(Instant::now(), Duration::from_secs(60))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let storage = runtime.block_on(child.storage(&work.path().join("agora")))?;

    let rss_before = child.rss_kib().unwrap_or(0);
    let cpu_before = child.cpu_seconds().unwrap_or(0.0);
    let peak = PeakRss::start(child.pid(), rss_before, Duration::from_millis(20));
    println!("uploading through presigned multipart ({} MiB parts, {} in flight) …", args.part_mib, args.parallel);
    let upload_secs = runtime.block_on(upload(&storage, &source, size, args.part_mib * MIB, args.parallel as usize))?;
    let rss_peak = peak.stop();
    let server_cpu = child.cpu_seconds().unwrap_or(0.0) - cpu_before;

    let stored = runtime.block_on(storage.head("bench/upload.bin"))?;
    if stored.size != size {
        bail!("the stored object has {} bytes, not {size}", stored.size);
    }

    // What the endpoint must spend per byte regardless: S3 ETags are MD5.
    let md5_rate = md5_throughput();

    // Presigning is pure computation: measure it on one thread.
    let single = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let (puts_per_sec, parts_per_sec, sdk_per_sec) = single.block_on(presign_rate(&storage, args.presign_count))?;

    println!("small objects: {} PUTs and GETs of 4 KiB with 1 and 32 clients, DeleteObjects of 1,000 keys …", args.small_count);
    let small = runtime.block_on(small_objects(&storage, args.small_count as usize))?;
    let files = plain_files(&work.path().join("plain"), args.small_count as usize)?;
    println!("a CompleteMultipartUpload of {PARTS} parts …");
    let complete = runtime.block_on(many_parts(&work.path().join("store")))?;
    let plain_complete = plain_parts(&work.path().join("plain-parts"))?;

    let mib = size as f64 / MIB as f64;
    let (copy_rate, upload_rate) = (mib / copy_secs, mib / upload_secs);
    println!();
    println!("(a) {mib:.0} MiB, same disk:");
    println!("    plain file copy + fsync          {copy_rate:9.1} MiB/s  ({copy_secs:.2} s)");
    println!("    presigned multipart upload       {upload_rate:9.1} MiB/s  ({upload_secs:.2} s)");
    println!("    upload / copy                    {:9.1} %      (goal ≥ 60 %)", 100.0 * upload_rate / copy_rate);
    println!("    endpoint CPU during the upload   {server_cpu:9.2} s      ({:.2} CPU-s per GiB)", server_cpu / (mib / 1024.0));
    println!("    MD5 (S3 ETag) on one core        {md5_rate:9.1} MiB/s  ({:.2} CPU-s per GiB of that)", 1024.0 / md5_rate);
    println!("(b) presigned URLs on one core:");
    println!("    PUT object                       {puts_per_sec:9.0} /s     (goal ≥ 20,000 /s/core)");
    println!("    UploadPart                       {parts_per_sec:9.0} /s");
    println!("    PUT object, aws-sdk-s3 presigner {sdk_per_sec:9.0} /s     (comparison)");
    println!("(c) embedded endpoint resident memory (the child agora process):");
    println!("    before the upload                {:9.1} MiB", rss_before as f64 / 1024.0);
    println!("    peak during the upload           {:9.1} MiB", rss_peak as f64 / 1024.0);
    println!("    growth                           {:9.1} MiB   (goal ≤ 64 MiB)", rss_peak.saturating_sub(rss_before) as f64 / 1024.0);
    println!("(d) 4 KiB objects (S3 requests over HTTP vs. plain files on the same disk):");
    for (label, endpoint, plain) in [
        ("PUT, 1 client", small.put_1, files.write_1),
        ("PUT, 32 clients", small.put_32, files.write_32),
        ("GET, 1 client", small.get_1, files.read_1),
        ("GET, 32 clients", small.get_32, files.read_32),
    ] {
        println!("    {label:<15}  endpoint {endpoint:9.0} /s   plain files {plain:9.0} /s   ({:.1} %)", 100.0 * endpoint / plain);
    }
    println!(
        "    DeleteObjects of 1,000 keys  endpoint {:7.1} ms   plain unlink + one dir fsync {:7.1} ms",
        small.delete_1000 * 1e3,
        files.unlink_1000 * 1e3
    );
    println!("(e) CompleteMultipartUpload of {PARTS} parts (1 KiB each, the store in-process, S3's 5 MiB minimum lowered):");
    println!(
        "    endpoint store {:7.1} ms   plain: link and rename each part file, one dir fsync, write the record {:7.1} ms",
        complete * 1e3,
        plain_complete * 1e3
    );
    Ok(())
}

/// Parts of the many-part Complete.
const PARTS: usize = 10_000;

/// Seconds the embedded endpoint's store takes to complete an upload of
/// [`PARTS`] small parts (uploaded beforehand, not timed).
async fn many_parts(dir: &Path) -> anyhow::Result<f64> {
    use agora_s3d::store::{CompletedPartRef, ObjectHeaders, Store};
    let root = dir.to_path_buf();
    let store = tokio::task::spawn_blocking(move || Store::open(root)).await??.with_min_part_size(1);
    store.create_bucket("bench").await?;
    let upload = store.create_upload("bench", "many".into(), ObjectHeaders::default(), Vec::new(), None).await?;
    let store = &store;
    let id = upload.upload_id.as_str();
    let mut parts: Vec<CompletedPartRef> = futures::stream::iter(1..=PARTS as i32)
        .map(|n| async move {
            let body = futures::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(vec![n as u8; 1024]))]);
            let part = store.upload_part("bench", "many", id, n, Some(1024), None, None, body).await?;
            anyhow::Ok(CompletedPartRef { part_number: n, etag: part.etag, checksum: None })
        })
        .buffer_unordered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    parts.sort_by_key(|p| p.part_number);
    let started = Instant::now();
    let meta = store.complete_upload("bench", "many", id, &parts, &[], None).await?;
    let took = started.elapsed().as_secs_f64();
    if meta.blobs.len() != PARTS {
        bail!("the completed object has {} parts, not {PARTS}", meta.blobs.len());
    }
    Ok(took)
}

/// The same file work as a Complete, done plainly: each part file linked
/// into a staging directory and renamed into place, one directory fsync,
/// and a record of every part written and fsynced.
fn plain_parts(dir: &Path) -> anyhow::Result<f64> {
    let (parts, staging, blobs) = (dir.join("parts"), dir.join("staging"), dir.join("blobs"));
    for d in [&parts, &staging, &blobs] {
        std::fs::create_dir_all(d)?;
    }
    for n in 0..PARTS {
        std::fs::write(parts.join(n.to_string()), [n as u8; 1024])?;
    }
    let started = Instant::now();
    let mut record = Vec::with_capacity(PARTS * 48);
    for n in 0..PARTS {
        let name = n.to_string();
        std::fs::hard_link(parts.join(&name), staging.join(&name))?;
        std::fs::rename(staging.join(&name), blobs.join(&name))?;
        writeln!(record, "{{\"id\":\"{name}\",\"size\":1024}}")?;
    }
    std::fs::File::open(&blobs)?.sync_all()?;
    let mut file = std::fs::File::create(dir.join("record.json"))?;
    file.write_all(&record)?;
    file.sync_all()?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(started.elapsed().as_secs_f64())
}

/// Requests per second of 4 KiB PUTs and GETs, and one DeleteObjects of 1,000 keys.
struct SmallObjects {
    put_1: f64,
    put_32: f64,
    get_1: f64,
    get_32: f64,
    delete_1000: f64,
}

const SMALL: usize = 4096;

async fn small_objects(storage: &Storage, count: usize) -> anyhow::Result<SmallObjects> {
    let body = bytes::Bytes::from(vec![0x42u8; SMALL]);
    let rate = |clients: usize, prefix: &'static str, get: bool| {
        let (storage, body) = (storage.clone(), body.clone());
        async move {
            let started = Instant::now();
            let results: Vec<anyhow::Result<()>> = futures::stream::iter(0..count)
                .map(|i| {
                    let (storage, body) = (storage.clone(), body.clone());
                    async move {
                        let key = format!("bench/small/{prefix}/{i}");
                        if get {
                            let object = storage.get(&key, None).await?;
                            if object.body.len() != SMALL {
                                bail!("{key} has {} bytes", object.body.len());
                            }
                        } else {
                            storage.put(&key, body, PutOptions::default()).await?;
                        }
                        Ok(())
                    }
                })
                .buffer_unordered(clients)
                .collect()
                .await;
            results.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
            Ok::<_, anyhow::Error>(count as f64 / started.elapsed().as_secs_f64())
        }
    };
    let put_1 = rate(1, "one", false).await?;
    let put_32 = rate(32, "many", false).await?;
    let get_1 = rate(1, "one", true).await?;
    let get_32 = rate(32, "many", true).await?;
    let keys: Vec<String> = (0..1000).map(|i| format!("bench/small/many/{i}")).collect();
    let started = Instant::now();
    let failed = storage.delete_many(&keys).await?;
    let delete_1000 = started.elapsed().as_secs_f64();
    if !failed.is_empty() {
        bail!("{} keys were not deleted", failed.len());
    }
    Ok(SmallObjects { put_1, put_32, get_1, get_32, delete_1000 })
}

/// The same work as plain files: write + fsync, read, unlink.
struct PlainFiles {
    write_1: f64,
    write_32: f64,
    read_1: f64,
    read_32: f64,
    unlink_1000: f64,
}

fn plain_files(dir: &Path, count: usize) -> anyhow::Result<PlainFiles> {
    std::fs::create_dir_all(dir)?;
    let body = vec![0x42u8; SMALL];
    let write = |name: String| -> std::io::Result<()> {
        let mut file = std::fs::File::create(dir.join(name))?;
        file.write_all(&body)?;
        file.sync_all()
    };
    let read = |name: String| -> std::io::Result<()> {
        let bytes = std::fs::read(dir.join(name))?;
        std::hint::black_box(bytes);
        Ok(())
    };
    let timed = |threads: usize, prefix: &str, work: &(dyn Fn(String) -> std::io::Result<()> + Sync)| -> anyhow::Result<f64> {
        let next = std::sync::atomic::AtomicUsize::new(0);
        let started = Instant::now();
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..threads)
                .map(|_| {
                    scope.spawn(|| -> std::io::Result<()> {
                        loop {
                            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            if i >= count {
                                return Ok(());
                            }
                            work(format!("{prefix}-{i}"))?;
                        }
                    })
                })
                .collect();
            handles.into_iter().try_for_each(|h| h.join().expect("a bench thread panicked"))
        })?;
        Ok(count as f64 / started.elapsed().as_secs_f64())
    };
    let write_1 = timed(1, "one", &write)?;
    let write_32 = timed(32, "many", &write)?;
    let read_1 = timed(1, "one", &read)?;
    let read_32 = timed(32, "many", &read)?;
    let started = Instant::now();
    for i in 0..1000.min(count) {
        std::fs::remove_file(dir.join(format!("many-{i}")))?;
    }
    std::fs::File::open(dir)?.sync_all()?;
    let unlink_1000 = started.elapsed().as_secs_f64();
    Ok(PlainFiles { write_1, write_32, read_1, read_32, unlink_1000 })
}

/// MiB/s of MD5 over a 256 MiB buffer on this thread.
fn md5_throughput() -> f64 {
    use md5::{Digest, Md5};
    let buffer = vec![0x5au8; 256 * MIB as usize];
    let started = Instant::now();
    let digest = Md5::digest(&buffer);
    std::hint::black_box(digest);
    256.0 / started.elapsed().as_secs_f64()
}

fn write_source(path: &Path, size: u64) -> anyhow::Result<()> {
    let mut file = std::io::BufWriter::with_capacity(4 * MIB as usize, std::fs::File::create(path)?);
    let mut block = vec![0u8; MIB as usize];
    for (i, b) in block.iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(31).wrapping_add(7);
    }
    for n in 0..size / MIB {
        block[0] = n as u8; // no two MiB alike
        file.write_all(&block)?;
    }
    file.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(())
}

async fn upload(storage: &Storage, source: &Path, size: u64, part_size: u64, parallel: usize) -> anyhow::Result<f64> {
    let key = "bench/upload.bin";
    let http = reqwest::Client::new();
    let started = Instant::now();
    let upload_id = storage.create_upload(key, PutOptions::default()).await?;
    let parts = size.div_ceil(part_size);
    let results: Vec<anyhow::Result<(i32, String)>> = futures::stream::iter(1..=parts)
        .map(|n| {
            let (http, upload_id) = (http.clone(), upload_id.clone());
            async move {
                let offset = (n - 1) * part_size;
                let len = part_size.min(size - offset);
                let path = source.to_path_buf();
                // The client reads and hashes each part, as a browser does:
                // its MD5 is signed into the URL and checked by the endpoint.
                let (body, digest) = tokio::task::spawn_blocking(move || -> std::io::Result<(Vec<u8>, BodyDigest)> {
                    use md5::{Digest, Md5};
                    let mut file = std::fs::File::open(path)?;
                    file.seek(SeekFrom::Start(offset))?;
                    let mut buf = vec![0u8; len as usize];
                    file.read_exact(&mut buf)?;
                    let digest = BodyDigest { size: len, md5: Md5::digest(&buf).into() };
                    Ok((buf, digest))
                })
                .await??;
                let url = storage.presign_upload_part(key, &upload_id, n as i32, digest, PresignExpiry::default()).await?;
                let mut request = http.put(&url.url).body(body);
                for (name, value) in &url.headers {
                    request = request.header(name, value);
                }
                let response = request.send().await?;
                if !response.status().is_success() {
                    bail!("part {n}: HTTP {}", response.status());
                }
                let etag = response.headers().get("etag").and_then(|v| v.to_str().ok()).unwrap_or_default().trim_matches('"').to_owned();
                Ok((n as i32, etag))
            }
        })
        .buffer_unordered(parallel)
        .collect()
        .await;
    let mut done = results.into_iter().collect::<anyhow::Result<Vec<_>>>()?;
    done.sort_by_key(|(n, _)| *n);
    storage.complete_upload(key, &upload_id, &done, None, &[]).await?;
    Ok(started.elapsed().as_secs_f64())
}

/// What the presigned requests of the rate bench are for (any bytes do).
const SAMPLE: BodyDigest = BodyDigest { size: 8 * MIB, md5: [7; 16] };

async fn presign_rate(storage: &Storage, count: u64) -> anyhow::Result<(f64, f64, f64)> {
    let started = Instant::now();
    for i in 0..count {
        storage.presign_put(&format!("ds/bench/files/{i}.jpg"), SAMPLE, None, &[], PresignExpiry::default()).await?;
    }
    let puts = count as f64 / started.elapsed().as_secs_f64();
    let started = Instant::now();
    for i in 0..count {
        storage
            .presign_upload_part("ds/bench/files/big.bin", "upload-id", (i % 10_000) as i32 + 1, SAMPLE, PresignExpiry::default())
            .await?;
    }
    let parts = count as f64 / started.elapsed().as_secs_f64();

    // The SDK's own presigner, for comparison (fewer rounds: it is slower).
    let sdk_count = (count / 10).max(100);
    let config = aws_sdk_s3::presigning::PresigningConfig::expires_in(Duration::from_secs(900))?;
    let started = Instant::now();
    for i in 0..sdk_count {
        storage.sdk_client().put_object().bucket(storage.bucket()).key(format!("ds/bench/files/{i}.jpg")).presigned(config.clone()).await?;
    }
    let sdk = sdk_count as f64 / started.elapsed().as_secs_f64();
    Ok((puts, parts, sdk))
}
