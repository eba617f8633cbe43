//! Account settings: profile, preferences, password, sessions, deletion.

use agora_model::accounts::{Preferences, ProfileChange, UserView};
use agora_model::theme::Theme;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use crate::api::account::{update_profile, ChangePassword, DeleteAccount, LogOutElsewhere, ResendVerification};
use crate::components::form::{error_besides, error_for, ErrorAlert, Field, FormError, Notice};
use crate::session::{use_session, SignedIn};
use crate::theme::use_theme;

#[component]
pub fn SettingsPage() -> impl IntoView {
    view! {
        <Title text="Settings" />
        <div class="page-header">
            <h1>"Settings"</h1>
            <A href="/settings/keys" attr:class="button" attr:data-testid="api-keys-link">"API keys"</A>
        </div>
        <SignedIn children=|user: UserView| view! {
            <div class="settings">
                <ProfileSection user=user.clone() />
                <PreferencesSection preferences=user.preferences />
                <PasswordSection />
                <SessionsSection />
                <DeleteSection />
            </div>
        } />
    }
}

#[component]
fn ProfileSection(user: UserView) -> impl IntoView {
    let session = use_session();
    let username = RwSignal::new(user.username.clone());
    let email = RwSignal::new(user.email.clone());
    let current_password = RwSignal::new(String::new());
    let original_email = user.email.clone();
    let email_changes = move || !email.get().trim().eq_ignore_ascii_case(original_email.trim());
    let save = Action::new(move |change: &ProfileChange| update_profile(change.clone()));
    let resend = ServerAction::<ResendVerification>::new();
    let result = Signal::from(save.value());
    Effect::new(move |_| {
        if let Some(Ok(_)) = save.value().get() {
            session.refresh();
        }
    });
    let pending_email = {
        let initial = user.pending_email.clone();
        move || match save.value().get() {
            Some(Ok(user)) => user.pending_email,
            _ => initial.clone(),
        }
    };
    let account = user.username.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let password = current_password.get_untracked();
        save.dispatch(ProfileChange {
            username: Some(username.get_untracked()),
            email: Some(email.get_untracked()),
            preferences: None,
            current_password: (!password.is_empty()).then_some(password),
        });
    };
    view! {
        <section class="card settings-section" aria-labelledby="profile-heading">
            <h2 id="profile-heading">"Profile"</h2>
            <form class="form" on:submit=on_submit data-testid="profile-form">
                <Field label="Username" name="username" autocomplete="username" bind=username error=error_for(result, "username") />
                <Field label="Email" name="email" kind="email" autocomplete="email" bind=email error=error_for(result, "email")
                    hint="A new address is used once you open the link we mail to it." />
                <Show when=email_changes.clone()>
                    <Field label="Your password, to change the address" name="current_password" kind="password" autocomplete="current-password"
                        bind=current_password error=error_for(result, "current_password") required=true />
                </Show>
                {move || pending_email().map(|pending| {
                    let account = account.clone();
                    view! {
                        <div class="alert alert-warn" role="status" data-testid="pending-email">
                            "Waiting for you to open the link sent to " <strong>{pending}</strong> ". "
                            <button type="button" class="button button-small"
                                on:click=move |_| { resend.dispatch(ResendVerification { account: account.clone() }); }>
                                "Send it again"
                            </button>
                        </div>
                    }
                })}
                <FormError error=error_besides(result, &["username", "email", "current_password"]) />
                {move || matches!(save.value().get(), Some(Ok(_))).then(|| view! { <Notice>"Saved."</Notice> })}
                <button type="submit" class="button button-primary" data-testid="profile-save" disabled=move || save.pending().get()>"Save profile"</button>
            </form>
        </section>
    }
}

