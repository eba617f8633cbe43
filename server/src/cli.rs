//! The command line: `agora <command> [options]`. Every option can also come
//! from an `AGORA_*` environment variable; `--help` on each command lists them.

use std::path::PathBuf;

use agora_core::secret::Secret;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Secrets are wrapped as soon as they are parsed, so no `Debug` of the
/// arguments can print them.
fn parse_secret(value: &str) -> Result<Secret<String>, std::convert::Infallible> {
    Ok(Secret::new(value.to_owned()))
}

#[derive(Debug, Parser)]
#[command(
    name = "agora",
    version,
    about = "Agora: a self-hosted hub for ML training datasets and dashboards",
    long_about = "Agora: a self-hosted hub for ML training datasets and dashboards.\n\n\
                  Without a command, `agora` serves (like `agora serve`). \
                  Every option can be given as a flag or as the environment variable shown next to it; \
                  a flag wins over the environment. Logging is filtered with RUST_LOG (default: info).",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// Options for serving when no command is given.
    #[command(flatten)]
    pub serve: ServeArgs,
}

impl Cli {
    /// The command to run: `serve` when none was named.
    pub fn into_command(self) -> Command {
        self.command.unwrap_or(Command::Serve(self.serve))
    }
}

// Parsed once at start: the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web UI and API (with the embedded defaults unless configured otherwise).
    Serve(ServeArgs),
    /// Run a benchmark and print its figures with a comparison from the same run.
    Bench(crate::bench::BenchArgs),
    /// Manage accounts from the command line (bootstrapping, lost admin passwords).
    Admin(AdminArgs),
    /// Rebuild the search index from the bucket (resumable; run it while this
    /// node's `agora serve` is stopped — a serving node rebuilds by itself when
    /// its index folder is missing).
    Reindex(ServeArgs),
    /// Export dashboards to a file, or import such a file (on the same bucket
    /// `agora serve` uses, with the same options).
    Dashboards(DashboardsArgs),
    /// Keys that seal stored credentials: make one, or rotate the data
    /// directory's keys file.
    SealingKey(SealingKeyArgs),
}

/// `agora sealing-key new|rotate`
#[derive(Debug, Args)]
pub struct SealingKeyArgs {
    #[command(subcommand)]
    pub action: SealingKeyAction,
}

#[derive(Debug, Clone, Subcommand)]
pub enum SealingKeyAction {
    /// Print a new random key (to put first in AGORA_SEALING_KEYS).
    New,
    /// Put a new key first in the data directory's `sealing-keys` file. At
    /// the next start, credentials sealed with older keys are sealed again
    /// with it; remove the old lines once the log says so.
    Rotate {
        /// The data directory [default: ./data].
        #[arg(long, env = "AGORA_DATA_DIR", value_name = "DIR")]
        data_dir: Option<PathBuf>,
    },
}

/// `agora dashboards [storage options] export|import …`
#[derive(Debug, Args)]
pub struct DashboardsArgs {
    #[command(subcommand)]
    pub action: DashboardsAction,

    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum DashboardsAction {
    /// Write dashboards (records, owners, flags) as one JSON file.
    Export {
        /// Every dashboard (the default).
        #[arg(long, conflicts_with = "whitelisted")]
        all: bool,
        /// Only whitelisted (and protected) dashboards.
        #[arg(long)]
        whitelisted: bool,
        /// The file to write [default: standard output].
        #[arg(short = 'o', long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Store the dashboards of an export file, keeping ids, owners and flags.
    /// The whole file is checked first: a dashboard that fails validation is
    /// named with the reason and nothing is written. Running it again
    /// changes nothing.
    Import {
        /// An export file (`-` for standard input).
        file: PathBuf,
    },
}

/// `agora admin [storage options] <action>`: works on the same bucket as
/// `agora serve` with the same options (given before the action). With the embedded store it uses a running Agora's endpoint
/// if there is one, and otherwise opens the store itself.
#[derive(Debug, Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    pub action: AdminAction,

    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Clone, Subcommand)]
