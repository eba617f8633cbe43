//! `agora bench index`: indexing throughput, size and memory for synthetic
//! file documents, and search latency with access filtering — in-process
//! and through `GET /api/v1/search` of a running Agora on the same index.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;

use agora_core::accounts::{Role, UserRecord};
use agora_core::auth::caller::Caller;
use agora_core::index::{DatasetDoc, FileDoc, Op, SearchIndex};
use agora_model::search::SearchRequest;
use agora_model::tags::Tag;

use super::accounts::{create_user, login, USER};
use super::child::AgoraChild;
use super::{machine_line, own_rss_kib, percentiles};

#[derive(Debug, Args)]
pub struct IndexArgs {
    /// File documents to index.
    #[arg(long, default_value_t = 1_000_000)]
    pub files: usize,
    /// Datasets they are spread over.
    #[arg(long, default_value_t = 50)]
    pub datasets: usize,
    /// Users owning and sharing the datasets.
    #[arg(long, default_value_t = 20)]
    pub users: usize,
    /// Timed runs of each query.
    #[arg(long, default_value_t = 200)]
    pub runs: usize,
}

const CLASSES: [&str; 20] = [
    "tabby", "siamese", "beagle", "poodle", "sparrow", "robin", "salmon", "trout", "oak", "maple", "tulip", "rose", "truck", "sedan",
    "bicycle", "tractor", "granite", "marble", "cumulus", "nimbus",
];
const SPLITS: [&str; 3] = ["train", "val", "test"];

/// A small deterministic generator (xorshift64*), so runs are comparable.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn file_doc(rng: &mut Rng, dataset: &str, n: usize) -> FileDoc {
    let class = CLASSES[rng.below(CLASSES.len())];
    let split = SPLITS[rng.below(SPLITS.len())];
    let ext = ["jpg", "png", "csv", "json", "txt"][rng.below(5)];
    let path = format!("{split}/{class}/batch{:03}/{class}_{n:07}.{ext}", rng.below(200));
    let mut labels = Vec::new();
    let candidates = [
        ("split", split.to_string()),
        ("class", class.to_string()),
        ("source", format!("cam{}", rng.below(10))),
        ("reviewed", if rng.below(2) == 0 { "yes" } else { "no" }.to_string()),
        ("quality", ["good", "blurry", "dark"][rng.below(3)].to_string()),
        ("annotator", format!("user{}", rng.below(20))),
        ("round", rng.below(5).to_string()),
        ("license", ["cc-by", "internal"][rng.below(2)].to_string()),
        ("device", ["phone", "dslr", "drone"][rng.below(3)].to_string()),
        ("site", format!("site{}", rng.below(8))),
    ];
    for (key, value) in candidates.into_iter().take(rng.below(11)) {
        labels.push(Tag::new(key, value));
    }
    FileDoc {
        dataset: dataset.to_owned(),
        path,
        size: 1024 + rng.below(5_000_000) as u64,
        modified: 1_700_000_000 + rng.below(30_000_000) as i64,
        content_type: None,
        labels,
    }
}

/// Datasets owned round-robin by the users; each shared with the next user;
/// every fifth one public. `reader` owns or shares some of them.
fn dataset_docs(datasets: usize, users: &[String]) -> Vec<DatasetDoc> {
    (0..datasets)
        .map(|i| {
            let owner = users[i % users.len()].clone();
            let mut readers = vec![owner.clone(), users[(i + 1) % users.len()].clone()];
            if i % 5 == 0 {
                readers.push("public".into());
            }
            DatasetDoc {
                id: format!("{i:016x}"),
                name: format!("{} collection {i}", CLASSES[i % CLASSES.len()]),
                description: "synthetic benchmark dataset".into(),
                owner,
                readers,
                updated_at: 1_700_000_000,
            }
        })
        .collect()
}

fn session(id: &str) -> Caller {
    let user = UserRecord {
        id: id.into(),
        username: USER.into(),
        email: "bench@example.com".into(),
        email_verified: true,
        password_hash: String::new(),
        role: Role::User,
        token_version: 0,
        disabled: false,
        created_at: 0,
        preferences: Default::default(),
        pending_email: None,
        deletion_job: None,
    };
    Caller::in_process_session(user)
}

fn queries() -> [(&'static str, &'static str); 3] {
    [("(a) two words", "tabby train"), ("(b) label filter", "label:class=tabby"), ("(c) words + label + facets", "tabby label:split=train")]
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path).map_or(0, |entries| {
        entries.flatten().map(|e| if e.path().is_dir() { dir_size(&e.path()) } else { e.metadata().map_or(0, |m| m.len()) }).sum()
    })
}

