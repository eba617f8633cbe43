//! API keys: create (the secret shown once), list, revoke.

use agora_model::accounts::{Access, ApiKeyView, NewApiKey, Scope};
use agora_model::time::format_unix;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::keys::{api_keys, create_api_key, RevokeApiKey};
use crate::components::empty_state::EmptyState;
use crate::components::form::{error_besides, error_for, ErrorAlert, Field, FormError};
use crate::components::loading::Loading;
use crate::session::SignedIn;

const DAY: i64 = 86_400;

#[component]
pub fn ApiKeysPage() -> impl IntoView {
    view! {
        <Title text="API keys" />
        <div class="page-header">
            <h1>"API keys"</h1>
            <A href="/settings" attr:class="button">"Settings"</A>
        </div>
        <SignedIn children=|_| view! { <Keys /> } />
    }
}

/// The scope choice as the form holds it.
#[derive(Clone, Copy, PartialEq)]
enum Reach {
    All,
    Some,
}

fn now_secs() -> i64 {
    #[cfg(feature = "hydrate")]
    {
        (js_sys_now() / 1000.0) as i64
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
    }
}

#[cfg(feature = "hydrate")]
fn js_sys_now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map(|p| p.time_origin() + p.now()).unwrap_or(0.0)
}

fn describe(scope: &Scope) -> String {
    let access = |a: &Access| match a {
        Access::Read => "read",
        Access::ReadWrite => "read and write",
    };
    match scope {
        Scope::AllDatasets { access: a } => format!("all my datasets ({})", access(a)),
        Scope::Dataset { dataset_id, access: a } => format!("dataset {dataset_id} ({})", access(a)),
    }
}

#[component]
fn Keys() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let expiry_days = RwSignal::new(90i64);
    let reach = RwSignal::new(Reach::All);
    let access = RwSignal::new(Access::Read);
    let datasets = RwSignal::new(String::new());

    let create = Action::new(move |request: &NewApiKey| create_api_key(request.clone()));
    let revoke = ServerAction::<RevokeApiKey>::new();
    let keys = Resource::new(move || (create.version().get(), revoke.version().get()), |_| api_keys());
    let result = Signal::from(create.value());

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let scopes = match reach.get_untracked() {
            Reach::All => vec![Scope::AllDatasets { access: access.get_untracked() }],
            Reach::Some => datasets
                .get_untracked()
                .split(|c: char| c == ',' || c.is_whitespace())
                .filter(|id| !id.is_empty())
                .map(|id| Scope::Dataset { dataset_id: id.to_owned(), access: access.get_untracked() })
                .collect(),
        };
        let days = expiry_days.get_untracked();
        let expires_at = (days > 0).then(|| now_secs() + days * DAY);
        create.dispatch(NewApiKey { name: name.get_untracked(), scopes, expires_at });
    };

    view! {
        <section class="card settings-section" aria-labelledby="new-key-heading">
            <h2 id="new-key-heading">"New key"</h2>
            <p class="muted">"Scripts send a key as " <code>"Authorization: Bearer agk_…"</code> ". A key reaches datasets only, never your account settings."</p>
            <form class="form" on:submit=on_submit data-testid="new-key-form">
                <Field label="Name" name="name" bind=name error=error_for(result, "name") hint="What uses it, e.g. “training cluster”" required=true />
                <div class="field">
                    <label for="key-expiry">"Expires"</label>
                    <select id="key-expiry" data-testid="key-expiry" on:change=move |ev| expiry_days.set(event_target_value(&ev).parse().unwrap_or(0))>
                        <option value="7">"in 7 days"</option>
                        <option value="30">"in 30 days"</option>
                        <option value="90" selected>"in 90 days"</option>
                        <option value="365">"in a year"</option>
                        <option value="0">"never"</option>
                    </select>
                </div>
                <fieldset class="field">
                    <legend>"Reaches"</legend>
                    <label class="checkbox"><input type="radio" name="reach" checked on:change=move |_| reach.set(Reach::All) />" all my datasets"</label>
                    <label class="checkbox"><input type="radio" name="reach" data-testid="reach-some" on:change=move |_| reach.set(Reach::Some) />" only these datasets"</label>
                    {move || (reach.get() == Reach::Some).then(|| view! {
                        <Field label="Dataset ids" name="datasets" bind=datasets hint="Separated by commas or spaces" />
                    })}
                    {move || error_for(result, "scopes").get().map(|e| view! { <p class="field-error" role="alert" data-testid="error-scopes">{e}</p> })}
                </fieldset>
                <div class="field">
                    <label for="key-access">"Access"</label>
                    <select id="key-access" data-testid="key-access" on:change=move |ev| access.set(if event_target_value(&ev) == "read_write" { Access::ReadWrite } else { Access::Read })>
                        <option value="read" selected>"read"</option>
                        <option value="read_write">"read and write"</option>
                    </select>
                </div>
                <FormError error=error_besides(result, &["name", "scopes"]) />
                <button type="submit" class="button button-primary" data-testid="create-key" disabled=move || create.pending().get()>"Create key"</button>
            </form>
            {move || match create.value().get() {
                Some(Ok(created)) => Some(view! { <NewSecret secret=created.secret /> }),
                _ => None,
            }}
        </section>
        <section class="card settings-section" aria-labelledby="keys-heading">
            <h2 id="keys-heading">"Your keys"</h2>
            {move || match revoke.value().get() {
                Some(Err(err)) => Some(view! { <ErrorAlert error=err /> }),
                _ => None,
            }}
            <Transition fallback=|| view! { <Loading /> }>
                {move || keys.get().map(|result| match result {
                    Ok(list) if list.is_empty() => view! {
                        <EmptyState icon=icondata::LuKeyRound title="No keys yet">
                            <p>"Create one above to let a script or a training job read or upload datasets."</p>
                        </EmptyState>
                    }
                    .into_any(),
                    Ok(list) => view! { <KeyTable keys=list revoke /> }.into_any(),
                    Err(err) => view! { <ErrorAlert error=err /> }.into_any(),
                })}
            </Transition>
        </section>
    }
}

