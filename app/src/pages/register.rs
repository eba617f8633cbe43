//! Registration, with the account rules checked as you type and the same
//! rules enforced by the server.

use agora_model::accounts::{normalize_email, normalize_username, validate_password, Role};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::account::{awaits_first_admin, Register, ResendVerification};
use crate::components::form::{error_besides, error_for, Field, FormError, Notice};

#[component]
pub fn RegisterPage() -> impl IntoView {
    let register = ServerAction::<Register>::new();
    let resend = ServerAction::<ResendVerification>::new();
    let result = Signal::from(register.value());
    let username = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    // A hub that never had an administrator asks for the setup code it
    // printed at start; without the code, the account is a regular one.
    let setting_up = OnceResource::new(awaits_first_admin());
    // The form is built once: an error re-renders only the messages, so
    // what was typed (and the form's submit handling) stays.
    let registered = Memo::new(move |_| register.value().get().and_then(Result::ok));

    // Inline checks once something is typed; the server's word wins after a submit.
    let inline = move |value: String, check: &dyn Fn(&str) -> Option<String>| (!value.is_empty()).then(|| check(&value)).flatten();
    let username_error = Signal::derive(move || {
        error_for(result, "username").get().or_else(|| inline(username.get(), &|v| normalize_username(v).err().map(|e| e.message)))
    });
    let email_error = Signal::derive(move || {
        error_for(result, "email").get().or_else(|| inline(email.get(), &|v| normalize_email(v).err().map(|e| e.message)))
    });
    let password_error = Signal::derive(move || {
        let name = username.get();
        error_for(result, "password").get().or_else(|| inline(password.get(), &|v| validate_password(v, &name).err().map(|e| e.message)))
    });

    view! {
        <Title text="Create an account" />
        <section class="card auth-card">
            {move || match registered.get() {
                Some(user) => view! {
                    <div data-testid="registered">
                        <h1>"Check your inbox"</h1>
                        <Notice>
                            "We sent a link to " <strong>{user.email.clone()}</strong>
                            ". Open it within 24 hours to finish setting up your account."
                        </Notice>
                        {(user.role == Role::Admin).then(|| view! {
                            <p data-testid="registered-admin">"The setup code made this account the hub's administrator."</p>
                        })}
                        <p class="muted">
                            "Running Agora without a mail server? The link is in the server's log and in the "
                            <code>"outbox"</code> " folder of its data directory."
                        </p>
                        <p>
                            <button
                                type="button"
                                class="button"
                                data-testid="resend-verification"
                                on:click={
                                    let account = user.username.clone();
                                    move |_| { resend.dispatch(ResendVerification { account: account.clone() }); }
                                }
                            >
                                "Send the link again"
                            </button>
                            " "
                            <A href="/login" attr:class="button button-primary">"Go to log in"</A>
                        </p>
                        {move || matches!(resend.value().get(), Some(Ok(()))).then(|| view! { <Notice>"Sent again."</Notice> })}
                    </div>
                }
                .into_any(),
                None => view! {
                    <h1>"Create an account"</h1>
                    <ActionForm action=register attr:class="form" attr:data-testid="register-form">
                        <Field label="Username" name="username" autocomplete="username" bind=username error=username_error
                            hint="3 to 32 characters: letters a–z, digits, _ . -" required=true autofocus=true />
                        <Field label="Email" name="email" kind="email" autocomplete="email" bind=email error=email_error required=true />
                        <Field label="Password" name="password" kind="password" autocomplete="new-password" bind=password
                            error=password_error hint="At least 10 characters, and not your username" required=true />
                        <Suspense fallback=|| ()>
                            {move || setting_up.get().and_then(Result::ok).unwrap_or(false).then(|| view! {
                                <div class="setup-code" data-testid="setup-code">
                                    <p class="muted">
                                        "This hub has no administrator yet. To become it, enter the setup code Agora printed "
                                        "when it started (it is also in the " <code>"setup-code"</code>
                                        " file of its data directory). Leave it empty for a regular account."
                                    </p>
                                    <Field label="Setup code" name="setup_code" autocomplete="one-time-code"
                                        error=error_for(result, "setup_code") hint="XXXXX-XXXXX-XXXXX-XXXXX" />
                                </div>
                            })}
                        </Suspense>
                        <FormError error=error_besides(result, &["username", "email", "password", "setup_code"]) />
                        <button type="submit" class="button button-primary" data-testid="register-submit" disabled=move || register.pending().get()>
                            {move || if register.pending().get() { "Creating…" } else { "Create account" }}
                        </button>
                    </ActionForm>
                    <p class="auth-links">"Already registered? " <A href="/login">"Log in"</A></p>
                }
                .into_any(),
            }}
        </section>
    }
}
