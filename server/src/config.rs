//! Validated configuration. Bad settings stop the start with a message that
//! names the setting (flag and variable) and the rule it broke.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use agora_core::secret::Secret;
use leptos::config::{Env, LeptosOptions};

pub use crate::cli::LogFormat;
use crate::cli::ServeArgs;

pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_SITE_ROOT: &str = "target/site";
pub const DEFAULT_S3_ADDR: &str = "127.0.0.1:3900";
pub const DEFAULT_BUCKET: &str = "agora";
pub const DEFAULT_REGION: &str = "us-east-1";
pub const DEFAULT_UPLOAD_MAX_AGE_HOURS: u64 = 7 * 24;
pub const DEFAULT_PRESIGN_EXPIRY_SECS: u64 = 15 * 60;
pub const MAX_PRESIGN_EXPIRY_SECS: u64 = 60 * 60;
/// Matches `output-name` in the workspace's `[[workspace.metadata.leptos]]`.
pub const OUTPUT_NAME: &str = "agora";
pub const DEFAULT_SMTP_FROM: &str = "Agora <agora@localhost>";
pub const DEFAULT_SESSION_TTL_MINS: u64 = 120;
pub const DEFAULT_MAX_DATASETS_PER_USER: usize = 100;
pub const DEFAULT_MAX_DATASET_BYTES: u64 = 1 << 40;
const SESSION_TTL_MINS: std::ops::RangeInclusive<u64> = 5..=7 * 24 * 60;
pub const DEFAULT_SESSION_MAX_HOURS: u64 = 7 * 24;
const SESSION_MAX_HOURS: std::ops::RangeInclusive<u64> = 1..=90 * 24;

#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub site_root: PathBuf,
    pub log_format: LogFormat,
    /// `cargo leptos watch` runs the server in DEV mode (live reload).
    pub dev_mode: bool,
    /// Agora's origin as browsers see it, e.g. `http://127.0.0.1:3000`.
    pub public_url: String,
    pub storage: StorageSettings,
    pub auth: AuthSettings,
    /// Datasets one person may own.
    pub max_datasets_per_user: usize,
    /// Bytes one dataset may hold.
    pub max_dataset_bytes: u64,
    /// Files this large are uploaded in parts.
    pub multipart_threshold: u64,
    /// Recording Agora's own requests.
    pub monitor: agora_core::monitoring::MonitorSettings,
    /// Keys that seal stored credentials (`None`: the data directory's file).
    pub sealing_keys: Option<Secret<String>>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: agora_core::client_addr::TrustedProxies,
    /// Inside addresses monitored sources may be fetched from.
    pub monitor_allow: Vec<agora_core::egress::Allowed>,
    /// A running training session without a sign of life this long is stale.
    pub run_stale_after: std::time::Duration,
    /// Bytes of log one training session keeps.
    pub run_log_max_bytes: u64,
    /// Live streams per caller and per node.
    pub live_limits: agora_core::live::LiveLimits,
    /// A dashboard's size limit, the dashboards' storage budget, the schema.
    pub dashboard_limits: agora_core::dashboards::DashboardLimits,
}

/// Accounts: mail and sessions.
#[derive(Debug, Clone)]
pub struct AuthSettings {
    /// `None`: mail goes to the outbox folder.
    pub smtp_url: Option<Secret<String>>,
    pub smtp_from: String,
    /// Outbox mail's links go to the log too.
    pub print_mail_links: bool,
    /// `None`: created once in the bucket.
    pub session_secret: Option<Secret<String>>,
    /// Idle lifetime: renewed while the person is active.
    pub session_ttl: Duration,
    /// Absolute lifetime: from the login, whatever the activity.
    pub session_max: Duration,
}

/// Where the bucket lives.
#[derive(Debug, Clone, PartialEq)]
pub enum StorageMode {
    /// Agora's own S3-compatible endpoint, listening on this address.
    Embedded { addr: SocketAddr },
    /// Any S3 with object tagging; static credentials if configured,
    /// otherwise the standard AWS chain.
    External { endpoint: String, credentials: Option<(String, Secret<String>)> },
}

