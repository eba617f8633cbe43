//! The pages mailed links open: verify an address, reset a password; and the
//! page that asks for a reset link.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::api::account::{RequestPasswordReset, ResetPassword, VerifyEmail};
use crate::components::form::{error_besides, error_for, Field, FormError, Notice};
use crate::components::loading::Loading;
use crate::session::use_session;

fn token_from_query() -> Signal<String> {
    let query = use_query_map();
    Signal::derive(move || query.read().get("token").unwrap_or_default())
}

/// Verifies as soon as the page is interactive. The link itself is a GET and
/// changes nothing: the verification is a POST from the page (so mail
/// scanners that fetch links do not verify), with a button as fallback.
#[component]
pub fn VerifyEmailPage() -> impl IntoView {
    let token = token_from_query();
    let verify = ServerAction::<VerifyEmail>::new();
    let session = use_session();
    Effect::new(move |_| {
        if !token.get().is_empty() && verify.version().get_untracked() == 0 {
            verify.dispatch(VerifyEmail { token: token.get_untracked() });
        }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = verify.value().get() {
            session.refresh();
        }
    });
    view! {
        <Title text="Verify your email address" />
        <section class="card auth-card" data-testid="verify-email">
            <h1>"Verify your email address"</h1>
            {move || match verify.value().get() {
                Some(Ok(user)) => view! {
                    <Notice>"Thank you — " <strong>{user.email}</strong> " is verified."</Notice>
                    <p><A href="/login" attr:class="button button-primary" attr:data-testid="verified-login">"Log in"</A></p>
                }
                .into_any(),
                Some(Err(err)) => view! {
                    <div class="alert alert-error" role="alert" data-testid="form-error">{err.message}</div>
                    <p>"You can ask for a new link from the " <A href="/login">"log-in page"</A> "."</p>
                }
                .into_any(),
                None if token.get().is_empty() => view! {
                    <div class="alert alert-error" role="alert">"This link has no token. Copy the whole link from the mail."</div>
                }
                .into_any(),
                None => view! {
                    <ActionForm action=verify attr:class="form">
                        <input type="hidden" name="token" prop:value=move || token.get() />
                        <Loading label="Verifying…" />
                        <noscript><button type="submit" class="button button-primary">"Verify"</button></noscript>
                    </ActionForm>
                }
                .into_any(),
            }}
        </section>
    }
}

#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let request = ServerAction::<RequestPasswordReset>::new();
    let result = Signal::from(request.value());
    view! {
        <Title text="Forgot your password" />
        <section class="card auth-card">
            <h1>"Forgot your password?"</h1>
            <p class="muted">"Give your username or email address; we will mail you a link to choose a new password."</p>
            <ActionForm action=request attr:class="form" attr:data-testid="forgot-form">
                <Field label="Username or email" name="account" autocomplete="username" required=true autofocus=true
                    error=error_for(result, "account") />
                <FormError error=error_besides(result, &["account"]) />
                {move || matches!(request.value().get(), Some(Ok(()))).then(|| view! {
                    <Notice>"If an account matches, a link is on its way. It is valid for one hour."</Notice>
                })}
                <button type="submit" class="button button-primary" disabled=move || request.pending().get()>"Send the link"</button>
            </ActionForm>
        </section>
    }
}

#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let token = token_from_query();
    let reset = ServerAction::<ResetPassword>::new();
    let result = Signal::from(reset.value());
    view! {
        <Title text="Choose a new password" />
        <section class="card auth-card">
            <h1>"Choose a new password"</h1>
            {move || match reset.value().get() {
                Some(Ok(user)) => view! {
                    <Notice>"Done, " {user.username} ". Every earlier session has ended; log in with your new password."</Notice>
                    <p><A href="/login" attr:class="button button-primary">"Log in"</A></p>
                }
                .into_any(),
                _ => view! {
                    <ActionForm action=reset attr:class="form" attr:data-testid="reset-form">
                        <input type="hidden" name="token" prop:value=move || token.get() />
                        <Field label="New password" name="new_password" kind="password" autocomplete="new-password" required=true
                            autofocus=true hint="At least 10 characters, and not your username" error=error_for(result, "new_password") />
                        <FormError error=error_besides(result, &["new_password"]) />
                        <button type="submit" class="button button-primary" disabled=move || reset.pending().get()>"Set password"</button>
                    </ActionForm>
                }
                .into_any(),
            }}
        </section>
    }
}
