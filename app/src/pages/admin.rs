//! Administration: every user, with promote/demote and disable/enable.

use agora_model::accounts::{AdminUserChange, Role, UserView};
use agora_model::time::format_unix;
use leptos::prelude::*;

use crate::components::form::ErrorAlert;
use leptos_meta::Title;

use crate::api::admin::{admin_update_user, admin_users};
use crate::components::loading::Loading;
use crate::session::SignedIn;

#[component]
pub fn AdminUsersPage() -> impl IntoView {
    view! {
        <Title text="Users" />
        <div class="page-header"><h1>"Users"</h1></div>
        <SignedIn admin=true children=|me: UserView| view! { <Users me=me.id /> } />
    }
}

#[component]
fn Users(me: String) -> impl IntoView {
    let change = Action::new(|(id, change): &(String, AdminUserChange)| admin_update_user(id.clone(), change.clone()));
    let users = Resource::new(move || change.version().get(), |_| admin_users());
    let me = StoredValue::new(me);
    view! {
        {move || match change.value().get() {
            Some(Err(err)) => Some(view! { <div class="alert alert-error" role="alert" data-testid="form-error">{err.to_string()}</div> }),
            _ => None,
        }}
        <Transition fallback=|| view! { <Loading /> }>
            {move || users.get().map(|result| match result {
                Ok(list) => view! {
                    <div class="table-wrap">
                        <table class="table" data-testid="users-table">
                            <thead><tr><th>"User"</th><th>"Email"</th><th>"Role"</th><th>"Status"</th><th>"Registered"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                            <tbody>
                                {list.into_iter().map(|user| {
                                    let is_me = me.with_value(|me| *me == user.id);
                                    let (id_role, id_disable) = (user.id.clone(), user.id.clone());
                                    let promote = user.role == Role::User;
                                    let disabled = user.disabled;
                                    view! {
                                        <tr data-testid="user-row" data-username=user.username.clone()>
                                            <td>{user.username.clone()}{is_me.then_some(" (you)")}</td>
                                            <td>{user.email.clone()}" "
                                                {if user.email_verified { view! { <span class="badge badge-ok">"verified"</span> } } else { view! { <span class="badge badge-error">"unverified"</span> } }}
                                            </td>
                                            <td data-testid="user-role">{if promote { "user" } else { "admin" }}</td>
                                            <td data-testid="user-status">{if disabled { "disabled" } else { "active" }}</td>
                                            <td>{format_unix(user.created_at)}</td>
                                            <td class="actions">
                                                <button type="button" class="button button-small" data-testid="toggle-role"
                                                    on:click=move |_| { change.dispatch((id_role.clone(), AdminUserChange { role: Some(if promote { Role::Admin } else { Role::User }), disabled: None })); }>
                                                    {if promote { "Make admin" } else { "Remove admin" }}
                                                </button>
                                                {(!is_me).then(|| view! {
                                                    <button type="button" class="button button-small" data-testid="toggle-disabled"
                                                        on:click=move |_| { change.dispatch((id_disable.clone(), AdminUserChange { role: None, disabled: Some(!disabled) })); }>
                                                        {if disabled { "Enable" } else { "Disable" }}
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
                .into_any(),
                Err(err) => view! { <ErrorAlert error=err /> }.into_any(),
            })}
        </Transition>
    }
}