#[derive(Debug, Clone)]
pub struct StorageSettings {
    pub mode: StorageMode,
    pub public_endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    pub path_style: bool,
    /// Browser origins allowed to call the embedded endpoint.
    pub cors_origins: Vec<String>,
    pub upload_max_age: Duration,
    pub presign_expiry: Duration,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid setting {setting}: {message}")]
pub struct ConfigError {
    /// `--flag / AGORA_VAR`, as a person would look it up.
    pub setting: &'static str,
    pub message: String,
}

impl Config {
    pub fn from_args(args: ServeArgs) -> Result<Self, ConfigError> {
        let storage_args = args.clone();
        let addr_text = args.addr.or(args.leptos_site_addr).unwrap_or_else(|| DEFAULT_ADDR.into());
        let addr = addr_text.trim().parse::<SocketAddr>().map_err(|_| ConfigError {
            setting: "--addr / AGORA_ADDR",
            message: format!("{addr_text:?} is not a socket address; expected HOST:PORT such as 127.0.0.1:3000 or [::1]:3000"),
        })?;

        let data_dir = args.data_dir.unwrap_or_else(|| DEFAULT_DATA_DIR.into());
        if data_dir.as_os_str().is_empty() {
            return Err(ConfigError { setting: "--data-dir / AGORA_DATA_DIR", message: "must not be empty".into() });
        }
        if data_dir.exists() && !data_dir.is_dir() {
            return Err(ConfigError {
                setting: "--data-dir / AGORA_DATA_DIR",
                message: format!("{} exists and is not a directory", data_dir.display()),
            });
        }

        let site_root = args.site_root.or(args.leptos_site_root).unwrap_or_else(|| DEFAULT_SITE_ROOT.into());
        if site_root.exists() && !site_root.is_dir() {
            return Err(ConfigError {
                setting: "--site-root / AGORA_SITE_ROOT",
                message: format!("{} exists and is not a directory", site_root.display()),
            });
        }

        let dev_mode = args.leptos_env.as_deref().is_some_and(|env| env.eq_ignore_ascii_case("dev"));
        let public_url = match args.public_url {
            Some(url) => origin_of(&url).ok_or_else(|| ConfigError {
                setting: "--public-url / AGORA_PUBLIC_URL",
                message: format!("{url:?} is not an http(s) URL such as https://agora.example.com"),
            })?,
            None => format!("http://{addr}"),
        };
        let storage = storage_settings(&args_storage(&storage_args), &public_url)?;
        let auth = auth_settings(&storage_args)?;
        let max_datasets_per_user = args.max_datasets_per_user.unwrap_or(DEFAULT_MAX_DATASETS_PER_USER);
        if max_datasets_per_user == 0 {
            return Err(ConfigError {
                setting: "--max-datasets-per-user / AGORA_MAX_DATASETS_PER_USER",
                message: "must be at least 1".into(),
            });
        }
        let max_dataset_bytes = args.max_dataset_bytes.unwrap_or(DEFAULT_MAX_DATASET_BYTES);
        if max_dataset_bytes == 0 {
            return Err(ConfigError { setting: "--max-dataset-bytes / AGORA_MAX_DATASET_BYTES", message: "must be at least 1".into() });
        }
        let multipart_threshold = args.multipart_threshold.unwrap_or(agora_model::files::DEFAULT_MULTIPART_THRESHOLD);
        if !(1..=agora_model::files::SINGLE_PUT_MAX_BYTES).contains(&multipart_threshold) {
            return Err(ConfigError {
                setting: "--multipart-threshold / AGORA_MULTIPART_THRESHOLD",
                message: "must be 1 to 5368709120 bytes (a single PUT carries at most 5 GiB)".into(),
            });
        }
        let max_dashboard_bytes = args.max_dashboard_bytes.unwrap_or(agora_core::dashboards::DEFAULT_MAX_BYTES);
        if max_dashboard_bytes < 1024 {
            return Err(ConfigError {
                setting: "--max-dashboard-bytes / AGORA_MAX_DASHBOARD_BYTES",
                message: "must be at least 1024".into(),
            });
        }
        let budget = agora_core::dashboards::budget::Budget::new(
            args.dashboard_budget_bytes.unwrap_or(agora_core::dashboards::budget::DEFAULT_BUDGET),
            args.dashboard_evict_at_percent.unwrap_or(agora_core::dashboards::budget::DEFAULT_EVICT_AT_PERCENT),
            args.dashboard_target_percent.unwrap_or(agora_core::dashboards::budget::DEFAULT_TARGET_PERCENT),
            args.dashboard_user_budget_bytes,
        )
        .map_err(|message| ConfigError {
            setting: "AGORA_DASHBOARD_BUDGET_BYTES / AGORA_DASHBOARD_EVICT_AT_PERCENT / AGORA_DASHBOARD_TARGET_PERCENT / AGORA_DASHBOARD_USER_BUDGET_BYTES",
            message,
        })?;
        let schema = agora_core::dashboards::document_schema::DocumentSchema::load(args.dashboard_schema.as_deref())
            .map_err(|message| ConfigError { setting: "--dashboard-schema / AGORA_DASHBOARD_SCHEMA", message })?;
        let dashboard_limits = agora_core::dashboards::DashboardLimits { max_bytes: max_dashboard_bytes, budget, schema };
        let flush_ms = args.monitor_flush_ms.unwrap_or(5000);
        if !(100..=60_000).contains(&flush_ms) {
            return Err(ConfigError { setting: "--monitor-flush-ms / AGORA_MONITOR_FLUSH_MS", message: "must be 100 to 60000".into() });
        }
        let retention_days = args.monitor_retention_days.unwrap_or(30);
        if !(1..=3650).contains(&retention_days) {
            return Err(ConfigError {
                setting: "--monitor-retention-days / AGORA_MONITOR_RETENTION_DAYS",
                message: "must be 1 to 3650".into(),
            });
        }
        let fetch_secs = args.monitor_fetch_secs.unwrap_or(60);
        if !(1..=3600).contains(&fetch_secs) {
            return Err(ConfigError { setting: "--monitor-fetch-secs / AGORA_MONITOR_FETCH_SECS", message: "must be 1 to 3600".into() });
        }
        let sealing_keys = args.sealing_keys.clone();
        if let Some(keys) = &sealing_keys {
            agora_core::sealing::SealingKeys::parse(keys.expose())
                .map_err(|message| ConfigError { setting: "--sealing-keys / AGORA_SEALING_KEYS", message })?;
        }
        let monitor_allow = agora_core::egress::policy::parse_allowed(args.monitor_allow.as_deref().unwrap_or_default())
            .map_err(|message| ConfigError { setting: "--monitor-allow / AGORA_MONITOR_ALLOW", message })?;
        let trusted_proxies = agora_core::client_addr::TrustedProxies::parse(args.trusted_proxies.as_deref().unwrap_or_default())
            .map_err(|message| ConfigError { setting: "--trusted-proxies / AGORA_TRUSTED_PROXIES", message })?;
        let monitor = agora_core::monitoring::MonitorSettings {
            fetch_every: std::time::Duration::from_secs(fetch_secs),
            flush_every: std::time::Duration::from_millis(flush_ms),
            retention: std::time::Duration::from_secs(retention_days * 86_400),
            anonymize_ips: args.monitor_anonymize_ips,
            enabled: !args.monitor_off,
        };
        let run_stale_secs = args.run_stale_secs.unwrap_or(agora_core::datasets::runs::DEFAULT_STALE_AFTER.as_secs());
        if !(10..=604_800).contains(&run_stale_secs) {
            return Err(ConfigError { setting: "--run-stale-secs / AGORA_RUN_STALE_SECS", message: "must be 10 to 604800 seconds".into() });
        }
        let run_log_max_bytes = args.run_log_max_bytes.unwrap_or(agora_core::datasets::runs::DEFAULT_LOG_MAX_BYTES);
        if run_log_max_bytes < 1024 {
            return Err(ConfigError { setting: "--run-log-max-bytes / AGORA_RUN_LOG_MAX_BYTES", message: "must be at least 1024".into() });
        }
        let defaults = agora_core::live::LiveLimits::default();
        let live_limits = agora_core::live::LiveLimits {
            per_caller: args.live_streams_per_user.unwrap_or(defaults.per_caller),
            per_node: args.live_streams.unwrap_or(defaults.per_node),
        };
        if !(1..=10_000).contains(&live_limits.per_caller) {
            return Err(ConfigError {
                setting: "--live-streams-per-user / AGORA_LIVE_STREAMS_PER_USER",
                message: "must be 1 to 10000".into(),
            });
        }
        if !(1..=1_000_000).contains(&live_limits.per_node) {
            return Err(ConfigError { setting: "--live-streams / AGORA_LIVE_STREAMS", message: "must be 1 to 1000000".into() });
        }
        Ok(Config {
            addr,
            data_dir,
            site_root,
            log_format: args.log_format,
            dev_mode,
            public_url,
            storage,
            auth,
            max_datasets_per_user,
            max_dataset_bytes,
            multipart_threshold,
            dashboard_limits,
            monitor,
            monitor_allow,
            trusted_proxies,
            sealing_keys,
            run_stale_after: std::time::Duration::from_secs(run_stale_secs),
            run_log_max_bytes,
            live_limits,
        })
    }

