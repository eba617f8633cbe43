//! The crash loop: a real `agora serve` is killed with SIGKILL at random
//! moments while clients PUT (with tags), retag, delete and complete
//! multipart uploads on its embedded endpoint. After each restart every
//! acknowledged write is there with its bytes and tags, and a write that was
//! in flight at the kill is either wholly there or wholly absent.
//!
//! `AGORA_CRASH_KILLS` sets the number of kills (20 by default, as in CI);
//! `AGORA_CRASH_SEED` replays one run (each run prints its seed).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agora_core::secret::Secret;
use agora_core::storage::{PutOptions, Storage, StorageConfig, StorageError};
use agora_model::tags::Tag;
use bytes::Bytes;
use common::node::{free_addr, ready, Node};

const WORKERS: usize = 4;
const KEYS_PER_WORKER: usize = 6;
const PART: usize = 5 * 1024 * 1024;

/// What a key holds: nothing, or bytes (by MD5) with tags.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    md5: String,
    size: u64,
    tags: Vec<(String, String)>,
}

/// What a client knows about one key: the last acknowledged state, and the
/// state its unanswered request would leave.
#[derive(Debug, Clone, Default)]
struct Known {
    acked: Option<Held>,
    in_flight: Option<Option<Held>>,
}

type Model = Arc<Mutex<BTreeMap<String, Known>>>;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn bytes_for(seed: u64, size: usize) -> Vec<u8> {
    let mut rng = Rng(seed | 1);
    (0..size).map(|_| rng.next() as u8).collect()
}

fn held(body: &[u8], tags: &[Tag]) -> Held {
    Held {
        md5: agora_testkit::md5_b64(body),
        size: body.len() as u64,
        tags: tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect(),
    }
}

async fn client(data: &Path, s3_addr: &str) -> Storage {
    let credentials: serde_json::Value = serde_json::from_slice(&std::fs::read(data.join("s3/credentials.json")).unwrap()).unwrap();
    let key = credentials["access_key_id"].as_str().unwrap().to_owned();
    let secret = credentials["secret_access_key"].as_str().unwrap().to_owned();
    Storage::connect(&StorageConfig {
        endpoint: Some(format!("http://{s3_addr}")),
        public_endpoint: None,
        region: "us-east-1".into(),
        bucket: "crash-loop".into(),
        credentials: Some((key, Secret::new(secret))),
        path_style: true,
    })
    .await
}

/// One client: operations on its own keys until one fails. A failure before
/// the kill is a bug; after it, the operation stays "in flight".
async fn work(storage: Storage, worker: usize, model: Model, killed: Arc<AtomicBool>, acked: Arc<AtomicUsize>, seed: u64) {
    let mut rng = Rng(seed);
    loop {
        let key = format!("w{worker}/k{}", rng.below(KEYS_PER_WORKER as u64));
        let current = model.lock().unwrap().entry(key.clone()).or_default().acked.clone();
        let tags = vec![Tag::new("round", rng.next().to_string()), Tag::new("worker", worker.to_string())];
        let choice = rng.below(100);
        let set_in_flight = |state: Option<Held>| model.lock().unwrap().get_mut(&key).unwrap().in_flight = Some(state);
        let outcome: Result<Option<Held>, StorageError> = match choice {
            0..=44 => {
                let body = bytes_for(rng.next(), rng.below(64 * 1024) as usize);
                let state = held(&body, &tags);
                set_in_flight(Some(state.clone()));
                let options = PutOptions { tags: tags.clone(), ..Default::default() };
                storage.put(&key, Bytes::from(body), options).await.map(|_| Some(state))
            }
            45..=64 if current.is_some() => {
                let state = Held { tags: held(&[], &tags).tags, ..current.clone().unwrap() };
                set_in_flight(Some(state.clone()));
                storage.put_tags(&key, &tags).await.map(|_| Some(state))
            }
            65..=79 => {
                set_in_flight(None);
                storage.delete(&key).await.map(|_| None)
            }
            _ => {
                let (first, last) = (bytes_for(rng.next(), PART), bytes_for(rng.next(), rng.below(4096) as usize + 1));
                let state = held(&[first.as_slice(), last.as_slice()].concat(), &tags);
                let options = PutOptions { tags: tags.clone(), ..Default::default() };
                let parts = async {
                    let id = storage.create_upload(&key, options).await?;
                    let one = storage.upload_part(&key, &id, 1, Bytes::from(first)).await?;
                    let two = storage.upload_part(&key, &id, 2, Bytes::from(last)).await?;
                    Ok::<_, StorageError>((id, one, two))
                };
                match parts.await {
                    Ok((id, one, two)) => {
                        set_in_flight(Some(state.clone()));
                        storage.complete_upload(&key, &id, &[(1, one), (2, two)], None, &tags).await.map(|_| Some(state))
                    }
                    Err(err) => Err(err),
                }
            }
        };
        match outcome {
            Ok(state) => {
                let mut model = model.lock().unwrap();
                let known = model.get_mut(&key).unwrap();
                known.acked = state;
                known.in_flight = None;
                acked.fetch_add(1, Ordering::Relaxed);
            }
            Err(err) => {
                assert!(killed.load(Ordering::SeqCst), "worker {worker}: {key} failed while the server was up: {err}");
                return;
            }
        }
    }
}

