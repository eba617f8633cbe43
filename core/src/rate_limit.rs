//! Rate limiting for login, registration and verification, per IP and per
//! account: the generic cell rate algorithm (GCRA) — `limit` requests per
//! `window`, in a burst or spread out, with the exact wait until the next one
//! is allowed (for `Retry-After`).
//!
//! State is per node and bounded whatever callers send: a key is kept as
//! 16 bytes of its SHA-256 (a 2 MB username costs what "bob" costs), and
//! keys live in two generations of at most `max_keys / 2` each. When the
//! current one fills, it becomes the previous and the older one is dropped
//! whole, so a flood of unique keys costs O(1) per check and evicts only
//! keys that were not seen for a whole generation.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::generations::Generations;

type Key = [u8; 16];

fn key_of(key: &str) -> Key {
    let digest = Sha256::digest(key.as_bytes());
    let mut out = [0u8; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

pub struct RateLimiter {
    /// Time between requests at the sustained rate (window / limit).
    interval: Duration,
    /// How far ahead of now a key's schedule may run (window - interval).
    tolerance: Duration,
    /// key -> theoretical arrival time of its next request; each key costs
    /// one, `max_keys / 2` per generation.
    state: Mutex<Generations<Key, Instant>>,
}

impl RateLimiter {
    /// `limit` requests per `window` per key (limit ≥ 1), tracking at most
    /// `max_keys` keys.
    pub fn new(limit: u32, window: Duration, max_keys: usize) -> Self {
        let limit = limit.max(1);
        let interval = window / limit;
        Self { interval, tolerance: window.saturating_sub(interval), state: Mutex::new(Generations::new(max_keys / 2)) }
    }

    /// Allows the request, or says how long until one would be allowed.
    pub fn check(&self, key: &str) -> Result<(), Duration> {
        self.check_at(key, Instant::now())
    }

    pub fn check_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        self.decide(key, now, true)
    }

    /// Whether a request would be allowed now, without counting it (for
    /// limits that count only failures: peek first, [`Self::check`] after a
    /// failure).
    pub fn peek(&self, key: &str) -> Result<(), Duration> {
        self.decide(key, Instant::now(), false)
    }

    fn decide(&self, key: &str, now: Instant, count: bool) -> Result<(), Duration> {
        let key = key_of(key);
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let tat = state.get(&key).copied().unwrap_or(now).max(now);
        let ahead = tat - now;
        if ahead > self.tolerance {
            return Err(ahead - self.tolerance);
        }
        if !count {
            return Ok(());
        }
        state.insert(key, tat + self.interval, 1);
        Ok(())
    }

    /// How many keys are tracked (for tests and metrics).
    pub fn tracked(&self) -> usize {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_up_to_the_limit_then_a_precise_wait() {
        let limiter = RateLimiter::new(5, Duration::from_secs(60), 100);
        let t0 = Instant::now();
        for i in 0..5 {
            assert!(limiter.check_at("ip:1", t0).is_ok(), "request {i}");
        }
        let wait = limiter.check_at("ip:1", t0).unwrap_err();
        assert_eq!(wait, Duration::from_secs(12), "one request per 12 s at 5/min");
        assert!(limiter.check_at("ip:1", t0 + Duration::from_secs(11)).is_err());
        assert!(limiter.check_at("ip:1", t0 + Duration::from_secs(12)).is_ok());
        assert!(limiter.check_at("ip:1", t0 + Duration::from_secs(12)).is_err(), "one more, not a new burst");
    }

    #[test]
    fn keys_are_independent() {
        let limiter = RateLimiter::new(1, Duration::from_secs(10), 100);
        let t0 = Instant::now();
        assert!(limiter.check_at("account:alice", t0).is_ok());
        assert!(limiter.check_at("account:alice", t0).is_err());
        assert!(limiter.check_at("account:bob", t0).is_ok());
    }

    #[test]
    fn refused_requests_do_not_push_the_schedule_further() {
        let limiter = RateLimiter::new(2, Duration::from_secs(10), 100);
        let t0 = Instant::now();
        limiter.check_at("k", t0).unwrap();
        limiter.check_at("k", t0).unwrap();
        for _ in 0..100 {
            assert!(limiter.check_at("k", t0).is_err());
        }
        assert!(limiter.check_at("k", t0 + Duration::from_secs(5)).is_ok(), "hammering does not extend the wait");
    }

    #[test]
    fn memory_stays_bounded() {
        let limiter = RateLimiter::new(3, Duration::from_secs(60), 50);
        let t0 = Instant::now();
        for i in 0..10_000 {
            limiter.check_at(&format!("ip:{i}"), t0).unwrap();
        }
        assert!(limiter.tracked() <= 50);
    }

    #[test]
    fn a_key_in_use_survives_a_flood_of_new_ones_for_a_generation() {
        let limiter = RateLimiter::new(1, Duration::from_secs(60), 1000);
        let t0 = Instant::now();
        limiter.check_at("account:victim", t0).unwrap();
        for i in 0..499 {
            limiter.check_at(&format!("flood:{i}"), t0).unwrap();
        }
        assert!(limiter.check_at("account:victim", t0).is_err(), "one generation later it is still limited");
        let huge = "x".repeat(2 << 20);
        limiter.check_at(&huge, t0).unwrap();
        assert!(limiter.check_at(&huge, t0).is_err(), "a 2 MB key is a key like any other");
    }
}