    /// The embedded endpoint's files live here.
    pub fn s3_dir(&self) -> PathBuf {
        self.data_dir.join("s3")
    }

    /// Leptos's own options, derived from ours (so Agora never needs a
    /// Cargo.toml at run time).
    pub fn leptos_options(&self) -> LeptosOptions {
        LeptosOptions::builder()
            .output_name(OUTPUT_NAME)
            .site_root(self.site_root.to_string_lossy().as_ref())
            .site_pkg_dir("pkg")
            .site_addr(self.addr)
            .env(if self.dev_mode { Env::DEV } else { Env::PROD })
            .build()
    }

    /// Whether the compiled front end is where we serve it from. Without it
    /// pages still render, but never hydrate.
    pub fn site_is_built(&self) -> bool {
        self.site_root.join("pkg").join(format!("{OUTPUT_NAME}.js")).is_file()
    }
}

fn auth_settings(args: &ServeArgs) -> Result<AuthSettings, ConfigError> {
    let smtp_from = args.smtp_from.clone().unwrap_or_else(|| DEFAULT_SMTP_FROM.into());
    if !smtp_from.contains('@') {
        return Err(ConfigError {
            setting: "--smtp-from / AGORA_SMTP_FROM",
            message: format!("{smtp_from:?} is not a mailbox such as \"Agora <agora@example.com>\""),
        });
    }
    if let Some(url) = &args.smtp_url {
        let scheme_ok = url.expose().starts_with("smtp://") || url.expose().starts_with("smtps://");
        if !scheme_ok {
            return Err(ConfigError {
                setting: "--smtp-url / AGORA_SMTP_URL",
                message: "must start with smtp:// or smtps://, e.g. smtp://user:pass@mail.example.com:587?tls=required".into(),
            });
        }
    }
    if let Some(secret) = &args.session_secret {
        if secret.expose().len() < agora_core::auth::token::MIN_SECRET_BYTES {
            return Err(ConfigError {
                setting: "--session-secret / AGORA_SESSION_SECRET",
                message: format!("must be at least {} bytes long", agora_core::auth::token::MIN_SECRET_BYTES),
            });
        }
    }
    let mins = args.session_ttl_mins.unwrap_or(DEFAULT_SESSION_TTL_MINS);
    if !SESSION_TTL_MINS.contains(&mins) {
        return Err(ConfigError {
            setting: "--session-ttl-mins / AGORA_SESSION_TTL_MINS",
            message: format!("{mins} is outside {} to {} minutes", SESSION_TTL_MINS.start(), SESSION_TTL_MINS.end()),
        });
    }
    let max_hours = args.session_max_hours.unwrap_or(DEFAULT_SESSION_MAX_HOURS);
    let max_setting = "--session-max-hours / AGORA_SESSION_MAX_HOURS";
    if !SESSION_MAX_HOURS.contains(&max_hours) {
        return Err(ConfigError {
            setting: max_setting,
            message: format!("{max_hours} is outside {} to {} hours", SESSION_MAX_HOURS.start(), SESSION_MAX_HOURS.end()),
        });
    }
    if max_hours * 60 < mins {
        return Err(ConfigError {
            setting: max_setting,
            message: format!("{max_hours} hours is shorter than the idle lifetime ({mins} minutes, --session-ttl-mins)"),
        });
    }
    Ok(AuthSettings {
        smtp_url: args.smtp_url.clone(),
        smtp_from,
        print_mail_links: args.print_mail_links,
        session_secret: args.session_secret.clone(),
        session_ttl: Duration::from_secs(mins * 60),
        session_max: Duration::from_secs(max_hours * 3600),
    })
}

/// The storage part of the arguments, borrowed.
struct StorageArgs<'a> {
    endpoint: Option<&'a str>,
    access_key_id: Option<&'a str>,
    secret_access_key: Option<&'a Secret<String>>,
    public_endpoint: Option<&'a str>,
    bucket: Option<&'a str>,
    region: Option<&'a str>,
    addr: Option<&'a str>,
    virtual_hosted: Option<bool>,
    cors_origins: &'a [String],
    upload_max_age_hours: Option<u64>,
    presign_expiry_secs: Option<u64>,
}

