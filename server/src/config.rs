//! Validated configuration. Bad settings stop the start with a message that
//! names the setting (flag and variable) and the rule it broke.

use std::net::SocketAddr;
use std::path::PathBuf;

use leptos::config::{Env, LeptosOptions};

pub use crate::cli::LogFormat;
use crate::cli::ServeArgs;

pub const DEFAULT_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_SITE_ROOT: &str = "target/site";
/// Matches `output-name` in the workspace's `[[workspace.metadata.leptos]]`.
pub const OUTPUT_NAME: &str = "agora";

#[derive(Debug, Clone)]
pub struct Config {
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    pub site_root: PathBuf,
    pub log_format: LogFormat,
    /// `cargo leptos watch` runs the server in DEV mode (live reload).
    pub dev_mode: bool,
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
        Ok(Config { addr, data_dir, site_root, log_format: args.log_format, dev_mode })
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
        let args = ServeArgs {
            leptos_site_addr: Some("127.0.0.1:3999".into()),
            leptos_env: Some("DEV".into()),
            ..ServeArgs::default()
        };
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
    fn leptos_options_follow_the_config() {
        let config = Config::from_args(ServeArgs { addr: Some("127.0.0.1:4321".into()), ..ServeArgs::default() }).unwrap();
        let options = config.leptos_options();
        assert_eq!(&*options.output_name, OUTPUT_NAME);
        assert_eq!(options.site_addr.port(), 4321);
        assert_eq!(&*options.site_pkg_dir, "pkg");
    }
}
