//! The dashboards' storage budget: which dashboards eviction deletes, and
//! which are at risk of it.
//!
//! Eviction starts when the dashboards together reach `evict_at_percent` of
//! the budget and deletes until they are down to `target_percent`. It takes
//! first from the owners over their share (`per_user` bytes), least recently
//! used (viewed or saved) first, and only then from everyone, least recently
//! used first: one account filling the budget loses its own dashboards, not
//! everyone else's. Whitelisted and protected dashboards are never
//! candidates, but count towards their owner's usage. A dashboard is *at
//! risk* once usage is past halfway from the target to the threshold and a
//! pass run now would delete it; its owner sees a warning.

use std::collections::HashMap;

/// Unless configured: 10 GB, evict at 95 %, down to 60 %, and a tenth of
/// the budget as each owner's share.
pub const DEFAULT_BUDGET: u64 = 10_000_000_000;
pub const DEFAULT_EVICT_AT_PERCENT: u8 = 95;
pub const DEFAULT_TARGET_PERCENT: u8 = 60;
pub const DEFAULT_USER_SHARE_DIVISOR: u64 = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub total: u64,
    pub evict_at_percent: u8,
    pub target_percent: u8,
    /// Bytes one owner's dashboards may take before eviction takes from
    /// them ahead of everyone else.
    pub per_user: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Self {
            total: DEFAULT_BUDGET,
            evict_at_percent: DEFAULT_EVICT_AT_PERCENT,
            target_percent: DEFAULT_TARGET_PERCENT,
            per_user: DEFAULT_BUDGET / DEFAULT_USER_SHARE_DIVISOR,
        }
    }
}

impl Budget {
    /// Checks the configuration: 0 < target < threshold ≤ 100, and
    /// 0 < share ≤ total (a tenth of the total unless given).
    pub fn new(total: u64, evict_at_percent: u8, target_percent: u8, per_user: Option<u64>) -> Result<Self, String> {
        if total == 0 {
            return Err("the dashboard storage budget must be more than 0 bytes".into());
        }
        if !(1..=100).contains(&evict_at_percent) || target_percent == 0 || target_percent >= evict_at_percent {
            return Err(format!("dashboard eviction needs 0 < target ({target_percent} %) < threshold ({evict_at_percent} %) ≤ 100"));
        }
        let per_user = per_user.unwrap_or((total / DEFAULT_USER_SHARE_DIVISOR).max(1));
        if per_user == 0 || per_user > total {
            return Err(format!("each owner's dashboard share must be 1 to {total} bytes (the whole budget), not {per_user}"));
        }
        Ok(Self { total, evict_at_percent, target_percent, per_user })
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
    pub owner: String,
    pub bytes: u64,
    pub last_used: i64,
}

/// What all dashboards take: in total, and per owner (kept ones included).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Usage {
    pub total: u64,
    pub count: u64,
    pub by_owner: HashMap<String, u64>,
}

impl Usage {
    pub fn add(&mut self, owner: &str, bytes: u64) {
        self.total += bytes;
        self.count += 1;
        *self.by_owner.entry(owner.to_owned()).or_default() += bytes;
    }
}

/// The dashboards to delete to bring usage down to `down_to`: first the
/// least recently used of owners over `share` (each only while still over
/// it), then the least recently used of the rest. All of `candidates` may
/// go (the kept ones are not in it). Ties go by id, so every node picks the
/// same ones.
pub fn plan(usage: &Usage, mut candidates: Vec<Candidate>, down_to: u64, share: u64) -> Vec<Candidate> {
    if usage.total <= down_to {
        return Vec::new();
    }
    candidates.sort_unstable_by(|a, b| a.last_used.cmp(&b.last_used).then_with(|| a.id.cmp(&b.id)));
    let mut left = usage.total;
    let mut owners = usage.by_owner.clone();
    let mut order = Vec::new();
    let mut chosen = vec![false; candidates.len()];
    for over_share_only in [true, false] {
        for (i, candidate) in candidates.iter().enumerate() {
            if left <= down_to {
                break;
            }
            let owner = owners.entry(candidate.owner.clone()).or_default();
            if chosen[i] || (over_share_only && *owner <= share) {
                continue;
            }
            *owner = owner.saturating_sub(candidate.bytes);
            left = left.saturating_sub(candidate.bytes);
            chosen[i] = true;
            order.push(i);
        }
    }
    let mut slots: Vec<Option<Candidate>> = candidates.into_iter().map(Some).collect();
    order.into_iter().filter_map(|i| slots[i].take()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, owner: &str, bytes: u64, last_used: i64) -> Candidate {
        Candidate { id: id.into(), owner: owner.into(), bytes, last_used }
    }

    fn usage(of: &[Candidate], kept: &[(&str, u64)]) -> Usage {
        let mut usage = Usage::default();
        for candidate in of {
            usage.add(&candidate.owner, candidate.bytes);
        }
        for (owner, bytes) in kept {
            usage.add(owner, *bytes);
        }
        usage
    }

    fn ids(chosen: &[Candidate]) -> Vec<&str> {
        chosen.iter().map(|c| c.id.as_str()).collect()
    }

    #[test]
    fn least_recently_used_go_first_until_the_target() {
        let all = vec![c("new", "ann", 30, 30), c("old", "ann", 30, 10), c("mid", "ann", 30, 20)];
        let chosen = plan(&usage(&all, &[("ann", 10)]), all.clone(), 60, 1000);
        assert_eq!(ids(&chosen), ["old", "mid"]);
        assert!(plan(&usage(&all[..1], &[("ann", 30)]), all, 60, 1000).is_empty());
    }

    #[test]
    fn owners_over_their_share_lose_theirs_first() {
        // Ann's is the oldest, but Max is over his share of 40.
        let all = vec![
            c("ann1", "ann", 20, 1),
            c("max1", "max", 20, 5),
            c("max2", "max", 20, 6),
            c("max3", "max", 20, 7),
            c("max4", "max", 20, 8),
        ];
        assert_eq!(ids(&plan(&usage(&all, &[]), all.clone(), 60, 40)), ["max1", "max2"]);
        // Max down to his share and still over the target: everyone's oldest next.
        assert_eq!(ids(&plan(&usage(&all, &[]), all.clone(), 20, 40)), ["max1", "max2", "ann1", "max3"]);
        // Kept (whitelisted) bytes count towards the share.
        let few = vec![c("ann1", "ann", 20, 1), c("max1", "max", 20, 5)];
        assert_eq!(ids(&plan(&usage(&few, &[("max", 100)]), few.clone(), 120, 40)), ["max1"]);
        assert_eq!(ids(&plan(&usage(&few, &[]), few, 20, 40)), ["ann1"]);
    }

    #[test]
    fn budgets_are_checked() {
        let budget = Budget::new(1000, 95, 60, None).unwrap();
        assert_eq!((budget.evict_at(), budget.target(), budget.warn_at(), budget.per_user), (950, 600, 775, 100));
        assert!(Budget::new(1000, 60, 60, None).is_err());
        assert!(Budget::new(1000, 101, 60, None).is_err());
        assert!(Budget::new(0, 95, 60, None).is_err());
        assert!(Budget::new(1000, 95, 60, Some(0)).is_err());
        assert!(Budget::new(1000, 95, 60, Some(1001)).is_err());
        assert_eq!(Budget::new(1000, 95, 60, Some(1000)).unwrap().per_user, 1000);
    }
}
