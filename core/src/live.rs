//! Live streams (server-sent events: dataset changes, run logs): how many
//! may be open, and how long an open one stays authorized.
//!
//! An open stream holds a connection, a task and a subscription for as long
//! as its client keeps it. A node admits at most `per_node` of them, and one
//! caller at most `per_caller`: an account, however it authenticated, or for
//! anonymous readers of public datasets their address (an IPv4 address or an
//! IPv6 /64, so rotating through one's own /64 gains nothing). The permit is
//! given back when the stream ends, however it ends.
//!
//! A stream's right is checked again every [`RECHECK_EVERY`] (see
//! `Hub::still_allowed`): logging out, a password change, a revoked key, a
//! removed membership or a dataset made private ends it within seconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agora_model::{ApiError, ErrorKind};

use crate::auth::caller::Caller;

/// How often an open stream's caller and access are checked again.
pub const RECHECK_EVERY: Duration = Duration::from_secs(2);

/// What an open stream shows, to check again that its caller may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Watched {
    /// A dataset's change notices.
    Dataset(String),
    /// A training session's log.
    RunLog { dataset: String, run: String },
}

/// Settings: `--live-streams-per-user` and `--live-streams`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveLimits {
    pub per_caller: usize,
    pub per_node: usize,
}

impl Default for LiveLimits {
    /// A person with a dozen tabs open stays well inside; a node's file
    /// descriptors and tasks stay bounded.
    fn default() -> Self {
        Self { per_caller: 20, per_node: 1000 }
    }
}

#[derive(Clone)]
pub struct LiveStreams {
    limits: LiveLimits,
    open: Arc<Mutex<Open>>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_caller: HashMap<String, usize>,
}

/// One admitted stream; dropping it frees its place.
pub struct StreamPermit {
    open: Arc<Mutex<Open>>,
    caller: String,
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(count) = open.by_caller.get_mut(&self.caller) {
            *count -= 1;
            if *count == 0 {
                open.by_caller.remove(&self.caller);
            }
        }
    }
}

impl std::fmt::Debug for StreamPermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamPermit").finish_non_exhaustive()
    }
}

impl LiveStreams {
    pub fn new(limits: LiveLimits) -> Self {
        Self { limits, open: Arc::default() }
    }

    /// A place for one more stream of `caller`, or 429 naming the limit.
    pub fn admit(&self, caller: &Caller) -> Result<StreamPermit, ApiError> {
        let key = caller_key(caller);
        let mut open = self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if open.total >= self.limits.per_node {
            return Err(full(format!(
                "this node already serves {} live streams, its limit (--live-streams / AGORA_LIVE_STREAMS); try again shortly",
                self.limits.per_node
            )));
        }
        let mine = open.by_caller.get(&key).copied().unwrap_or(0);
        if mine >= self.limits.per_caller {
            let who = if caller.user().is_some() { "account" } else { "address" };
            return Err(full(format!(
                "at most {} live streams per {who} may be open at once (--live-streams-per-user / AGORA_LIVE_STREAMS_PER_USER); close a tab or a stream and try again",
                self.limits.per_caller
            )));
        }
        open.total += 1;
        *open.by_caller.entry(key.clone()).or_default() += 1;
        Ok(StreamPermit { open: self.open.clone(), caller: key })
    }

    /// Streams open on this node now.
    pub fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).total
    }
}

fn full(message: String) -> ApiError {
    ApiError { retry_after_secs: Some(5), ..ApiError::new(ErrorKind::RateLimited, message) }
}

/// Whose streams these are: the account, else the address (IPv6 by /64,
/// as the abuse limits count it).
fn caller_key(caller: &Caller) -> String {
    match caller.user() {
        Some(user) => format!("user:{}", user.id),
        None => format!("ip:{}", crate::auth::limits::ip_key(caller.ip)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(ip: &str) -> Caller {
        Caller::anonymous(Some(ip.parse().unwrap()))
    }

    #[test]
    fn a_caller_gets_at_most_its_share_and_dropping_frees_a_place() {
        let live = LiveStreams::new(LiveLimits { per_caller: 2, per_node: 10 });
        let first = live.admit(&from("192.0.2.1")).unwrap();
        let _second = live.admit(&from("192.0.2.1")).unwrap();
        let refused = live.admit(&from("192.0.2.1")).unwrap_err();
        assert_eq!(refused.kind, ErrorKind::RateLimited);
        assert!(refused.message.contains("AGORA_LIVE_STREAMS_PER_USER"), "{}", refused.message);
        // Another address is not affected.
        let _other = live.admit(&from("192.0.2.2")).unwrap();
        drop(first);
        let _again = live.admit(&from("192.0.2.1")).expect("a closed stream gives its place back");
        assert_eq!(live.open(), 3);
    }

    #[test]
    fn one_ipv6_slash_64_counts_as_one_caller() {
        let live = LiveStreams::new(LiveLimits { per_caller: 1, per_node: 10 });
        let _held = live.admit(&from("2001:db8:1:2::1")).unwrap();
        assert!(live.admit(&from("2001:db8:1:2:ffff::9")).is_err(), "same /64");
        live.admit(&from("2001:db8:1:3::1")).expect("another /64");
    }

    #[test]
    fn the_node_limit_holds_across_callers() {
        let live = LiveStreams::new(LiveLimits { per_caller: 5, per_node: 2 });
        let _a = live.admit(&from("192.0.2.1")).unwrap();
        let _b = live.admit(&from("192.0.2.2")).unwrap();
        let refused = live.admit(&from("192.0.2.3")).unwrap_err();
        assert!(refused.message.contains("AGORA_LIVE_STREAMS)"), "{}", refused.message);
        assert_eq!(refused.retry_after_secs, Some(5));
    }
}