/// Reads every key back and checks it against what the clients know; the
/// observed state becomes the acknowledged one.
async fn verify(storage: &Storage, model: &Model, kill: usize) {
    let listed: Vec<String> = storage.list_all("").await.unwrap().into_iter().map(|o| o.key).collect();
    let snapshot = model.lock().unwrap().clone();
    let mut settled = BTreeMap::new();
    for (key, known) in &snapshot {
        let observed = match storage.get(key, None).await {
            Ok(object) => {
                let tags = storage.get_tags(key).await.unwrap();
                Some(held(&object.body, &tags))
            }
            Err(StorageError::NotFound) => None,
            Err(other) => panic!("after kill {kill}: reading {key} failed: {other}"),
        };
        let allowed = observed == known.acked || known.in_flight.as_ref().is_some_and(|s| *s == observed);
        assert!(allowed, "after kill {kill}: {key} holds {observed:?}; acknowledged {:?}, in flight {:?}", known.acked, known.in_flight);
        assert_eq!(observed.is_some(), listed.contains(key), "after kill {kill}: the listing agrees about {key}");
        settled.insert(key.clone(), Known { acked: observed, in_flight: None });
    }
    for key in &listed {
        assert!(snapshot.contains_key(key), "after kill {kill}: {key} was never written");
    }
    // What is there now is what the next round builds on: an in-flight
    // write that landed becomes acknowledged, one that did not is forgotten.
    *model.lock().unwrap() = settled;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_write_survives_sigkill_and_nothing_is_half_visible() {
    let kills: usize = std::env::var("AGORA_CRASH_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(20);
    let seed: u64 = std::env::var("AGORA_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1);
    println!("crash loop: {kills} kills, AGORA_CRASH_SEED={seed}");
    let mut rng = Rng(seed);
    let data = tempfile::tempdir().unwrap();
    let (addr, s3_addr) = (free_addr(), free_addr());
    let model: Model = Arc::default();
    let acked = Arc::new(AtomicUsize::new(0));
    for kill in 0..=kills {
        let mut node = Node::start(data.path(), &addr, &s3_addr, &[]);
        ready(&addr).await;
        let storage = client(data.path(), &s3_addr).await;
        if kill == 0 {
            storage.ensure_bucket().await.unwrap();
        } else {
            verify(&storage, &model, kill).await;
        }
        if kill == kills {
            break;
        }
        let killed = Arc::new(AtomicBool::new(false));
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| tokio::spawn(work(storage.clone(), w, Arc::clone(&model), Arc::clone(&killed), Arc::clone(&acked), rng.next())))
            .collect();
        tokio::time::sleep(Duration::from_millis(150 + rng.below(1200))).await;
        killed.store(true, Ordering::SeqCst);
        node.kill();
        for worker in workers {
            worker.await.unwrap();
        }
    }
    let held = model.lock().unwrap().values().filter(|k| k.acked.is_some()).count();
    println!(
        "crash loop: {kills} kills survived, {} acknowledged writes checked, {held} keys hold data at the end",
        acked.load(Ordering::Relaxed)
    );
}
