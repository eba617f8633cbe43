//! Assembling the hub at start-up: the session secret (configured or shared
//! through the bucket), outgoing mail, and the background work accounts need.

use anyhow::Context;
use tokio_util::sync::CancellationToken;

use agora_core::accounts::setup::SetupCode;
use agora_core::auth::session_secret;
use agora_core::auth::token::TokenKeys;
use agora_core::data_dir::DataDir;
use agora_core::datasets::DatasetLimits;
use agora_core::egress::{DestinationPolicy, Egress};
use agora_core::hub::{Hub, HubParts};
use agora_core::index::journal::{Cursor, Indexer};
use agora_core::index::SearchIndex;
use agora_core::mail::Mailer;
use agora_core::sealing::SealingKeys;
use agora_core::storage::Storage;

use crate::config::Config;

pub async fn start(
    config: &Config,
    data_dir: &DataDir,
    storage: Storage,
    public_url: String,
    own_listeners: &[std::net::SocketAddr],
    stop: CancellationToken,
) -> anyhow::Result<Hub> {
    let secret = session_secret::load_or_create(&storage, config.auth.session_secret.as_ref())
        .await
        .context("could not load or create the session secret in the bucket")?;
    let tokens = TokenKeys::new(&secret).context("the session secret is unusable (--session-secret / AGORA_SESSION_SECRET)")?;
    let mailer = match &config.auth.smtp_url {
        Some(url) => Mailer::smtp(url, &config.auth.smtp_from).context("invalid mail settings (--smtp-url, --smtp-from)")?,
        None => {
            let outbox = data_dir.root().join("outbox");
            tracing::info!(outbox = %outbox.display(), "no SMTP server configured (AGORA_SMTP_URL): account mail goes to the outbox (administrators' links to this log too)");
            let mailer = Mailer::outbox(outbox, &config.auth.smtp_from).context("invalid sender (--smtp-from / AGORA_SMTP_FROM)")?;
            if config.auth.print_mail_links {
                mailer.printing_links()
            } else {
                mailer
            }
        }
    };
    let (search, incomplete) =
        SearchIndex::open(data_dir.root()).context("could not open the search index (delete its folder to have it rebuilt)")?;
    let saved_cursor = search.cursor().map(Cursor::new);
    let rebuild = incomplete || saved_cursor.as_ref().is_none_or(Cursor::expired);
    // A rebuild reads the bucket as it is now: the journal matters from here on.
    let cursor = if rebuild { Cursor::now() } else { saved_cursor.unwrap_or_else(Cursor::now) };
    let index = Indexer::shared(search.clone(), storage.clone());
    let node = index.journal().map(|j| j.node().to_owned()).unwrap_or_default();
    let monitor = agora_core::monitoring::Monitor::new(storage.clone(), node, config.monitor);
    let (configured_keys, root) = (config.sealing_keys.clone(), data_dir.root().to_owned());
    let sealing = tokio::task::spawn_blocking(move || SealingKeys::load(configured_keys.as_ref(), &root))
        .await
        .context("loading the sealing keys did not finish")?
        .map_err(|e| anyhow::anyhow!("the sealing keys are unusable (--sealing-keys / AGORA_SEALING_KEYS): {e}"))?;
    let policy =
        own_listeners.iter().fold(DestinationPolicy::new(config.monitor_allow.clone()), |policy, addr| policy.with_own_listener(*addr));
    let setup_code_file = data_dir.root().join(SETUP_CODE_FILE);
    let setup_code = SetupCode::derive(&secret);
    let hub = Hub::new(HubParts {
        setup_code: setup_code.clone(),
        setup_code_file: setup_code_file.clone(),
        storage,
        tokens,
        mailer,
        public_url: public_url.clone(),
        session_ttl: config.auth.session_ttl,
        session_max: config.auth.session_max,
        dataset_limits: DatasetLimits {
            per_user: config.max_datasets_per_user,
            max_bytes: config.max_dataset_bytes,
            presign_expiry: config.storage.presign_expiry,
            multipart_threshold: config.multipart_threshold,
            run_stale_after: config.run_stale_after,
            run_log_max_bytes: config.run_log_max_bytes,
        },
        index,
        dashboard_limits: config.dashboard_limits.clone(),
        monitor,
        egress: Egress::new(policy),
        sealing: std::sync::Arc::new(sealing),
        live_limits: config.live_limits,
    });
    announce_setup(&hub, &setup_code, &setup_code_file, &public_url).await?;
    if rebuild {
        rebuild_index(hub.clone());
    }
    hub.datasets().keep_index_in_step(cursor, JOURNAL_POLL, stop.clone().cancelled_owned());
    hub.dashboards().keep_within_budget(BUDGET_CHECK, stop.clone().cancelled_owned());
    // The writer commits what is queued and stops with the server.
    let stopped = stop.clone();
    tokio::spawn(async move {
        stopped.cancelled().await;
        tokio::task::spawn_blocking(move || search.shutdown()).await.ok();
    });
    resume_jobs(hub.clone(), stop);
    Ok(hub)
}