pub fn run(args: IndexArgs) -> anyhow::Result<()> {
    println!("{}", machine_line());
    let data = tempfile::tempdir().context("no temp dir")?;
    // The first account is an administrator, who reads everything: the
    // measured user is the second.
    create_user(data.path(), "root", &[])?;
    create_user(data.path(), USER, &[])?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        // The bench user's id, from a running Agora on this data directory.
        let user_id = {
            let mut child = AgoraChild::spawn(data.path())?;
            child.wait_ready(Instant::now(), Duration::from_secs(60))?;
            let client = reqwest::Client::new();
            let token = login(&client, &format!("http://{}", child.addr)).await?;
            let me: serde_json::Value =
                client.get(format!("http://{}/api/v1/me", child.addr)).bearer_auth(&token).send().await?.json().await?;
            me["id"].as_str().context("no user id")?.to_owned()
        };
        let mut users: Vec<String> = (1..args.users).map(|i| format!("{i:032x}")).collect();
        users.insert(0, user_id.clone());

        // Indexing, into the index folder that Agora opens at start.
        let rss_before = own_rss_kib();
        let (index, _) = SearchIndex::open(data.path()).context("cannot open the index")?;
        let started = Instant::now();
        let datasets = dataset_docs(args.datasets, &users);
        index.apply(datasets.iter().cloned().map(Op::Dataset).collect()).await?;
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut done = 0;
        while done < args.files {
            let batch = (args.files - done).min(50_000);
            let ops = (done..done + batch).map(|n| Op::File(file_doc(&mut rng, &datasets[n % datasets.len()].id, n))).collect();
            index.apply(ops).await?;
            done += batch;
            eprint!("\rindexed {done}/{}", args.files);
        }
        eprintln!();
        let took = started.elapsed().as_secs_f64();
        let rss_after = own_rss_kib();
        let size = dir_size(&data.path().join("index"));
        println!(
            "indexing: {} file docs in {took:.1} s = {:.0} docs/s (goal ≥ 20000); index on disk {:.0} MiB ({:.0} bytes/doc); RSS {:.0} → {:.0} MiB",
            args.files,
            args.files as f64 / took,
            size as f64 / 1048576.0,
            size as f64 / args.files as f64,
            rss_before as f64 / 1024.0,
            rss_after as f64 / 1024.0,
        );

        // Read-your-writes: a label change until a search finds it.
        let probe = FileDoc { labels: vec![Tag::new("probe", "visible")], ..file_doc(&mut rng, &datasets[0].id, 0) };
        let caller = session(&user_id);
        let changed = Instant::now();
        index.apply(vec![Op::File(probe)]).await?;
        let visible = {
            let caller = caller.clone();
            let request = SearchRequest { q: "label:probe=visible".into(), ..Default::default() };
            index.search(&caller, request).await?.total
        };
        println!("a change to visible in search on the same node: {:.0} ms (found {visible}; goal ≤ 1000 ms)", changed.elapsed().as_secs_f64() * 1000.0);

        // In-process latency, access filtering included.
        let readable = datasets.iter().filter(|d| d.readers.contains(&user_id) || d.readers.iter().any(|r| r == "public")).count();
        println!("searching as a user who may read {readable} of {} datasets:", datasets.len());
        let mut in_process = Vec::new();
        for (name, q) in queries() {
            let mut samples = Vec::with_capacity(args.runs);
            let mut total = 0;
            for _ in 0..args.runs {
                let (caller, request) = (caller.clone(), SearchRequest { q: q.into(), ..Default::default() });
                let started = Instant::now();
                total = index.search(&caller, request).await?.total;
                samples.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            let (p50, p99) = percentiles(&mut samples);
            in_process.push((p50, p99));
            println!("  in-process {name:<28} {q:<26} p50 {p50:>6.2} ms  p99 {p99:>6.2} ms  ({total} hits; goal p50 ≤ 2, p99 ≤ 15)");
        }
        index.save_cursor(u64::MAX / 2);
        std::fs::write(data.path().join("index/v2/complete"), b"")?;
        tokio::task::spawn_blocking(move || index.shutdown()).await?;

        // The same queries through the HTTP route of an Agora on this index.
        let mut child = AgoraChild::spawn(data.path())?;
        child.wait_ready(Instant::now(), Duration::from_secs(120))?;
        let base = format!("http://{}", child.addr);
        let client = reqwest::Client::new();
        let token = login(&client, &base).await?;
        let mut me_ms = Vec::new();
        for _ in 0..args.runs {
            let started = Instant::now();
            client.get(format!("{base}/api/v1/me")).bearer_auth(&token).send().await?.bytes().await?;
            me_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        let (me_p50, _) = percentiles(&mut me_ms);
        for ((name, q), (p50_in, _)) in queries().into_iter().zip(in_process) {
            let mut samples = Vec::with_capacity(args.runs);
            for _ in 0..args.runs {
                let started = Instant::now();
                let response = client.get(format!("{base}/api/v1/search")).query(&[("q", q)]).bearer_auth(&token).send().await?;
                if !response.status().is_success() {
                    bail!("search answered {}", response.status());
                }
                response.bytes().await?;
                samples.push(started.elapsed().as_secs_f64() * 1000.0);
            }
            let (p50, p99) = percentiles(&mut samples);
            println!("  over HTTP  {name:<28} {q:<26} p50 {p50:>6.2} ms  p99 {p99:>6.2} ms  (in-process p50 {p50_in:.2} ms; GET /me p50 {me_p50:.2} ms)");
        }
        Ok(())
    })
}
