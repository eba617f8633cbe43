//! Group commit for directory fsyncs.
//!
//! A rename is durable once its directory is fsynced. Commits that run at
//! the same time ask for their directories and wait. One of them at a time
//! fsyncs every directory asked for since the last round, then wakes those
//! whose directories it covered. So 32 concurrent PUTs cost a few rounds of
//! fsyncs, not 32 of each.

use std::collections::{BTreeSet, VecDeque};
use std::io;
use std::path::PathBuf;
use std::sync::{Condvar, Mutex};

/// Rounds whose failure is remembered for the waiters still to wake.
const FAILURES_KEPT: usize = 64;

#[derive(Default)]
pub(crate) struct GroupSync {
    state: Mutex<State>,
    done: Condvar,
}

#[derive(Default)]
struct State {
    /// Directories asked for, for the round after `started`.
    pending: BTreeSet<PathBuf>,
    /// The last round begun (rounds count from 1).
    started: u64,
    /// Every round up to this one has ended.
    completed: u64,
    /// A round is running (its fsyncs happen without the lock held).
    running: bool,
    /// Recent rounds that failed, with the error.
    failures: VecDeque<(u64, io::ErrorKind, String)>,
}

impl GroupSync {
    /// Makes `dirs` durable: returns once a round that began after they were
    /// asked for has fsynced them. Blocking; call it off the executor.
    pub(crate) fn sync(&self, dirs: impl IntoIterator<Item = PathBuf>) -> io::Result<()> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.pending.extend(dirs);
        let mine = state.started + 1;
        loop {
            if state.completed >= mine {
                return match state.failures.iter().find(|(round, ..)| *round == mine) {
                    Some((_, kind, message)) => Err(io::Error::new(*kind, message.clone())),
                    None => Ok(()),
                };
            }
            if state.running {
                state = self.done.wait(state).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            // Lead the next round: take what is pending and fsync it.
            state.running = true;
            state.started += 1;
            let round = state.started;
            let dirs = std::mem::take(&mut state.pending);
            drop(state);
            let outcome = dirs.iter().try_for_each(|dir| std::fs::File::open(dir)?.sync_all());
            state = self.state.lock().unwrap_or_else(|e| e.into_inner());
            state.running = false;
            state.completed = round;
            if let Err(err) = outcome {
                if state.failures.len() == FAILURES_KEPT {
                    state.failures.pop_front();
                }
                state.failures.push_back((round, err.kind(), err.to_string()));
            }
            self.done.notify_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn every_caller_returns_after_a_round_that_covered_its_directories() {
        let dir = tempfile::tempdir().unwrap();
        let dirs: Vec<PathBuf> = (0..4)
            .map(|i| {
                let d = dir.path().join(format!("d{i}"));
                std::fs::create_dir(&d).unwrap();
                d
            })
            .collect();
        let sync = Arc::new(GroupSync::default());
        let threads: Vec<_> = (0..32)
            .map(|i| {
                let (sync, d) = (Arc::clone(&sync), dirs[i % 4].clone());
                std::thread::spawn(move || sync.sync([d]))
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
        let state = sync.state.lock().unwrap();
        assert!(state.pending.is_empty() && !state.running);
        assert!(state.completed <= 32, "{} rounds", state.completed);
    }

    #[test]
    fn a_failed_fsync_is_reported_to_the_callers_of_its_round() {
        let sync = GroupSync::default();
        let err = sync.sync([PathBuf::from("/nonexistent/agora-group-sync")]).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::NotFound);
        let dir = tempfile::tempdir().unwrap();
        sync.sync([dir.path().to_path_buf()]).unwrap();
    }
}
