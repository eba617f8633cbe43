//! What every live stream (server-sent events) shares: its place among the
//! node's streams is held while it is open, and its right to what it shows
//! is checked again every few seconds (`agora_core::live`).

use std::convert::Infallible;
use std::pin::Pin;

use axum::response::sse::{Event, KeepAlive, KeepAliveStream, Sse};
use futures::{Stream, StreamExt};

use agora_core::auth::caller::Caller;
use agora_core::hub::Hub;
use agora_core::live::{StreamPermit, Watched, RECHECK_EVERY};

pub type Events = Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>>;
/// What a live-stream handler answers.
pub type LiveResponse = Sse<KeepAliveStream<Events>>;

/// `events` as an SSE response that ends, with a last `ended` event, once
/// `caller` may no longer see `watched`, and that gives `permit` back when
/// it ends, however it ends.
pub fn guarded(events: Events, hub: Hub, caller: Caller, watched: Watched, permit: StreamPermit) -> LiveResponse {
    struct Guard {
        events: Events,
        hub: Hub,
        caller: Caller,
        watched: Watched,
        recheck: tokio::time::Interval,
        ended: bool,
        _permit: StreamPermit,
    }
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + RECHECK_EVERY, RECHECK_EVERY);
    recheck.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let guard = Guard { events, hub, caller, watched, recheck, ended: false, _permit: permit };
    let stream = futures::stream::unfold(guard, |mut guard| async move {
        if guard.ended {
            return None;
        }
        loop {
            tokio::select! {
                event = guard.events.next() => return event.map(|event| (event, guard)),
                _ = guard.recheck.tick() => {
                    if !guard.hub.still_allowed(&guard.caller, &guard.watched).await {
                        guard.ended = true;
                        let ended = Event::default().event("ended").data("access to this stream has ended; reconnect to check again");
                        return Some((Ok(ended), guard));
                    }
                }
            }
        }
    });
    let stream: Events = Box::pin(stream);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
}
