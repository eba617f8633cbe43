//! Monitoring: the sources a person may view (Agora itself first, for
//! administrators), each with its health and volume, and the form that adds
//! a remote flask-monitoring-dashboard service after checking it.

use agora_model::monitoring::{NewSource, Protocol, SourceView};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use crate::api::monitoring::{add_monitoring_source, monitoring_policy, monitoring_sources};
use crate::components::empty_state::EmptyState;
use crate::components::form::{error_besides, error_for, ErrorAlert, Field, FormError};
use crate::components::loading::Loading;
use crate::session::SignedIn;

#[component]
pub fn MonitoringPage() -> impl IntoView {
    view! {
        <Title text="Monitoring" />
        <header class="page-header"><h1>"Monitoring"</h1></header>
        <SignedIn children=|user| {
            let admin = user.role == agora_model::accounts::Role::Admin;
            view! { <AddSourceForm /> <Sources /> {admin.then(|| view! { <Policy /> })} }
        } />
    }
}

/// The health badge of a source.
pub fn health_badge(source: &SourceView) -> impl IntoView {
    let (class, text) = match source.health.as_str() {
        "ok" => ("badge badge-ok", "fetching"),
        "failing" => ("badge badge-error", "failing"),
        "waiting" => ("badge", "first fetch pending"),
        _ => ("badge badge-ok", "recording"),
    };
    view! { <span class=class data-testid="source-health">{text}</span> }
}

fn describe(source: &SourceView) -> String {
    match Protocol::parse(&source.kind) {
        Some(protocol) => format!("{} · {}", protocol.label(), source.url.clone().unwrap_or_default()),
        None => "Every request to this hub: route, status, duration.".into(),
    }
}

#[component]
fn Sources() -> impl IntoView {
    let sources = Resource::new(|| (), |_| monitoring_sources());
    view! {
        <Transition fallback=|| view! { <Loading /> }>
            {move || sources.get().map(|result| match result {
                Ok(list) if list.is_empty() => view! {
                    <EmptyState icon=icondata::LuGauge title="No monitored services yet">
                        <p>"Add a Flask service that runs flask-monitoring-dashboard above: Agora checks the address and credentials, then fetches its requests every minute. Agora's own request statistics are for administrators."</p>
                    </EmptyState>
                }
                .into_any(),
                Ok(list) => view! {
                    <ul class="cards" data-testid="sources">
                        {list.into_iter().map(|s| {
                            let (badge, about) = (health_badge(&s), describe(&s));
                            view! {
                                <li class="card" data-testid="source-card">
                                    <A href=format!("/monitoring/{}", s.id)>{s.name}</A>
                                    " " {badge}
                                    <p class="muted">{about}</p>
                                    <p class="muted" data-testid="source-volume">{format!("{} requests in the last 24 hours", s.calls_24h)}</p>
                                    {s.last_error.map(|e| view! { <p class="field-error">{e}</p> })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }
                .into_any(),
                Err(err) => view! { <ErrorAlert error=err /> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn AddSourceForm() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let url = RwSignal::new(String::new());
    let protocol = RwSignal::new(Protocol::FmdApi.name().to_owned());
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let token = RwSignal::new(String::new());
    let add = Action::new(move |source: &NewSource| add_monitoring_source(source.clone()));
    let result = Signal::from(add.value());
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(added)) = add.value().get() {
            navigate(&format!("/monitoring/{}", added.id), Default::default());
        }
    });
    let uses_login = move || protocol.get() == Protocol::FmdApi.name();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let login = uses_login();
        add.dispatch(NewSource {
            name: name.get_untracked(),
            url: url.get_untracked(),
            protocol: protocol.get_untracked(),
            token: (!login).then(|| token.get_untracked()),
            username: login.then(|| username.get_untracked()),
            password: login.then(|| password.get_untracked()),
        });
    };
    const FIELDS: &[&str] = &["name", "url", "protocol", "token", "username", "password"];
    view! {
        <details class="card new-dataset" data-testid="add-source">
            <summary class="button button-primary" data-testid="add-source-open">"Add a service"</summary>
            <form class="form" on:submit=on_submit data-testid="add-source-form">
                <Field label="Name" name="name" bind=name error=error_for(result, "name") required=true hint="How the team calls it, e.g. “Shop API”" />
                <Field label="Dashboard address" name="url" kind="url" bind=url error=error_for(result, "url") required=true
                    hint="Where flask-monitoring-dashboard answers, usually ending in /dashboard" />
                <div class="field">
                    <label for="field-protocol">"Version"</label>
                    <select id="field-protocol" data-testid="input-protocol" on:change=move |ev| protocol.set(event_target_value(&ev))>
                        {[Protocol::FmdApi, Protocol::FmdToken].into_iter().map(|p| view! {
                            <option value=p.name() selected=move || protocol.get() == p.name()>{p.label()}</option>
                        }).collect_view()}
                    </select>
                </div>
                <Show when=uses_login fallback=move || view! {
                    <Field label="Security token" name="token" kind="password" bind=token error=error_for(result, "token") required=true
                        hint="The SECURITY_TOKEN of the service's dashboard configuration" />
                }>
                    <Field label="Dashboard user" name="username" bind=username error=error_for(result, "username") required=true />
                    <Field label="Password" name="password" kind="password" bind=password error=error_for(result, "password") required=true />
                </Show>
                <FormError error=error_besides(result, FIELDS) />
                <button type="submit" class="button button-primary" data-testid="add-source-submit" disabled=move || add.pending().get()>
                    {move || if add.pending().get() { "Checking the service…" } else { "Check and add" }}
                </button>
            </form>
        </details>
    }
}

/// Where sources may be fetched from: shown to administrators, who set it.
#[component]
fn Policy() -> impl IntoView {
    let policy = Resource::new(|| (), |_| monitoring_policy());
    let list = |items: Vec<String>| view! { <ul>{items.into_iter().map(|i| view! { <li>{i}</li> }).collect_view()}</ul> };
    view! {
        <details class="card" data-testid="destination-policy">
            <summary>"Where sources may be fetched from"</summary>
            <Transition fallback=|| view! { <Loading /> }>
                {move || policy.get().map(|result| match result {
                    Ok(p) => view! {
                        <p>"Agora connects only to public addresses, and to these inside addresses an operator allowed ("<code>"AGORA_MONITOR_ALLOW"</code>"):"</p>
                        {if p.allowed.is_empty() {
                            view! { <p class="muted" data-testid="policy-allowed">"none"</p> }.into_any()
                        } else {
                            view! { <div data-testid="policy-allowed">{list(p.allowed)}</div> }.into_any()
                        }}
                        <p>"Refused unless allowed:"</p>
                        {list(p.inside)}
                        <p>"Always refused:"</p>
                        {list(p.never)}
                        <p class="muted">{format!(
                            "Agora's own listeners: {}. Each account adds at most {} sources; one fetch may take {} s.",
                            p.own_listeners.join(", "), p.max_sources_per_user, p.fetch_budget_secs
                        )}</p>
                    }
                    .into_any(),
                    Err(err) => view! { <ErrorAlert error=err /> }.into_any(),
                })}
            </Transition>
        </details>
    }
}
