//! Form pieces every page uses: a labelled field that shows the error naming
//! it, and a banner for errors that name no field of the form.

use agora_model::ApiError;
use leptos::prelude::*;

/// The last submission's error, if it names `field`.
pub fn error_for<T>(result: Signal<Option<Result<T, ApiError>>>, field: &'static str) -> Signal<Option<String>>
where
    T: Clone + Send + Sync + 'static,
{
    Signal::derive(move || match result.get() {
        Some(Err(err)) if err.field.as_deref() == Some(field) => Some(err.message),
        _ => None,
    })
}

/// The last submission's error unless it names one of `fields` (those show
/// next to their input).
pub fn error_besides<T>(result: Signal<Option<Result<T, ApiError>>>, fields: &'static [&'static str]) -> Signal<Option<String>>
where
    T: Clone + Send + Sync + 'static,
{
    Signal::derive(move || match result.get() {
        Some(Err(err)) if err.field.as_deref().is_some_and(|f| fields.contains(&f)) => None,
        Some(Err(err)) => Some(err.to_string()),
        _ => None,
    })
}

/// A labelled input. Its error (from the server or an inline check) is tied
/// to it for screen readers with `aria-describedby`.
#[component]
pub fn Field(
    label: &'static str,
    name: &'static str,
    #[prop(default = "text")] kind: &'static str,
    #[prop(default = "off")] autocomplete: &'static str,
    #[prop(into, optional)] error: Signal<Option<String>>,
    #[prop(optional)] hint: &'static str,
    /// Two-way binding, for inline checks and forms sent as JSON (a field
    /// without one keeps its own).
    #[prop(optional)]
    bind: Option<RwSignal<String>>,
    #[prop(optional)] required: bool,
    #[prop(optional)] autofocus: bool,
) -> impl IntoView {
    let id = format!("field-{name}");
    let error_id = format!("{id}-error");
    let hint_id = format!("{id}-hint");
    let described = move || {
        let mut ids = Vec::new();
        if !hint.is_empty() {
            ids.push(hint_id.clone());
        }
        if error.get().is_some() {
            ids.push(error_id.clone());
        }
        (!ids.is_empty()).then(|| ids.join(" "))
    };
    let bind = bind.unwrap_or_else(|| RwSignal::new(String::new()));
    let input = view! {
        <input
            id=id.clone()
            name=name
            type=kind
            autocomplete=autocomplete
            required=required
            autofocus=autofocus
            data-testid=format!("input-{name}")
            aria-invalid=move || error.get().is_some().to_string()
            aria-describedby=described
            prop:value=move || bind.get()
            on:input=move |ev| bind.set(event_target_value(&ev))
        />
    };
    view! {
        <div class="field">
            <label for=id.clone()>{label}</label>
            {input}
            {(!hint.is_empty()).then(|| view! { <p class="field-hint" id=format!("field-{name}-hint")>{hint}</p> })}
            {move || {
                error.get().map(|message| view! {
                    <p class="field-error" id=format!("field-{name}-error") role="alert" data-testid=format!("error-{name}")>{message}</p>
                })
            }}
        </div>
    }
}

/// A banner for an error that names no field here.
#[component]
pub fn FormError(#[prop(into)] error: Signal<Option<String>>) -> impl IntoView {
    move || error.get().map(|message| view! { <div class="alert alert-error" role="alert" data-testid="form-error">{message}</div> })
}

/// A banner for a failed load or action.
#[component]
pub fn ErrorAlert(error: ApiError) -> impl IntoView {
    view! { <div class="alert alert-error" role="alert">{error.to_string()}</div> }
}

/// A banner confirming something happened.
#[component]
pub fn Notice(children: Children) -> impl IntoView {
    view! { <div class="alert alert-ok" role="status" data-testid="notice">{children()}</div> }
}
