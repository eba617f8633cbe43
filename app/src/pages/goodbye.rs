//! After deleting an account: the removal's progress, until it is done.

use agora_model::accounts::JobState;
use leptos::prelude::*;

use crate::components::form::ErrorAlert;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::account::job_progress;
use crate::components::loading::Loading;

/// How often the page asks for progress while the job runs.
const POLL_MS: u64 = 1000;

#[component]
pub fn GoodbyePage() -> impl IntoView {
    let query = use_query_map();
    let job = move || query.read().get("job").unwrap_or_default();
    let tick = RwSignal::new(0u32);
    let progress = Resource::new(move || (job(), tick.get()), |(id, _)| job_progress(id));
    // Poll (in the browser) while the job runs.
    Effect::new(move |_| {
        if let Some(Ok(view)) = progress.get() {
            if view.state == JobState::Running {
                set_timeout(move || tick.update(|t| *t += 1), std::time::Duration::from_millis(POLL_MS));
            }
        }
    });
    view! {
        <Title text="Account deleted" />
        <section class="card auth-card" data-testid="goodbye">
            <h1>"Your account is deleted"</h1>
            <p>"You have been logged out everywhere. What the account owned is being removed in the background; you can close this page."</p>
            <Transition fallback=|| view! { <Loading /> }>
                {move || progress.get().map(|result| match result {
                    Ok(view) => {
                        let done = view.state == JobState::Done;
                        view! {
                            <div class="job" data-testid="job-progress" data-state=if done { "done" } else { "running" }>
                                <progress max="1" value=if done { Some("1") } else { None } aria-label="Removal progress"></progress>
                                <p role="status">
                                    {if done { "Everything is removed.".to_string() } else { format!("{}…", view.step) }}
                                    " " {format!("{} items removed.", view.done)}
                                </p>
                            </div>
                        }
                        .into_any()
                    }
                    Err(err) => view! { <ErrorAlert error=err /> }.into_any(),
                })}
            </Transition>
            <p><a href="/" class="button">"Back to the start page"</a></p>
        </section>
    }
}