fn args_storage(args: &ServeArgs) -> StorageArgs<'_> {
    StorageArgs {
        endpoint: args.s3_endpoint.as_deref(),
        access_key_id: args.s3_access_key_id.as_deref(),
        secret_access_key: args.s3_secret_access_key.as_ref(),
        public_endpoint: args.s3_public_endpoint.as_deref(),
        bucket: args.s3_bucket.as_deref(),
        region: args.s3_region.as_deref(),
        addr: args.s3_addr.as_deref(),
        virtual_hosted: args.s3_virtual_hosted,
        cors_origins: &args.s3_cors_origins,
        upload_max_age_hours: args.s3_upload_max_age_hours,
        presign_expiry_secs: args.presign_expiry_secs,
    }
}

fn storage_settings(args: &StorageArgs<'_>, public_url: &str) -> Result<StorageSettings, ConfigError> {
    let url_setting = |setting: &'static str, value: &str| {
        origin_of(value)
            .map(|_| value.trim_end_matches('/').to_owned())
            .ok_or_else(|| ConfigError { setting, message: format!("{value:?} is not an http(s) URL such as http://127.0.0.1:9000") })
    };
    let mode = match args.endpoint {
        Some(endpoint) => {
            let credentials = match (args.access_key_id, args.secret_access_key) {
                (Some(key), Some(secret)) => Some((key.to_owned(), secret.clone())),
                (None, None) => None,
                _ => {
                    return Err(ConfigError {
                        setting: "--s3-access-key-id / AGORA_S3_ACCESS_KEY_ID",
                        message: "give both the access key id and the secret access key, or neither (to use the AWS chain)".into(),
                    })
                }
            };
            StorageMode::External { endpoint: url_setting("--s3-endpoint / AGORA_S3_ENDPOINT", endpoint)?, credentials }
        }
        None => {
            let text = args.addr.unwrap_or(DEFAULT_S3_ADDR);
            let addr = text.trim().parse::<SocketAddr>().map_err(|_| ConfigError {
                setting: "--s3-addr / AGORA_S3_ADDR",
                message: format!("{text:?} is not a socket address; expected HOST:PORT such as 127.0.0.1:3900"),
            })?;
            StorageMode::Embedded { addr }
        }
    };
    let public_endpoint = args.public_endpoint.map(|e| url_setting("--s3-public-endpoint / AGORA_S3_PUBLIC_ENDPOINT", e)).transpose()?;

    let bucket = args.bucket.unwrap_or(DEFAULT_BUCKET).to_owned();
    agora_s3d::store::validate_bucket_name(&bucket)
        .map_err(|e| ConfigError { setting: "--s3-bucket / AGORA_S3_BUCKET", message: e.to_string() })?;
    let region = args.region.unwrap_or(DEFAULT_REGION).to_owned();
    if region.is_empty() || !region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(ConfigError {
            setting: "--s3-region / AGORA_S3_REGION",
            message: format!("{region:?} is not a region name such as us-east-1"),
        });
    }

    let mut cors_origins = vec![public_url.to_owned()];
    // Browsers treat 127.0.0.1 and localhost as different origins.
    if let Some(rest) = public_url.strip_prefix("http://127.0.0.1:") {
        cors_origins.push(format!("http://localhost:{rest}"));
    } else if let Some(rest) = public_url.strip_prefix("http://localhost:") {
        cors_origins.push(format!("http://127.0.0.1:{rest}"));
    }
    for origin in args.cors_origins.iter().map(|o| o.trim()).filter(|o| !o.is_empty()) {
        let origin = origin_of(origin).ok_or_else(|| ConfigError {
            setting: "--s3-cors-origins / AGORA_S3_CORS_ORIGINS",
            message: format!("{origin:?} is not an origin such as https://agora.example.com"),
        })?;
        cors_origins.push(origin);
    }

    let hours = args.upload_max_age_hours.unwrap_or(DEFAULT_UPLOAD_MAX_AGE_HOURS);
    if hours == 0 {
        return Err(ConfigError {
            setting: "--s3-upload-max-age-hours / AGORA_S3_UPLOAD_MAX_AGE_HOURS",
            message: "must be at least 1".into(),
        });
    }
    let expiry = args.presign_expiry_secs.unwrap_or(DEFAULT_PRESIGN_EXPIRY_SECS);
    if !(1..=MAX_PRESIGN_EXPIRY_SECS).contains(&expiry) {
        return Err(ConfigError {
            setting: "--presign-expiry-secs / AGORA_PRESIGN_EXPIRY_SECS",
            message: format!("{expiry} is outside 1 to {MAX_PRESIGN_EXPIRY_SECS} seconds"),
        });
    }
    Ok(StorageSettings {
        mode,
        public_endpoint,
        bucket,
        region,
        path_style: !args.virtual_hosted.unwrap_or(false),
        cors_origins,
        upload_max_age: Duration::from_secs(hours * 3600),
        presign_expiry: Duration::from_secs(expiry),
    })
}

