//! Light and dark theme: follows `prefers-color-scheme` until a person picks
//! one; the choice persists in a cookie so the server renders it on the first
//! byte (no flash of the wrong theme).

use agora_model::theme::{Theme, THEME_COOKIE};
use codee::string::FromToStringCodec;
use leptos::prelude::*;
use leptos_icons::Icon;
use leptos_meta::Html;
use leptos_use::{use_cookie_with_options, SameSite, UseCookieOptions};

/// One year, in milliseconds (leptos-use's unit for `max_age`).
const ONE_YEAR_MS: i64 = 365 * 24 * 60 * 60 * 1000;

#[derive(Clone, Copy)]
pub struct ThemeState {
    theme: Signal<Theme>,
    set: WriteSignal<Option<Theme>>,
}

pub fn provide_theme() {
    let (cookie, set) = use_cookie_with_options::<Theme, FromToStringCodec>(
        THEME_COOKIE,
        UseCookieOptions::default().path("/").max_age(ONE_YEAR_MS).same_site(SameSite::Lax),
    );
    let theme = Signal::derive(move || cookie.get().unwrap_or_default());
    provide_context(ThemeState { theme, set });
}

pub fn use_theme() -> ThemeState {
    expect_context::<ThemeState>()
}

impl ThemeState {
    pub fn current(&self) -> Theme {
        self.theme.get()
    }

    /// Switches to `theme` and remembers it in the cookie.
    pub fn choose(&self, theme: Theme) {
        self.set.set(Some(theme));
    }
}

/// Puts the chosen theme on `<html data-theme=…>`; the stylesheet does the rest.
#[component]
pub fn ThemeRoot() -> impl IntoView {
    let ThemeState { theme, .. } = use_theme();
    view! { <Html {..} lang="en" data-theme=move || theme.get().as_str() /> }
}

/// Cycles System → Light → Dark. Works only once the page has hydrated.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    let ThemeState { theme, set } = use_theme();
    let icon = move || match theme.get() {
        Theme::System => icondata::LuSunMoon,
        Theme::Light => icondata::LuSun,
        Theme::Dark => icondata::LuMoon,
    };
    view! {
        <button
            type="button"
            class="icon-button"
            data-testid="theme-toggle"
            data-theme-choice=move || theme.get().as_str()
            title=move || theme.get().label()
            aria-label=move || format!("{} (click to change)", theme.get().label())
            on:click=move |_| set.set(Some(theme.get_untracked().next()))
        >
            <Icon icon=Signal::derive(icon) />
        </button>
    }
}
