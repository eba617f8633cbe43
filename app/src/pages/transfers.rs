//! Handing a dataset over: the owner offers it on the dataset page, the
//! recipient accepts or declines it on the datasets page.

use agora_model::datasets::DatasetView;
use agora_model::time::format_unix;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use crate::api::datasets::{accept_transfer, end_transfer, transfer_dataset, transfer_offers};
use crate::components::form::{error_besides, error_for, ErrorAlert, Field, FormError, Notice};

/// The datasets offered to the signed-in person, each with Accept and
/// Decline; nothing at all when there are none.
#[component]
pub fn TransferOffers() -> impl IntoView {
    let accept = Action::new(|id: &String| accept_transfer(id.clone()));
    let decline = Action::new(|id: &String| end_transfer(id.clone()));
    let offers = Resource::new(move || (decline.version().get(), accept.version().get()), |_| transfer_offers());
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(ds)) = accept.value().get() {
            navigate(&format!("/datasets/{}", ds.id), Default::default());
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || offers.get().and_then(Result::ok).filter(|list| !list.is_empty()).map(|list| view! {
                <section class="card settings-section" aria-labelledby="offers-heading" data-testid="transfer-offers">
                    <h2 id="offers-heading">"Offered to you"</h2>
                    {move || accept.value().get().and_then(Result::err).map(|err| view! { <ErrorAlert error=err /> })}
                    <ul class="offer-list">
                        {list.into_iter().map(|offer| {
                            let (take, leave) = (offer.dataset_id.clone(), offer.dataset_id.clone());
                            view! {
                                <li data-testid="transfer-offer">
                                    <span>
                                        <strong>{offer.from.clone()}</strong>" offers you the dataset “"{offer.dataset_name.clone()}
                                        "”: you would own it, and they would stay as an editor."
                                        <span class="muted">" · "{format_unix(offer.offered_at)}</span>
                                    </span>
                                    <span class="button-row">
                                        <button type="button" class="button button-primary button-small" data-testid="accept-offer"
                                            disabled=move || accept.pending().get() on:click=move |_| { accept.dispatch(take.clone()); }>
                                            "Accept"
                                        </button>
                                        <button type="button" class="button button-small" data-testid="decline-offer"
                                            on:click=move |_| { decline.dispatch(leave.clone()); }>
                                            "Decline"
                                        </button>
                                    </span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </section>
            })}
        </Transition>
    }
}

/// For whoever manages a dataset: offer it to someone, or withdraw the
/// offer that is out.
#[component]
pub fn TransferOwnership(ds: DatasetView, changed: impl Fn() + Clone + Send + Sync + 'static) -> impl IntoView {
    let offer = Action::new(|(id, username): &(String, String)| transfer_dataset(id.clone(), username.clone()));
    let withdraw = Action::new(|id: &String| end_transfer(id.clone()));
    let result = Signal::from(offer.value());
    let username = RwSignal::new(String::new());
    let refresh = changed.clone();
    Effect::new(move |_| {
        if matches!(offer.value().get(), Some(Ok(_))) || matches!(withdraw.value().get(), Some(Ok(()))) {
            refresh();
        }
    });
    let id = ds.id.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        offer.dispatch((id.clone(), username.get_untracked()));
    };
    let withdraw_id = ds.id.clone();
    view! {
        <div class="transfer" data-testid="transfer">
            <h3>"Transfer ownership"</h3>
            {match ds.offered_to.clone() {
                Some(to) => view! {
                    <Notice>
                        <span data-testid="offered-to">"Offered to " <strong>{to}</strong> ". It becomes theirs when they accept it on their "
                        <A href="/datasets">"Datasets"</A> " page; until then nothing changes."</span>
                    </Notice>
                    <button type="button" class="button button-small" data-testid="withdraw-offer"
                        on:click=move |_| { withdraw.dispatch(withdraw_id.clone()); }>
                        "Withdraw the offer"
                    </button>
                }
                .into_any(),
                None => view! {
                    <form class="form share-form" on:submit=on_submit data-testid="transfer-form">
                        <Field label="New owner (username)" name="transfer_username" bind=username error=error_for(result, "username")
                            hint="They accept before it is theirs; you stay as an editor" />
                        <FormError error=error_besides(result, &["username"]) />
                        <button type="submit" class="button" data-testid="transfer-submit" disabled=move || offer.pending().get()>"Offer the dataset"</button>
                    </form>
                }
                .into_any(),
            }}
        </div>
    }
}
