//! The command line: `agora <command> [options]`. Every option can also come
//! from an `AGORA_*` environment variable; `--help` on each command lists them.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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
    fn serve_help_names_every_setting_and_its_variable() {
        let mut cmd = Cli::command();
        let serve = cmd.find_subcommand_mut("serve").unwrap();
        let help = serve.render_long_help().to_string();
        for needle in ["--addr", "AGORA_ADDR", "--data-dir", "AGORA_DATA_DIR", "--site-root", "AGORA_SITE_ROOT", "--log-format", "AGORA_LOG_FORMAT"] {
            assert!(help.contains(needle), "`agora serve --help` lacks {needle}:\n{help}");
        }
        assert!(!help.contains("LEPTOS_SITE_ADDR"), "internal variables stay hidden");
    }
}