#[component]
fn PreferencesSection(preferences: Preferences) -> impl IntoView {
    let theme_state = use_theme();
    let current = RwSignal::new(preferences);
    let save = Action::new(move |preferences: &Preferences| {
        update_profile(ProfileChange { preferences: Some(*preferences), ..Default::default() })
    });
    // One save in flight at a time, each carrying the latest state: two
    // quick changes sent at once could land out of order and the older one
    // would win.
    let dirty = RwSignal::new(false);
    let save_latest = move || {
        dirty.set(false);
        save.dispatch(current.get_untracked());
    };
    Effect::new(move |_| {
        if !save.pending().get() && dirty.get_untracked() {
            save_latest();
        }
    });
    let set = move |change: &dyn Fn(&mut Preferences)| {
        current.update(|p| change(p));
        if save.pending().get_untracked() {
            dirty.set(true);
        } else {
            save_latest();
        }
    };
    view! {
        <section class="card settings-section" aria-labelledby="preferences-heading">
            <h2 id="preferences-heading">"Preferences"</h2>
            <p class="muted">"Saved with your account, so they follow you to other devices."</p>
            <div class="form">
                <div class="field">
                    <label for="pref-theme">"Theme"</label>
                    <select id="pref-theme" data-testid="pref-theme"
                        on:change=move |ev| {
                            let theme = event_target_value(&ev).parse::<Theme>().unwrap_or_default();
                            theme_state.choose(theme);
                            set(&|p| p.theme = theme);
                        }>
                        {[Theme::System, Theme::Light, Theme::Dark].into_iter().map(|t| view! {
                            <option value=t.as_str() selected=move || current.get().theme == t>{theme_name(t)}</option>
                        }).collect_view()}
                    </select>
                </div>
                <label class="checkbox">
                    <input type="checkbox" data-testid="pref-sound" prop:checked=move || current.get().upload_sound
                        on:change=move |ev| { let on = event_target_checked(&ev); set(&|p| p.upload_sound = on); } />
                    " Play a sound when an upload finishes"
                </label>
                {move || match save.value().get() {
                    _ if save.pending().get() || dirty.get() => Some(view! { <p class="muted" role="status">"Saving…"</p> }.into_any()),
                    Some(Err(err)) => Some(view! { <ErrorAlert error=err /> }.into_any()),
                    Some(Ok(_)) => Some(view! { <p class="muted" role="status" data-testid="preferences-saved">"Saved."</p> }.into_any()),
                    None => None,
                }}
            </div>
        </section>
    }
}

fn theme_name(theme: Theme) -> &'static str {
    match theme {
        Theme::System => "Follow the system",
        Theme::Light => "Light",
        Theme::Dark => "Dark",
    }
}

#[component]
fn PasswordSection() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let result = Signal::from(change.value());
    view! {
        <section class="card settings-section" aria-labelledby="password-heading">
            <h2 id="password-heading">"Password"</h2>
            <ActionForm action=change attr:class="form" attr:data-testid="password-form">
                <Field label="Current password" name="current_password" kind="password" autocomplete="current-password" required=true
                    error=error_for(result, "current_password") />
                <Field label="New password" name="new_password" kind="password" autocomplete="new-password" required=true
                    hint="At least 10 characters, and not your username" error=error_for(result, "new_password") />
                <FormError error=error_besides(result, &["current_password", "new_password"]) />
                {move || matches!(change.value().get(), Some(Ok(_))).then(|| view! {
                    <Notice>"Password changed. Other devices have been logged out."</Notice>
                })}
                <button type="submit" class="button button-primary" data-testid="password-save" disabled=move || change.pending().get()>"Change password"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn SessionsSection() -> impl IntoView {
    let elsewhere = ServerAction::<LogOutElsewhere>::new();
    view! {
        <section class="card settings-section" aria-labelledby="sessions-heading">
            <h2 id="sessions-heading">"Sessions"</h2>
            <p class="muted">"Lost a device, or logged in somewhere you shouldn't have? End every session but this one."</p>
            <ActionForm action=elsewhere attr:class="form">
                {move || match elsewhere.value().get() {
                    Some(Ok(())) => Some(view! { <Notice>"Every other session has ended."</Notice> }.into_any()),
                    Some(Err(err)) => Some(view! { <ErrorAlert error=err /> }.into_any()),
                    None => None,
                }}
                <button type="submit" class="button" data-testid="log-out-elsewhere">"Log out everywhere else"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn DeleteSection() -> impl IntoView {
    let delete = ServerAction::<DeleteAccount>::new();
    let result = Signal::from(delete.value());
    let session = use_session();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(job)) = delete.value().get() {
            session.refresh();
            navigate(&format!("/goodbye?job={}", job.id), Default::default());
        }
    });
    view! {
        <section class="card settings-section danger" aria-labelledby="delete-heading">
            <h2 id="delete-heading">"Delete account"</h2>
            <details>
                <summary data-testid="delete-open">"Delete my account and everything it owns…"</summary>
                <p>"Your datasets, dashboards, API keys and memberships are removed. This cannot be undone."</p>
                <ActionForm action=delete attr:class="form" attr:data-testid="delete-form">
                    <Field label="Your password, to confirm" name="password" kind="password" autocomplete="current-password" required=true
                        error=error_for(result, "password") />
                    <FormError error=error_besides(result, &["password"]) />
                    <button type="submit" class="button button-danger" data-testid="delete-submit" disabled=move || delete.pending().get()>
                        "Delete my account"
                    </button>
                </ActionForm>
            </details>
        </section>
    }
}
