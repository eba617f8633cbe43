//! The dashboards' storage budget: which dashboards eviction deletes, and
//! which are at risk of it.
//!
//! Eviction starts when the dashboards together reach `evict_at_percent` of
//! the budget and deletes the least recently used (viewed or saved) first
//! until they are down to `target_percent`. Whitelisted and protected
//! dashboards are never candidates. A dashboard is *at risk* once usage is
//! past halfway from the target to the threshold and a pass run now would
//! delete it; its owner sees a warning.

/// Unless configured: 10 GB, evict at 95 %, down to 60 %.
pub const DEFAULT_BUDGET: u64 = 10_000_000_000;
pub const DEFAULT_EVICT_AT_PERCENT: u8 = 95;
pub const DEFAULT_TARGET_PERCENT: u8 = 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub total: u64,
    pub evict_at_percent: u8,
    pub target_percent: u8,
}

impl Default for Budget {
    fn default() -> Self {
        Self { total: DEFAULT_BUDGET, evict_at_percent: DEFAULT_EVICT_AT_PERCENT, target_percent: DEFAULT_TARGET_PERCENT }
    }
}

impl Budget {
    /// Checks the configuration: 0 < target < threshold ≤ 100.
    pub fn new(total: u64, evict_at_percent: u8, target_percent: u8) -> Result<Self, String> {
        if total == 0 {
            return Err("the dashboard storage budget must be more than 0 bytes".into());
        }
        if !(1..=100).contains(&evict_at_percent) || target_percent == 0 || target_percent >= evict_at_percent {
            return Err(format!("dashboard eviction needs 0 < target ({target_percent} %) < threshold ({evict_at_percent} %) ≤ 100"));
        }
        Ok(Self { total, evict_at_percent, target_percent })
    }

    fn share(&self, percent: u8) -> u64 {
        (self.total as u128 * percent as u128 / 100) as u64
    }

    pub fn evict_at(&self) -> u64 {
        self.share(self.evict_at_percent)
    }

    pub fn target(&self) -> u64 {
        self.share(self.target_percent)
    }

    /// From here on, the next in line are told they are at risk.
    pub fn warn_at(&self) -> u64 {
        self.target() + (self.evict_at() - self.target()) / 2
    }
}

/// A dashboard eviction may delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    pub bytes: u64,
    pub last_used: i64,
}

/// The dashboards to delete, least recently used first, to bring `used`
/// down to `down_to`: all of `candidates` may go (the kept ones are not in
/// it). Ties go by id, so every node picks the same ones.
pub fn plan(used: u64, mut candidates: Vec<Candidate>, down_to: u64) -> Vec<Candidate> {
    if used <= down_to {
        return Vec::new();
    }
    candidates.sort_unstable_by(|a, b| a.last_used.cmp(&b.last_used).then_with(|| a.id.cmp(&b.id)));
    let mut left = used;
    let mut chosen = Vec::new();
    for candidate in candidates {
        if left <= down_to {
            break;
        }
        left = left.saturating_sub(candidate.bytes);
        chosen.push(candidate);
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, bytes: u64, last_used: i64) -> Candidate {
        Candidate { id: id.into(), bytes, last_used }
    }

    #[test]
    fn least_recently_used_go_first_until_the_target() {
        let chosen = plan(100, vec![c("new", 30, 30), c("old", 30, 10), c("mid", 30, 20)], 60);
        assert_eq!(chosen.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["old", "mid"]);
        assert!(plan(60, vec![c("a", 10, 1)], 60).is_empty());
    }

    #[test]
    fn budgets_are_checked() {
        let budget = Budget::new(1000, 95, 60).unwrap();
        assert_eq!((budget.evict_at(), budget.target(), budget.warn_at()), (950, 600, 775));
        assert!(Budget::new(1000, 60, 60).is_err());
        assert!(Budget::new(1000, 101, 60).is_err());
        assert!(Budget::new(0, 95, 60).is_err());
    }
}
