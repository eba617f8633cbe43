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
    fn secrets_given_on_the_command_line_never_print() {
        let cli = Cli::try_parse_from(["agora", "serve", "--s3-secret-access-key", "hunter2-secret"]).unwrap();
        assert!(!format!("{cli:?}").contains("hunter2-secret"));
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
        ] {
            assert!(help.contains(needle), "`agora serve --help` lacks {needle}:\n{help}");
        }
        assert!(!help.contains("LEPTOS_SITE_ADDR"), "internal variables stay hidden");
    }
}