/// `scheme://host[:port]` of an http(s) URL, or `None` if it is not one.
fn origin_of(url: &str) -> Option<String> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://")?;
    if !matches!(scheme, "http" | "https") {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next()?;
    if authority.is_empty() || authority.contains('@') || authority.contains(char::is_whitespace) {
        return None;
    }
    Some(format!("{scheme}://{authority}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_embedded_setup() {
        let config = Config::from_args(ServeArgs::default()).unwrap();
        assert_eq!(config.addr.to_string(), DEFAULT_ADDR);
        assert_eq!(config.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(config.site_root, PathBuf::from(DEFAULT_SITE_ROOT));
        assert!(!config.dev_mode);
    }

    #[test]
    fn agora_settings_win_over_cargo_leptos_ones() {
        let args = ServeArgs {
            addr: Some("127.0.0.1:4000".into()),
            leptos_site_addr: Some("127.0.0.1:3000".into()),
            site_root: Some("/srv/site".into()),
            leptos_site_root: Some("target/site".into()),
            ..ServeArgs::default()
        };
        let config = Config::from_args(args).unwrap();
        assert_eq!(config.addr.port(), 4000);
        assert_eq!(config.site_root, PathBuf::from("/srv/site"));
    }

    #[test]
    fn cargo_leptos_settings_fill_in_when_agora_ones_are_absent() {
        let args = ServeArgs { leptos_site_addr: Some("127.0.0.1:3999".into()), leptos_env: Some("DEV".into()), ..ServeArgs::default() };
        let config = Config::from_args(args).unwrap();
        assert_eq!(config.addr.port(), 3999);
        assert!(config.dev_mode);
    }

    #[test]
    fn a_bad_address_names_the_setting_and_the_rule() {
        let err = Config::from_args(ServeArgs { addr: Some("localhost".into()), ..ServeArgs::default() }).unwrap_err();
        assert_eq!(err.setting, "--addr / AGORA_ADDR");
        let text = err.to_string();
        assert!(text.contains("\"localhost\"") && text.contains("HOST:PORT"), "{text}");
    }

    #[test]
    fn a_data_dir_that_is_a_file_is_refused() {
        let file = std::env::temp_dir().join(format!("agora-config-test-{}", std::process::id()));
        std::fs::write(&file, b"x").unwrap();
        let err = Config::from_args(ServeArgs { data_dir: Some(file.clone()), ..ServeArgs::default() }).unwrap_err();
        std::fs::remove_file(&file).unwrap();
        assert_eq!(err.setting, "--data-dir / AGORA_DATA_DIR");
    }

    #[test]
    fn storage_defaults_to_the_embedded_endpoint_with_agoras_origin_allowed() {
        let config = Config::from_args(ServeArgs::default()).unwrap();
        assert_eq!(config.storage.mode, StorageMode::Embedded { addr: DEFAULT_S3_ADDR.parse().unwrap() });
        assert_eq!(config.storage.bucket, "agora");
        assert!(config.storage.path_style);
        assert_eq!(config.storage.cors_origins, ["http://127.0.0.1:3000", "http://localhost:3000"]);
        assert_eq!(config.storage.presign_expiry, Duration::from_secs(900));
    }

    #[test]
    fn external_storage_and_its_settings_are_validated() {
        let args = ServeArgs {
            s3_endpoint: Some("https://s3.example.com/".into()),
            s3_bucket: Some("team-data".into()),
            s3_cors_origins: vec!["https://agora.example.com".into()],
            ..ServeArgs::default()
        };
        let config = Config::from_args(args).unwrap();
        assert_eq!(config.storage.mode, StorageMode::External { endpoint: "https://s3.example.com".into(), credentials: None });
        assert!(config.storage.cors_origins.contains(&"https://agora.example.com".to_string()));

        let cases: Vec<(ServeArgs, &str)> = vec![
            (ServeArgs { s3_endpoint: Some("s3.example.com".into()), ..ServeArgs::default() }, "--s3-endpoint / AGORA_S3_ENDPOINT"),
            (ServeArgs { s3_bucket: Some("Bad_Bucket".into()), ..ServeArgs::default() }, "--s3-bucket / AGORA_S3_BUCKET"),
            (ServeArgs { s3_region: Some("US East".into()), ..ServeArgs::default() }, "--s3-region / AGORA_S3_REGION"),
            (ServeArgs { s3_addr: Some("nowhere".into()), ..ServeArgs::default() }, "--s3-addr / AGORA_S3_ADDR"),
            (ServeArgs { presign_expiry_secs: Some(7200), ..ServeArgs::default() }, "--presign-expiry-secs / AGORA_PRESIGN_EXPIRY_SECS"),
            (ServeArgs { presign_expiry_secs: Some(0), ..ServeArgs::default() }, "--presign-expiry-secs / AGORA_PRESIGN_EXPIRY_SECS"),
            (
                ServeArgs { s3_upload_max_age_hours: Some(0), ..ServeArgs::default() },
                "--s3-upload-max-age-hours / AGORA_S3_UPLOAD_MAX_AGE_HOURS",
            ),
            (ServeArgs { s3_cors_origins: vec!["*".into()], ..ServeArgs::default() }, "--s3-cors-origins / AGORA_S3_CORS_ORIGINS"),
            (ServeArgs { public_url: Some("ftp://x".into()), ..ServeArgs::default() }, "--public-url / AGORA_PUBLIC_URL"),
            (ServeArgs { smtp_from: Some("nobody".into()), ..ServeArgs::default() }, "--smtp-from / AGORA_SMTP_FROM"),
            (ServeArgs { smtp_url: Some(Secret::new("http://x".into())), ..ServeArgs::default() }, "--smtp-url / AGORA_SMTP_URL"),
            (
                ServeArgs { session_secret: Some(Secret::new("short".into())), ..ServeArgs::default() },
                "--session-secret / AGORA_SESSION_SECRET",
            ),
            (ServeArgs { session_ttl_mins: Some(1), ..ServeArgs::default() }, "--session-ttl-mins / AGORA_SESSION_TTL_MINS"),
            (ServeArgs { session_max_hours: Some(0), ..ServeArgs::default() }, "--session-max-hours / AGORA_SESSION_MAX_HOURS"),
            (
                ServeArgs { session_ttl_mins: Some(600), session_max_hours: Some(2), ..ServeArgs::default() },
                "--session-max-hours / AGORA_SESSION_MAX_HOURS",
            ),
            (
                ServeArgs { s3_endpoint: Some("http://minio:9000".into()), s3_access_key_id: Some("k".into()), ..ServeArgs::default() },
                "--s3-access-key-id / AGORA_S3_ACCESS_KEY_ID",
            ),
        ];
        for (args, setting) in cases {
            assert_eq!(Config::from_args(args).unwrap_err().setting, setting);
        }
    }

    #[test]
    fn origins_are_scheme_and_authority() {
        assert_eq!(origin_of("https://a.example.com:8443/x?y").as_deref(), Some("https://a.example.com:8443"));
        assert_eq!(origin_of("http://127.0.0.1:3000").as_deref(), Some("http://127.0.0.1:3000"));
        for bad in ["a.example.com", "ftp://x", "http://", "http://user@host", "javascript:alert(1)"] {
            assert_eq!(origin_of(bad), None, "{bad}");
        }
    }

    #[test]
    fn leptos_options_follow_the_config() {
        let config = Config::from_args(ServeArgs { addr: Some("127.0.0.1:4321".into()), ..ServeArgs::default() }).unwrap();
        let options = config.leptos_options();
        assert_eq!(&*options.output_name, OUTPUT_NAME);
        assert_eq!(options.site_addr.port(), 4321);
        assert_eq!(&*options.site_pkg_dir, "pkg");
    }
}
