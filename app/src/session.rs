//! The logged-in person, as every page sees it: loaded once per page (on the
//! server during rendering, then hydrated), reloaded after logging in or out
//! and after profile changes.

use agora_model::accounts::UserView;
use agora_model::ApiError;
use leptos::prelude::*;

use crate::components::form::ErrorAlert;

use crate::api::account::current_user;

#[derive(Clone, Copy)]
pub struct Session {
    user: Resource<Result<Option<UserView>, ApiError>>,
    version: RwSignal<u32>,
}

impl Session {
    /// The user, once known (`None` while loading or when nobody is logged in).
    pub fn user(&self) -> Option<UserView> {
        self.user.get().and_then(|r| r.ok()).flatten()
    }

    /// The resource itself, for `Suspense`.
    pub fn resource(&self) -> Resource<Result<Option<UserView>, ApiError>> {
        self.user
    }

    /// Reloads the user (after login, logout, profile changes).
    pub fn refresh(&self) {
        self.version.update(|v| *v += 1);
    }
}

pub fn provide_session() {
    let version = RwSignal::new(0u32);
    let user = Resource::new(move || version.get(), |_| current_user());
    provide_context(Session { user, version });
}

pub fn use_session() -> Session {
    expect_context::<Session>()
}

/// Shows `children` with the logged-in user; everyone else gets a prompt to
/// log in that brings them back here.
#[component]
pub fn SignedIn<F, V>(children: F, #[prop(optional)] admin: bool) -> impl IntoView
where
    F: Fn(UserView) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    use leptos_router::hooks::use_location;

    use crate::components::empty_state::EmptyState;
    use crate::components::loading::Loading;

    let session = use_session();
    let location = use_location();
    let children = std::sync::Arc::new(children);
    view! {
        <Suspense fallback=|| view! { <Loading /> }>
            {move || {
                let children = children.clone();
                session.resource().get().map(move |result| match result {
                    Ok(Some(user)) if admin && user.role != agora_model::accounts::Role::Admin => view! {
                        <EmptyState icon=icondata::LuShieldAlert title="Administrators only">
                            <p>"This page needs the admin role."</p>
                        </EmptyState>
                    }
                    .into_any(),
                    Ok(Some(user)) => children(user).into_any(),
                    Ok(None) => {
                        let next = format!("{}{}", location.pathname.get_untracked(), location.search.get_untracked());
                        let href = format!("/login?next={}", crate::url::encode_query_value(&next));
                        view! {
                            <EmptyState icon=icondata::LuLogIn title="Please log in">
                                <p>"This page belongs to an account."</p>
                                <p><a href=href class="button button-primary" data-testid="login-prompt">"Log in"</a></p>
                            </EmptyState>
                        }
                        .into_any()
                    }
                    Err(err) => view! { <ErrorAlert error=err /> }.into_any(),
                })
            }}
        </Suspense>
    }
}
