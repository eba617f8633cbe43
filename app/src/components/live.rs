//! Server-sent events in the browser: listen to named events of a URL for
//! as long as the component that asked lives.

/// Calls `on_event(name, data)` for each event of `events` the URL sends.
/// Nothing happens on the server.
pub fn listen(url: &str, events: &'static [&'static str], on_event: impl Fn(&str, String) + 'static) {
    #[cfg(feature = "hydrate")]
    browser::listen(url, events, on_event);
    #[cfg(not(feature = "hydrate"))]
    let _ = (url, events, on_event);
}

#[cfg(feature = "hydrate")]
mod browser {
    use std::cell::{Cell, RefCell};
    use std::collections::HashMap;
    use std::rc::Rc;

    use leptos::prelude::on_cleanup;
    use wasm_bindgen::closure::Closure;
    use wasm_bindgen::JsCast;

    type Handler = Closure<dyn FnMut(web_sys::MessageEvent)>;

    thread_local! {
        static SOURCES: RefCell<HashMap<u32, (web_sys::EventSource, Vec<Handler>)>> = RefCell::new(HashMap::new());
        static NEXT: Cell<u32> = const { Cell::new(0) };
    }

    pub fn listen(url: &str, events: &'static [&'static str], on_event: impl Fn(&str, String) + 'static) {
        let Ok(source) = web_sys::EventSource::new(url) else { return };
        let on_event = Rc::new(on_event);
        let handlers: Vec<Handler> = events
            .iter()
            .map(|name| {
                let on_event = on_event.clone();
                let handler = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |event: web_sys::MessageEvent| {
                    on_event(name, event.data().as_string().unwrap_or_default());
                });
                let _ = source.add_event_listener_with_callback(name, handler.as_ref().unchecked_ref());
                handler
            })
            .collect();
        let key = NEXT.with(|n| n.replace(n.get() + 1));
        SOURCES.with(|s| s.borrow_mut().insert(key, (source, handlers)));
        on_cleanup(move || {
            if let Some((source, _)) = SOURCES.with(|s| s.borrow_mut().remove(&key)) {
                source.close();
            }
        });
    }
}