/// The secret, once, with a copy button.
#[component]
fn NewSecret(secret: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let to_copy = secret.clone();
    view! {
        <div class="alert alert-ok secret-box" role="status">
            <p><strong>"Copy this key now."</strong> " It is shown only once; Agora keeps only a hash of it."</p>
            <div class="secret-row">
                <code data-testid="new-key-secret">{secret}</code>
                <button type="button" class="button button-small" on:click=move |_| {
                    copy_to_clipboard(&to_copy);
                    copied.set(true);
                }>{move || if copied.get() { "Copied" } else { "Copy" }}</button>
            </div>
        </div>
    }
}

fn copy_to_clipboard(_text: &str) {
    #[cfg(feature = "hydrate")]
    if let Some(window) = web_sys::window() {
        let _ = window.navigator().clipboard().write_text(_text);
    }
}

#[component]
fn KeyTable(keys: Vec<ApiKeyView>, revoke: ServerAction<RevokeApiKey>) -> impl IntoView {
    let now = now_secs();
    view! {
        <div class="table-wrap">
            <table class="table" data-testid="keys-table">
                <thead><tr><th>"Name"</th><th>"Key"</th><th>"Reaches"</th><th>"Created"</th><th>"Expires"</th><th>"Last used"</th><th>"Status"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                <tbody>
                    {keys.into_iter().map(|key| {
                        let expired = key.expires_at.is_some_and(|at| at <= now);
                        let status = if key.revoked { "revoked" } else if expired { "expired" } else { "active" };
                        let id = key.id.clone();
                        view! {
                            <tr data-testid="key-row" data-status=status>
                                <td>{key.name.clone()}</td>
                                <td><code>{key.prefix.clone()}"…"</code></td>
                                <td>{key.scopes.iter().map(describe).collect::<Vec<_>>().join("; ")}</td>
                                <td>{format_unix(key.created_at)}</td>
                                <td>{key.expires_at.map(format_unix).unwrap_or_else(|| "never".into())}</td>
                                <td>{key.last_used_at.map(format_unix).unwrap_or_else(|| "never".into())}</td>
                                <td><span class=if status == "active" { "badge badge-ok" } else { "badge badge-error" }>{status}</span></td>
                                <td>
                                    {(status == "active").then(|| view! {
                                        <button type="button" class="button button-small" data-testid="revoke-key"
                                            on:click=move |_| { revoke.dispatch(RevokeApiKey { id: id.clone() }); }>
                                            "Revoke"
                                        </button>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
