//! Log in, with a way out for an unverified address or a lost password.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::api::account::{Login, ResendVerification};
use crate::components::form::{error_besides, error_for, ErrorAlert, Field, FormError, Notice};
use crate::session::use_session;
use crate::theme::use_theme;

/// Where to go after logging in: a local path only, never another site.
pub fn safe_next(next: Option<String>) -> String {
    match next {
        Some(path) if path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') => path,
        _ => "/".into(),
    }
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let session = use_session();
    let theme = use_theme();
    let login = ServerAction::<Login>::new();
    let resend = ServerAction::<ResendVerification>::new();
    let query = use_query_map();
    let username = RwSignal::new(String::new());
    let result = Signal::from(login.value());

    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(user)) = login.value().get() {
            theme.choose(user.preferences.theme);
            session.refresh();
            navigate(&safe_next(query.get_untracked().get("next")), Default::default());
        }
    });
    let unverified = move || matches!(login.value().get(), Some(Err(e)) if e.field.as_deref() == Some("email_verified"));

    view! {
        <Title text="Log in" />
        <section class="card auth-card">
            <h1>"Log in"</h1>
            <ActionForm action=login attr:class="form" attr:data-testid="login-form">
                <Field label="Username" name="username" autocomplete="username" bind=username required=true autofocus=true />
                <Field label="Password" name="password" kind="password" autocomplete="current-password" required=true />
                <FormError error=error_besides(result, &["email_verified"]) />
                {move || unverified().then(|| view! {
                    <div class="alert alert-warn" role="alert" data-testid="unverified">
                        <p>{error_for(result, "email_verified").get()}</p>
                        <button
                            type="button"
                            class="button button-small"
                            data-testid="resend-verification"
                            disabled=move || resend.pending().get()
                            on:click=move |_| { resend.dispatch(ResendVerification { account: username.get_untracked() }); }
                        >
                            "Send the link again"
                        </button>
                    </div>
                })}
                {move || matches!(resend.value().get(), Some(Ok(()))).then(|| view! {
                    <Notice>"A new link is on its way. It is valid for 24 hours."</Notice>
                })}
                {move || match resend.value().get() {
                    Some(Err(err)) => Some(view! { <ErrorAlert error=err /> }),
                    _ => None,
                }}
                <button type="submit" class="button button-primary" data-testid="login-submit" disabled=move || login.pending().get()>
                    {move || if login.pending().get() { "Logging in…" } else { "Log in" }}
                </button>
            </ActionForm>
            <p class="auth-links">
                <A href="/forgot-password">"Forgot your password?"</A>
                <span aria-hidden="true">" · "</span>
                "New here? "
                <A href="/register" attr:data-testid="register-link">"Create an account"</A>
            </p>
        </section>
    }
}