/// Where each node writes the setup code while the hub has no administrator.
pub const SETUP_CODE_FILE: &str = "setup-code";

/// While the hub has never had an administrator, prints the setup code that
/// makes a registration one and writes it to the data directory (`0600`);
/// afterwards, removes a file an earlier start left.
async fn announce_setup(hub: &Hub, code: &SetupCode, file: &std::path::Path, public_url: &str) -> anyhow::Result<()> {
    let waiting = hub.awaits_first_admin().await.map_err(|e| anyhow::anyhow!("could not check for an administrator: {e}"))?;
    let file = file.to_owned();
    if !waiting {
        tokio::task::spawn_blocking(move || std::fs::remove_file(file)).await.ok();
        return Ok(());
    }
    let (path, text) = (file.clone(), format!("{}\n", code.expose()));
    tokio::task::spawn_blocking(move || agora_core::data_dir::write_private_file(&path, text.as_bytes()))
        .await
        .context("writing the setup code did not finish")?
        .with_context(|| format!("could not write {}", file.display()))?;
    tracing::warn!(
        setup_code = code.expose(),
        file = %file.display(),
        "this hub has no administrator yet: register at {public_url}/register with this setup code to become it \
         (or run `agora admin create-user NAME EMAIL --admin`); accounts registered without it are regular ones"
    );
    Ok(())
}

/// How often other nodes' changes are picked up from the journal.
const JOURNAL_POLL: std::time::Duration = std::time::Duration::from_millis(500);
/// How often the dashboards' storage budget is checked besides after saves
/// (views and other nodes' saves change who is at risk).
const BUDGET_CHECK: std::time::Duration = std::time::Duration::from_secs(60);

/// Rebuilds the index in the background; the app serves meanwhile and says
/// "indexing…" where listings may be incomplete.
fn rebuild_index(hub: Hub) {
    tokio::spawn(async move {
        tracing::info!("the search index is missing, of another version or unfinished: rebuilding it from the bucket");
        let started = std::time::Instant::now();
        let outcome = hub
            .datasets()
            .rebuild_index(|state| {
                if state.done % 50 == 0 || state.done == state.total {
                    tracing::info!(done = state.done, total = state.total, "indexing datasets");
                }
            })
            .await;
        match outcome {
            Ok(state) => tracing::info!(datasets = state.total, ms = started.elapsed().as_millis() as u64, "the search index is rebuilt"),
            Err(err) => {
                tracing::error!(error = %err, "rebuilding the search index failed; it is retried at the next start (or run `agora reindex`)")
            }
        }
    });
}

/// Deletions a crash interrupted carry on in the background, and stored
/// credentials sealed with an older key are sealed with the current one.
fn resume_jobs(hub: Hub, stop: CancellationToken) {
    let resealing = hub.clone();
    until_stopped(stop.clone(), async move {
        match resealing.reseal_credentials().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(sources = n, "stored credentials are sealed with the current key; older sealing keys can be removed"),
            Err(err) => tracing::warn!(error = %err, "could not seal stored credentials with the current key; retried at the next start"),
        }
    });
    until_stopped(stop, async move {
        match hub.resume_jobs().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(jobs = n, "resumed interrupted deletions"),
            Err(err) => tracing::warn!(error = %err, "could not resume interrupted deletions; they are retried at the next start"),
        }
    });
}

/// Runs `work` in the background until it ends or the server stops.
fn until_stopped(stop: CancellationToken, work: impl std::future::Future<Output = ()> + Send + 'static) {
    tokio::spawn(async move {
        tokio::select! {
            _ = stop.cancelled() => {}
            () = work => {}
        }
    });
}
