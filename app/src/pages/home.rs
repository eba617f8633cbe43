//! The start page: what Agora is, what to do first, and whether the hub is healthy.

use agora_model::health::ReadinessReport;
use leptos::prelude::*;
use leptos_icons::Icon;
use leptos_meta::Title;
use leptos_router::components::A;

use crate::api::hub_status;
use crate::components::loading::Loading;

#[component]
pub fn HomePage() -> impl IntoView {
    view! {
        <Title text="" />
        <section class="hero">
            <h1>"Your team's training data and dashboards, in one place"</h1>
            <p class="lead">
                "Agora keeps datasets in your own S3 bucket, labels every file with object tags, "
                "finds anything by name or label, and puts your Plotly figures on shared dashboards. "
                "Files travel straight between your browser or script and storage — never through this server."
            </p>
        </section>
        <section class="steps" aria-labelledby="first-steps">
            <h2 id="first-steps">"What to do first"</h2>
            <ol class="step-list">
                <Step icon=icondata::LuLogIn title="Create your account" href="/login">
                    "On a new hub, the setup code Agora printed at start makes your account its administrator."
                </Step>
                <Step icon=icondata::LuUpload title="Create a dataset and upload files" href="/datasets">
                    "Drop files or whole folders; large files upload in parallel parts and resume after a reload."
                </Step>
                <Step icon=icondata::LuTags title="Label and find" href="/search">
                    "Add key=value labels, filter by them, and search across everything you can see."
                </Step>
                <Step icon=icondata::LuLayoutDashboard title="Share results on a dashboard" href="/dashboards">
                    "Paste a figure from Plotly's to_json() and add notes in markdown."
                </Step>
            </ol>
        </section>
        <HubStatus />
    }
}

#[component]
fn Step(icon: icondata::Icon, title: &'static str, href: &'static str, children: Children) -> impl IntoView {
    view! {
        <li class="step">
            <span class="step-icon" aria-hidden="true"><Icon icon=icon /></span>
            <div>
                <h3><A href=href>{title}</A></h3>
                <p>{children()}</p>
            </div>
        </li>
    }
}

/// The hub's component health, loaded after the page renders.
#[component]
fn HubStatus() -> impl IntoView {
    let status = Resource::new(|| (), |_| hub_status());
    view! {
        <section class="card status-card" aria-labelledby="hub-status" data-testid="hub-status">
            <h2 id="hub-status">"Hub status"</h2>
            <Suspense fallback=|| view! { <Loading label="Checking the hub…" /> }>
                {move || Suspend::new(async move {
                    status.await.map(|report| view! { <StatusList report /> })
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn StatusList(report: ReadinessReport) -> impl IntoView {
    let summary = if report.ready { "All systems working" } else { "Some components need attention" };
    view! {
        <p class="status-summary" data-ready=report.ready.to_string()>{summary}</p>
        <ul class="status-list">
            {report
                .components
                .into_iter()
                .map(|c| {
                    let (class, icon) = if c.ok {
                        ("badge badge-ok", icondata::LuCircleCheck)
                    } else {
                        ("badge badge-error", icondata::LuCircleX)
                    };
                    view! {
                        <li>
                            <span class=class><Icon icon=icon />{if c.ok { "ok" } else { "failing" }}</span>
                            <code>{c.name}</code>
                            <span class="muted">{format!("{:.1} ms", c.latency_ms)}</span>
                            {c.error.map(|e| view! { <span class="status-error">{e}</span> })}
                        </li>
                    }
                })
                .collect_view()}
        </ul>
    }
}
