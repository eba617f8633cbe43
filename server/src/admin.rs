//! `agora admin …` and `agora reindex`: chores from the command line, on the
//! same bucket `agora serve` uses.

use std::io::BufRead;
use std::time::Duration;

use anyhow::{bail, Context};
use tokio_util::sync::CancellationToken;

use agora_core::accounts::{Accounts, Registration, Role};
use agora_core::datasets::{DatasetLimits, Datasets};
use agora_core::index::journal::{Cursor, Indexer};
use agora_core::index::SearchIndex;
use agora_core::secret::Secret;
use agora_core::storage::Storage;
use agora_s3d::credentials::Credentials;

use crate::cli::{AdminAction, AdminArgs, DashboardsAction, DashboardsArgs, RoleArg, ServeArgs};
use crate::config::{Config, StorageMode};

pub fn run(args: AdminArgs) -> anyhow::Result<()> {
    let config = Config::from_args(args.serve)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("could not start the async runtime")?;
    runtime.block_on(async {
        let stop = CancellationToken::new();
        let storage = connect(&config, stop.clone()).await?;
        let result = act(&Accounts::new(storage), args.action).await;
        stop.cancel();
        result
    })
}

/// `agora reindex`: rebuilds this node's index from the bucket.
pub fn reindex(args: ServeArgs) -> anyhow::Result<()> {
    let config = Config::from_args(args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("could not start the async runtime")?;
    runtime.block_on(async {
        let stop = CancellationToken::new();
        let storage = connect(&config, stop.clone()).await?;
        let (index, _) = SearchIndex::open(&config.data_dir).context(
            "could not open the search index; if `agora serve` runs on this data directory, stop it first \
             (or delete the index folder and let the running node rebuild it)",
        )?;
        let cursor = Cursor::now();
        let datasets = Datasets::new(storage.clone(), Accounts::new(storage), DatasetLimits::default(), Indexer::local(index.clone()));
        let started = std::time::Instant::now();
        let result = datasets.rebuild_index(|state| progress_bar("indexing datasets", state.done, state.total)).await;
        eprintln!();
        let state = result.map_err(|e| anyhow::anyhow!("{e}"))?;
        index.save_cursor(cursor.at_ms);
        tokio::task::spawn_blocking(move || index.shutdown()).await.ok();
        stop.cancel();
        println!("indexed {} dataset(s) and the dashboards in {:.1} s", state.total.saturating_sub(1), started.elapsed().as_secs_f64());
        Ok(())
    })
}

/// `agora dashboards export|import`. Changes go to the bucket and the change
/// journal, so serving nodes index imported dashboards within a second.
/// `agora sealing-key new|rotate`.
pub fn sealing_key(args: crate::cli::SealingKeyArgs) -> anyhow::Result<()> {
    use agora_core::sealing;
    match args.action {
        crate::cli::SealingKeyAction::New => {
            println!("{}", sealing::new_key().expose());
            eprintln!("put it first in AGORA_SEALING_KEYS (comma-separated, keep the old keys after it) on every node, then restart them");
        }
        crate::cli::SealingKeyAction::Rotate { data_dir } => {
            let dir = data_dir.unwrap_or_else(|| crate::config::DEFAULT_DATA_DIR.into());
            let id = sealing::rotate_keys_file(&dir).map_err(|e| anyhow::anyhow!(e))?;
            eprintln!(
                "key {id} now seals ({}); restart `agora serve`: it seals stored credentials again with it and says when the old keys can go",
                dir.join(sealing::KEYS_FILE).display()
            );
        }
    }
    Ok(())
}

pub fn dashboards(args: DashboardsArgs) -> anyhow::Result<()> {
    use agora_core::dashboards::transfer::{ExportFile, Selection};
    use agora_core::dashboards::Dashboards;

    let config = Config::from_args(args.serve)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("could not start the async runtime")?;
    runtime.block_on(async {
        let stop = CancellationToken::new();
        let storage = connect(&config, stop.clone()).await?;
        // This process's own index is thrown away; the journal carries the changes.
        let index = Indexer::shared(SearchIndex::in_memory(), storage.clone());
        let dashboards = Dashboards::new(storage.clone(), Accounts::new(storage), index, config.dashboard_limits.clone());
        let result = match args.action {
            DashboardsAction::Export { whitelisted, output, .. } => {
                let selection = if whitelisted { Selection::Whitelisted } else { Selection::All };
                let file = dashboards.export(selection, |done, total| progress_bar("reading dashboards", done, total)).await;
                eprintln!();
                let file = file.map_err(|e| anyhow::anyhow!(e))?;
                let json = serde_json::to_vec_pretty(&file)?;
                match &output {
                    Some(path) => {
                        let temp = path.with_extension("partial");
                        std::fs::write(&temp, &json)
                            .and_then(|()| std::fs::rename(&temp, path))
                            .with_context(|| format!("could not write {}", path.display()))?;
                        eprintln!("exported {} dashboard(s) to {}", file.dashboards.len(), path.display());
                    }
                    None => {
                        use std::io::Write;
                        std::io::stdout().write_all(&json)?;
                        eprintln!("exported {} dashboard(s)", file.dashboards.len());
                    }
                }
                Ok(())
            }
            DashboardsAction::Import { file } => {
                let text = if file.as_os_str() == "-" {
                    let mut text = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).context("could not read standard input")?;
                    text
                } else {
                    std::fs::read_to_string(&file).with_context(|| format!("could not read {}", file.display()))?
                };
                let parsed: ExportFile = serde_json::from_str(&text).context("not an Agora dashboards export file")?;
                let report = dashboards.import(parsed, |done, total| progress_bar("importing dashboards", done, total)).await;
                eprintln!();
                let report = report.map_err(|e| anyhow::anyhow!("{}: {}", e.field.unwrap_or_default(), e.message))?;
                println!("imported: {} created, {} updated, {} unchanged", report.created, report.updated, report.unchanged);
                Ok(())
            }
        };
        stop.cancel();
        result
    })
}

