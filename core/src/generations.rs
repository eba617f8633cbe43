//! A map bounded by a budget in two generations: entries go into the
//! current generation until it would exceed its budget, then it becomes the
//! previous one and the older is dropped whole. Every insert is O(1)
//! (amortised), whatever a flood of new keys does, and an entry is evicted
//! only when it was not written for a whole generation. The abuse limits
//! (budget: keys) and the markdown cache (budget: bytes) keep their state
//! in one.

use std::collections::HashMap;
use std::hash::Hash;

pub struct Generations<K, V> {
    /// Cost one generation may hold.
    budget: usize,
    current: HashMap<K, (V, usize)>,
    current_cost: usize,
    previous: HashMap<K, (V, usize)>,
}

impl<K: Hash + Eq, V> Generations<K, V> {
    /// Holds at most about `2 × budget` of cost (at least one entry per
    /// generation, however costly).
    pub fn new(budget: usize) -> Self {
        Generations { budget: budget.max(1), current: HashMap::new(), current_cost: 0, previous: HashMap::new() }
    }

    /// The entry, from either generation.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.current.get(key).or_else(|| self.previous.get(key)).map(|(v, _)| v)
    }

    /// Puts `value` (costing `cost`) in the current generation, replacing
    /// the key's entry in either.
    pub fn insert(&mut self, key: K, value: V, cost: usize) {
        if let Some((_, old)) = self.current.remove(&key) {
            self.current_cost -= old;
        }
        if self.current_cost + cost > self.budget && !self.current.is_empty() {
            self.previous = std::mem::take(&mut self.current);
            self.current_cost = 0;
        }
        self.previous.remove(&key);
        self.current_cost += cost;
        self.current.insert(key, (value, cost));
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Cost held, both generations.
    pub fn cost(&self) -> usize {
        self.current_cost + self.previous.values().map(|(_, c)| c).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::Generations;

    #[test]
    fn a_flood_stays_within_two_budgets_and_keeps_what_was_written_last_generation() {
        let mut map = Generations::new(100);
        map.insert("kept", 0, 1);
        for i in 0..99 {
            map.insert(format!("flood-{i}").leak(), i, 1);
        }
        assert_eq!(map.get(&"kept"), Some(&0), "still there after one generation");
        for i in 0..10_000 {
            map.insert(format!("more-{i}").leak(), i, 1);
            assert!(map.cost() <= 200);
        }
        assert_eq!(map.get(&"kept"), None, "gone once two generations passed");
    }

    #[test]
    fn replacing_an_entry_counts_its_cost_once() {
        let mut map = Generations::new(10);
        for _ in 0..100 {
            map.insert("a", (), 4);
        }
        assert_eq!((map.len(), map.cost()), (1, 4));
        map.insert("b", (), 4);
        map.insert("c", (), 4);
        assert_eq!(map.get(&"a"), Some(&()), "rotated into the previous generation, not lost");
        assert_eq!(map.cost(), 12);
    }
}