pub enum AdminAction {
    /// Create a verified account. The password is read from standard input (one
    /// line), so it never shows in the process list or shell history.
    CreateUser {
        username: String,
        email: String,
        /// Make the account an administrator.
        #[arg(long)]
        admin: bool,
    },
    /// Make an account an administrator or a regular user.
    SetRole {
        username: String,
        #[arg(value_enum)]
        role: RoleArg,
    },
    /// Set a new password (read from standard input, one line); every session ends.
    ResetPassword { username: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    User,
    Admin,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Options of `agora serve`. Raw as given; [`crate::config::Config::from_args`]
/// validates them.
#[derive(Debug, Clone, Default, Args)]
pub struct ServeArgs {
    /// Address to listen on for the web UI and API [default: 127.0.0.1:3000].
    #[arg(long, env = "AGORA_ADDR", value_name = "HOST:PORT")]
    pub addr: Option<String>,

    /// Directory for Agora's data (embedded object store, search index) [default: ./data].
    #[arg(long, env = "AGORA_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// Directory holding the compiled site (pkg/agora.js, .wasm, .css) and static assets
    /// [default: target/site].
    #[arg(long, env = "AGORA_SITE_ROOT", value_name = "DIR")]
    pub site_root: Option<PathBuf>,

    /// Agora's public URL, as browsers reach it: the default origin allowed to
    /// call the storage endpoint [default: http://<addr>].
    #[arg(long, env = "AGORA_PUBLIC_URL", value_name = "URL")]
    pub public_url: Option<String>,

    /// External S3 endpoint (AWS S3, MinIO, Ceph RGW). Unset: Agora starts its
    /// own S3-compatible endpoint with data under --data-dir.
    #[arg(long, env = "AGORA_S3_ENDPOINT", value_name = "URL")]
    pub s3_endpoint: Option<String>,

    /// The storage endpoint browsers and scripts reach, when it differs from
    /// --s3-endpoint (e.g. behind a proxy) [default: the endpoint].
    #[arg(long, env = "AGORA_S3_PUBLIC_ENDPOINT", value_name = "URL")]
    pub s3_public_endpoint: Option<String>,

    /// Access key for the external store. Unset: the standard AWS chain
    /// (AWS_ACCESS_KEY_ID, AWS_PROFILE, instance roles, …) is used.
    #[arg(long, env = "AGORA_S3_ACCESS_KEY_ID", value_name = "KEY", hide_env_values = true)]
    pub s3_access_key_id: Option<String>,

    /// Secret key for the external store (with --s3-access-key-id). Prefer
    /// the environment variable: command lines are visible to other users.
    #[arg(long, env = "AGORA_S3_SECRET_ACCESS_KEY", value_name = "SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub s3_secret_access_key: Option<Secret<String>>,

    /// The bucket holding all of Agora's state [default: agora].
    #[arg(long, env = "AGORA_S3_BUCKET", value_name = "NAME")]
    pub s3_bucket: Option<String>,

    /// Region to sign requests for [default: us-east-1].
    #[arg(long, env = "AGORA_S3_REGION", value_name = "REGION")]
    pub s3_region: Option<String>,

    /// Address of the embedded S3 endpoint [default: 127.0.0.1:3900].
    #[arg(long, env = "AGORA_S3_ADDR", value_name = "HOST:PORT")]
    pub s3_addr: Option<String>,

    /// Use virtual-hosted-style URLs (bucket.endpoint) instead of path-style
    /// (endpoint/bucket), e.g. for AWS S3 [default: path-style].
    #[arg(long, env = "AGORA_S3_VIRTUAL_HOSTED", value_name = "BOOL")]
    pub s3_virtual_hosted: Option<bool>,

    /// Extra origins allowed to call the embedded endpoint from a browser,
    /// comma-separated (Agora's own origin is always allowed).
    #[arg(long, env = "AGORA_S3_CORS_ORIGINS", value_name = "ORIGINS", value_delimiter = ',')]
    pub s3_cors_origins: Vec<String>,

    /// Incomplete multipart uploads older than this many hours are aborted
    /// by the embedded endpoint [default: 168].
    #[arg(long, env = "AGORA_S3_UPLOAD_MAX_AGE_HOURS", value_name = "HOURS")]
    pub s3_upload_max_age_hours: Option<u64>,

    /// Lifetime of presigned URLs in seconds, 1 to 3600 [default: 900].
    #[arg(long, env = "AGORA_PRESIGN_EXPIRY_SECS", value_name = "SECONDS")]
    pub presign_expiry_secs: Option<u64>,

    /// SMTP server for account mail, e.g. smtp://user:pass@mail.example.com:587?tls=required
    /// or smtps://mail.example.com. Unset: mail goes to the `outbox` folder in the data
    /// directory and links are logged.
    #[arg(long, env = "AGORA_SMTP_URL", value_name = "URL", hide_env_values = true, value_parser = parse_secret)]
    pub smtp_url: Option<Secret<String>>,

    /// Without SMTP: also write the links of outbox mail (verification,
    /// password reset) to the log, for everyone who reads it. Without this,
    /// only administrators' links are logged; the others are in the outbox
    /// files (readable by Agora's user only).
    #[arg(long, env = "AGORA_PRINT_MAIL_LINKS")]
    pub print_mail_links: bool,

    /// Sender of account mail [default: Agora <agora@localhost>].
    #[arg(long, env = "AGORA_SMTP_FROM", value_name = "MAILBOX")]
    pub smtp_from: Option<String>,

    /// Secret that signs session tokens, at least 32 bytes. Unset: one is created
    /// once in the bucket, so every node sharing the bucket agrees.
    #[arg(long, env = "AGORA_SESSION_SECRET", value_name = "SECRET", hide_env_values = true, value_parser = parse_secret)]
    pub session_secret: Option<Secret<String>>,

    /// Keys that seal stored credentials (of monitored sources): 32-byte
    /// keys in base64, comma-separated, the first of which seals (make one
    /// with `agora sealing-key new`). Every node of a shared bucket needs
    /// the same list. Unset: the data directory's `sealing-keys` file,
    /// made at the first start.
    #[arg(long, env = "AGORA_SEALING_KEYS", value_name = "KEYS", hide_env_values = true, value_parser = parse_secret)]
    pub sealing_keys: Option<Secret<String>>,

    /// How long a session lasts without activity, in minutes, 5 to 10080; it is
    /// renewed while the person is active [default: 120].
    #[arg(long, env = "AGORA_SESSION_TTL_MINS", value_name = "MINUTES")]
    pub session_ttl_mins: Option<u64>,

    /// The longest a login lasts however active the person is, in hours, 1 to
    /// 2160; then they log in again [default: 168].
    #[arg(long, env = "AGORA_SESSION_MAX_HOURS", value_name = "HOURS")]
    pub session_max_hours: Option<u64>,

    /// Datasets one person may own [default: 100].
    #[arg(long, env = "AGORA_MAX_DATASETS_PER_USER", value_name = "N")]
    pub max_datasets_per_user: Option<usize>,

    /// Bytes one dataset may hold [default: 1099511627776, 1 TiB].
    #[arg(long, env = "AGORA_MAX_DATASET_BYTES", value_name = "BYTES")]
    pub max_dataset_bytes: Option<u64>,

    /// Bytes one dashboard's JSON may take [default: 10485760, 10 MB].
    #[arg(long, env = "AGORA_MAX_DASHBOARD_BYTES", value_name = "BYTES")]
    pub max_dashboard_bytes: Option<u64>,

    /// A running training session with no heartbeat or report for this many
    /// seconds shows as stale, 10 to 604800 [default: 300].
    #[arg(long, env = "AGORA_RUN_STALE_SECS", value_name = "SECONDS")]
    pub run_stale_secs: Option<u64>,

    /// Bytes of log one training session keeps; later lines are dropped
    /// behind a "truncated" marker [default: 67108864, 64 MiB].
    #[arg(long, env = "AGORA_RUN_LOG_MAX_BYTES", value_name = "BYTES")]
    pub run_log_max_bytes: Option<u64>,

    /// Live streams (dataset changes, run logs) one account, or one address
    /// when anonymous, may hold open at once, 1 to 10000 [default: 20].
    #[arg(long, env = "AGORA_LIVE_STREAMS_PER_USER", value_name = "COUNT")]
    pub live_streams_per_user: Option<usize>,

    /// Live streams this node holds open at once, all callers together,
    /// 1 to 1000000 [default: 1000].
    #[arg(long, env = "AGORA_LIVE_STREAMS", value_name = "COUNT")]
    pub live_streams: Option<usize>,

    /// How often Agora writes its request records to the bucket, in
    /// milliseconds, 100 to 60000 (a crash loses at most this much) [default: 5000].
    #[arg(long, env = "AGORA_MONITOR_FLUSH_MS", value_name = "MS")]
    pub monitor_flush_ms: Option<u64>,

    /// Days Agora keeps its request records, 1 to 3650 [default: 30].
    #[arg(long, env = "AGORA_MONITOR_RETENTION_DAYS", value_name = "DAYS")]
    pub monitor_retention_days: Option<u64>,

    /// Record only the network part of client addresses (/24 for IPv4, /48 for IPv6).
    #[arg(long, env = "AGORA_MONITOR_ANONYMIZE_IPS")]
    pub monitor_anonymize_ips: bool,

    /// Do not record Agora's own requests at all.
    #[arg(long, env = "AGORA_MONITOR_OFF")]
    pub monitor_off: bool,

    /// Addresses inside a network that monitored sources may be fetched
    /// from: CIDRs, addresses or host names, separated by commas (e.g.
    /// `10.0.0.0/8,monitor.internal`). Loopback and private addresses are
    /// refused unless listed; link-local, metadata and multicast addresses
    /// and Agora's own listeners always are [default: none].
    #[arg(long, env = "AGORA_MONITOR_ALLOW", value_name = "LIST")]
    pub monitor_allow: Option<String>,

    /// Reverse proxies and load balancers in front of Agora, as CIDRs or
    /// addresses separated by commas (e.g. `10.0.0.0/8,192.0.2.10`). Only
    /// requests from these have their `X-Forwarded-For` believed: the first
    /// address from the right that is not one of them is the client that
    /// rate limits, monitoring and logs count [default: none, the
    /// connection's address is the client].
    #[arg(long, env = "AGORA_TRUSTED_PROXIES", value_name = "LIST")]
    pub trusted_proxies: Option<String>,

    /// Seconds between fetches of each remote monitored source (and checks
    /// of alert rules), 1 to 3600 [default: 60].
    #[arg(long, env = "AGORA_MONITOR_FETCH_SECS", value_name = "SECONDS")]
    pub monitor_fetch_secs: Option<u64>,

    /// Bytes all dashboards together may take before eviction
    /// [default: 10000000000, 10 GB].
    #[arg(long, env = "AGORA_DASHBOARD_BUDGET_BYTES", value_name = "BYTES")]
    pub dashboard_budget_bytes: Option<u64>,

    /// Eviction starts when dashboards reach this share of the budget [default: 95].
    #[arg(long, env = "AGORA_DASHBOARD_EVICT_AT_PERCENT", value_name = "PERCENT")]
    pub dashboard_evict_at_percent: Option<u8>,

    /// Eviction deletes least-recently-used dashboards (never whitelisted or
    /// protected ones) until they are down to this share [default: 60].
    #[arg(long, env = "AGORA_DASHBOARD_TARGET_PERCENT", value_name = "PERCENT")]
    pub dashboard_target_percent: Option<u8>,

    /// Each owner's share of the dashboard budget: eviction takes first
    /// from owners whose dashboards take more [default: a tenth of the
    /// budget].
    #[arg(long, env = "AGORA_DASHBOARD_USER_BUDGET_BYTES", value_name = "BYTES")]
    pub dashboard_user_budget_bytes: Option<u64>,

    /// A JSON schema file every dashboard must match, instead of the one
    /// shipped in schemas/dashboard.schema.json.
    #[arg(long, env = "AGORA_DASHBOARD_SCHEMA", value_name = "PATH")]
    pub dashboard_schema: Option<std::path::PathBuf>,

    /// Files of at least this many bytes are uploaded in parts of 8 MiB or more
    /// (resumable, 4 in flight), 1 to 5368709120 [default: 67108864, 64 MiB].
    #[arg(long, env = "AGORA_MULTIPART_THRESHOLD", value_name = "BYTES")]
    pub multipart_threshold: Option<u64>,

    /// Log line format.
    #[arg(long, env = "AGORA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// Set by `cargo leptos`; used when --addr/AGORA_ADDR is not given.
    #[arg(long, env = "LEPTOS_SITE_ADDR", hide = true)]
    pub leptos_site_addr: Option<String>,

    /// Set by `cargo leptos`; used when --site-root/AGORA_SITE_ROOT is not given.
    #[arg(long, env = "LEPTOS_SITE_ROOT", hide = true)]
    pub leptos_site_root: Option<PathBuf>,

    /// Set by `cargo leptos` (DEV enables live reload under `cargo leptos watch`).
    #[arg(long, env = "LEPTOS_ENV", hide = true)]
    pub leptos_env: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn no_command_means_serve_with_the_top_level_options() {
        let cli = Cli::try_parse_from(["agora", "--addr", "127.0.0.1:9"]).unwrap();
        match cli.into_command() {
            Command::Serve(args) => assert_eq!(args.addr.as_deref(), Some("127.0.0.1:9")),
            other => panic!("expected serve, got {other:?}"),
        }
        let cli = Cli::try_parse_from(["agora", "serve", "--data-dir", "/tmp/x"]).unwrap();
        match cli.into_command() {
            Command::Serve(args) => assert_eq!(args.data_dir.as_deref(), Some(std::path::Path::new("/tmp/x"))),
            other => panic!("expected serve, got {other:?}"),
        }
    }

    #[test]
    fn admin_commands_parse_and_take_the_storage_options() {
        let cli =
            Cli::try_parse_from(["agora", "admin", "--data-dir", "/tmp/d", "create-user", "root", "root@example.com", "--admin"]).unwrap();
        match cli.into_command() {
            Command::Admin(AdminArgs { action: AdminAction::CreateUser { username, admin, .. }, serve }) => {
                assert_eq!((username.as_str(), admin), ("root", true));
                assert_eq!(serve.data_dir.as_deref(), Some(std::path::Path::new("/tmp/d")));
            }
            other => panic!("expected admin create-user, got {other:?}"),
        }
        assert!(Cli::try_parse_from(["agora", "admin", "set-role", "bob", "emperor"]).is_err());
    }

    #[test]
    fn secrets_given_on_the_command_line_never_print() {
        let cli = Cli::try_parse_from([
            "agora",
            "serve",
            "--s3-secret-access-key",
            "hunter2-secret",
            "--smtp-url",
            "smtp://u:hunter2-smtp@x",
            "--session-secret",
            "hunter2-session-secret-hunter2-session",
        ])
        .unwrap();
        assert!(!format!("{cli:?}").contains("hunter2"));
    }

    #[test]
    fn serve_help_names_every_setting_and_its_variable() {
        let mut cmd = Cli::command();
        let serve = cmd.find_subcommand_mut("serve").unwrap();
        let help = serve.render_long_help().to_string();
        for needle in [
            "--addr",
            "AGORA_ADDR",
            "--data-dir",
            "AGORA_DATA_DIR",
            "--site-root",
            "AGORA_SITE_ROOT",
            "--log-format",
            "AGORA_LOG_FORMAT",
            "AGORA_PUBLIC_URL",
            "AGORA_S3_ENDPOINT",
            "AGORA_S3_PUBLIC_ENDPOINT",
            "AGORA_S3_BUCKET",
            "AGORA_S3_REGION",
            "AGORA_S3_ADDR",
            "AGORA_S3_VIRTUAL_HOSTED",
            "AGORA_S3_CORS_ORIGINS",
            "AGORA_S3_UPLOAD_MAX_AGE_HOURS",
            "AGORA_PRESIGN_EXPIRY_SECS",
            "AGORA_SMTP_URL",
            "AGORA_SMTP_FROM",
            "AGORA_SESSION_SECRET",
            "AGORA_SESSION_TTL_MINS",
            "AGORA_MAX_DATASETS_PER_USER",
            "AGORA_MAX_DATASET_BYTES",
            "AGORA_LIVE_STREAMS_PER_USER",
            "AGORA_LIVE_STREAMS",
        ] {
            assert!(help.contains(needle), "`agora serve --help` lacks {needle}:\n{help}");
        }
        assert!(!help.contains("LEPTOS_SITE_ADDR"), "internal variables stay hidden");
    }
}