/// `label: 12/50 [#####.....]` on one line of standard error.
fn progress_bar(label: &str, done: u64, total: u64) {
    const WIDTH: u64 = 30;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
    let bar: String = (0..WIDTH).map(|i| if i < filled { '#' } else { '.' }).collect();
    eprint!("\r{label}: {done}/{total} [{bar}]");
}

async fn act(accounts: &Accounts, action: AdminAction) -> anyhow::Result<()> {
    match action {
        AdminAction::CreateUser { username, email, admin } => {
            let password = read_password()?;
            let user = accounts
                .register(Registration { username, email, password, first_admin: false })
                .await
                .map_err(|e| anyhow::anyhow!(e.to_api()))?;
            accounts.mark_verified(&user.id).await.map_err(|e| anyhow::anyhow!(e.to_api()))?;
            let user = if admin && user.role != Role::Admin {
                accounts.set_role(&user.id, Role::Admin).await.map_err(|e| anyhow::anyhow!(e.to_api()))?
            } else {
                user
            };
            println!("created {} ({:?}, email verified)", user.username, user.role);
        }
        AdminAction::SetRole { username, role } => {
            let user = find(accounts, &username).await?;
            let role = match role {
                RoleArg::User => Role::User,
                RoleArg::Admin => Role::Admin,
            };
            let user = accounts.set_role(&user.id, role).await.map_err(|e| anyhow::anyhow!(e.to_api()))?;
            println!("{} is now {:?}", user.username, user.role);
        }
        AdminAction::ResetPassword { username } => {
            let user = find(accounts, &username).await?;
            let password = read_password()?;
            let user = accounts.set_password(&user, password).await.map_err(|e| anyhow::anyhow!(e.to_api()))?;
            println!("new password set for {}; every session has ended", user.username);
        }
    }
    Ok(())
}

async fn find(accounts: &Accounts, username: &str) -> anyhow::Result<agora_core::accounts::UserRecord> {
    accounts.find_by_username(username).await.map_err(|_| anyhow::anyhow!("no account is called {username:?}"))
}

fn read_password() -> anyhow::Result<Secret<String>> {
    eprintln!("password (one line on standard input):");
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).context("could not read the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']).to_owned();
    if password.is_empty() {
        bail!("no password given on standard input");
    }
    Ok(Secret::new(password))
}

/// The bucket: a running Agora's embedded endpoint if one answers at the
/// configured address (two processes must not write one store directory),
/// else the embedded store opened here on a private port, else the external
/// store.
async fn connect(config: &Config, stop: CancellationToken) -> anyhow::Result<Storage> {
    if let StorageMode::Embedded { addr } = &config.storage.mode {
        let credentials_file = config.s3_dir().join("credentials.json");
        if credentials_file.is_file() {
            let credentials =
                Credentials::load_or_create(&credentials_file).context("could not read the embedded endpoint's credentials")?;
            let storage = crate::storage::connect_embedded(&config.storage, &format!("http://{addr}"), &credentials).await;
            if tokio::time::timeout(Duration::from_secs(2), storage.check_bucket()).await.is_ok_and(|r| r.is_ok()) {
                return Ok(storage);
            }
        }
        let mut private = config.clone();
        private.storage.mode = StorageMode::Embedded { addr: "127.0.0.1:0".parse()? };
        return Ok(crate::storage::start(&private, stop).await?.storage);
    }
    Ok(crate::storage::start(config, stop).await?.storage)
}
