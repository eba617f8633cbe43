//! The colour theme a person picked: follow the system, or always light/dark.
//!
//! Stored in the `agora_theme` cookie so the server renders the right theme on
//! the first byte (no flash), and read by the browser to toggle it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Name of the cookie that remembers the theme.
pub const THEME_COOKIE: &str = "agora_theme";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Theme {
    /// Follow `prefers-color-scheme`.
    #[default]
    System,
    Light,
    Dark,
}

impl Theme {
    /// The next theme when the toggle is pressed: System → Light → Dark → System.
    pub const fn next(self) -> Theme {
        match self {
            Theme::System => Theme::Light,
            Theme::Light => Theme::Dark,
            Theme::Dark => Theme::System,
        }
    }

    pub const fn as_str(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    /// What a person reads on the toggle.
    pub const fn label(self) -> &'static str {
        match self {
            Theme::System => "Theme: follows your system",
            Theme::Light => "Theme: light",
            Theme::Dark => "Theme: dark",
        }
    }
}

impl fmt::Display for Theme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Theme {
    type Err = ();

    /// Anything unknown is an error; callers fall back to [`Theme::System`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "system" => Ok(Theme::System),
            "light" => Ok(Theme::Light),
            "dark" => Ok(Theme::Dark),
            _ => Err(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toggle_cycles_through_all_three() {
        let mut t = Theme::System;
        let mut seen = vec![];
        for _ in 0..3 {
            seen.push(t);
            t = t.next();
        }
        assert_eq!(t, Theme::System);
        assert_eq!(seen, [Theme::System, Theme::Light, Theme::Dark]);
    }

    #[test]
    fn parses_what_it_prints_and_rejects_the_rest() {
        for t in [Theme::System, Theme::Light, Theme::Dark] {
            assert_eq!(t.as_str().parse::<Theme>(), Ok(t));
        }
        assert!("Dark".parse::<Theme>().is_err());
        assert!("".parse::<Theme>().is_err());
    }
}
