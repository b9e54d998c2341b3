//! Trials running at once on this server (`--max-sessions` above 1), with two jobs, both server-wide:
//!
//! - the budget: `--max-streams` and `--max-buffer-memory` bound each trial and also every running
//!   trial together, however many sessions share the server, so N sessions cannot make it hold N times
//!   what its operator allowed; a trial that would go over is refused in one line naming what is in use;
//! - the company: which trials ran beside which, and which CPUs they were pinned to in common, so a
//!   report made while the server was shared says so ([`ServerSharing`]); and which CPUs the trials
//!   running now use, so a new trial's threads go elsewhere when there is room.
//!
//! Each running trial holds a [`TrialTicket`]; dropping it (the trial ended, failed or panicked) gives
//! its streams and memory back.

use crate::model::ServerSharing;
use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

/// The server's running trials.
pub struct TrialRegistry {
    max_streams: u64,
    max_buffer_bytes: u64,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    running: Vec<Entry>,
}

/// One running trial and the company it has had.
struct Entry {
    id: u64,
    streams: u64,
    bytes: u64,
    cpus: Vec<usize>,
    /// Trials that ran beside this one at some moment.
    beside: BTreeSet<u64>,
    /// The most trials running at once (this one included) while it ran.
    most_at_once: usize,
    cpus_shared: BTreeSet<usize>,
}

/// A running trial's hold on the server's budget; given back on drop.
pub struct TrialTicket<'a> {
    registry: &'a TrialRegistry,
    id: u64,
}

impl TrialRegistry {
    pub fn new(max_streams: u32, max_buffer_bytes: u64) -> TrialRegistry {
        TrialRegistry {
            max_streams: u64::from(max_streams),
            max_buffer_bytes,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserves a trial's streams and buffer memory beside the trials running now; the refusal says
    /// what they hold.
    pub fn reserve(&self, streams: u32, bytes: u64) -> Result<TrialTicket<'_>, String> {
        let mut state = self.state();
        let others = state.running.len();
        let held_streams: u64 = state.running.iter().map(|e| e.streams).sum();
        let held_bytes: u64 = state.running.iter().map(|e| e.bytes).sum();
        let streams = u64::from(streams);
        if held_streams + streams > self.max_streams {
            return Err(format!(
                "the server's other {others} running trial(s) hold {held_streams} of its {} streams \
                 (--max-streams counts all sessions together): ask for at most {} or try again when they \
                 are done",
                self.max_streams,
                self.max_streams.saturating_sub(held_streams)
            ));
        }
        if held_bytes.saturating_add(bytes) > self.max_buffer_bytes {
            return Err(format!(
                "the server's other {others} running trial(s) hold {held_bytes} of its {} bytes of buffer \
                 memory (--max-buffer-memory counts all sessions together) and this trial needs {bytes}: \
                 try fewer streams or a smaller message, or again when they are done",
                self.max_buffer_bytes
            ));
        }
        let id = state.next_id;
        state.next_id += 1;
        state.running.push(Entry {
            id,
            streams,
            bytes,
            cpus: Vec::new(),
            beside: BTreeSet::new(),
            most_at_once: 0,
            cpus_shared: BTreeSet::new(),
        });
        state.note_company();
        Ok(TrialTicket { registry: self, id })
    }
}

impl State {
    /// Every running trial notes the others as company, and how many run at once now.
    fn note_company(&mut self) {
        let ids: Vec<u64> = self.running.iter().map(|e| e.id).collect();
        let now = ids.len();
        for entry in &mut self.running {
            entry.most_at_once = entry.most_at_once.max(now);
            entry
                .beside
                .extend(ids.iter().filter(|&&id| id != entry.id));
        }
    }
}

impl TrialTicket<'_> {
    /// CPUs the other running trials' threads are pinned to (a new trial's threads avoid them where
    /// it can).
    pub fn busy_cpus(&self) -> Vec<usize> {
        let state = self.registry.state();
        let busy: BTreeSet<usize> = state
            .running
            .iter()
            .filter(|e| e.id != self.id)
            .flat_map(|e| e.cpus.iter().copied())
            .collect();
        busy.into_iter().collect()
    }

    /// This trial's CPUs: each running trial that uses one of them too notes it, and so does this one.
    pub fn set_cpus(&self, cpus: &[usize]) {
        let mut state = self.registry.state();
        let mine: BTreeSet<usize> = cpus.iter().copied().collect();
        let mut shared_here = BTreeSet::new();
        for entry in state.running.iter_mut().filter(|e| e.id != self.id) {
            let common: Vec<usize> = entry
                .cpus
                .iter()
                .filter(|c| mine.contains(c))
                .copied()
                .collect();
            entry.cpus_shared.extend(common.iter().copied());
            shared_here.extend(common);
        }
        if let Some(entry) = state.running.iter_mut().find(|e| e.id == self.id) {
            entry.cpus = cpus.to_vec();
            entry.cpus_shared.extend(shared_here);
        }
    }

    /// What this trial shared the server with so far; `None` when it ran alone.
    pub fn sharing(&self) -> Option<ServerSharing> {
        let state = self.registry.state();
        let entry = state.running.iter().find(|e| e.id == self.id)?;
        (!entry.beside.is_empty()).then(|| {
            ServerSharing::new(
                entry.beside.len() as u32,
                entry.most_at_once.saturating_sub(1) as u32,
                entry.cpus_shared.iter().copied().collect(),
            )
        })
    }
}

impl Drop for TrialTicket<'_> {
    fn drop(&mut self) {
        self.registry.state().running.retain(|e| e.id != self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_and_memory_hold_for_all_running_trials_together() {
        let registry = TrialRegistry::new(4, 1000);
        let first = registry.reserve(3, 600).unwrap();
        let e = registry.reserve(2, 100).err().unwrap();
        assert!(
            e.contains("hold 3 of its 4 streams") && e.contains("at most 1"),
            "{e}"
        );
        let e = registry.reserve(1, 500).err().unwrap();
        assert!(e.contains("hold 600 of its 1000 bytes"), "{e}");
        let second = registry.reserve(1, 400).unwrap();
        drop(first);
        // What the first held is free again.
        let third = registry.reserve(3, 600).unwrap();
        drop((second, third));
        assert!(registry.reserve(4, 1000).is_ok());
    }

    #[test]
    fn a_trial_alone_shares_nothing_and_company_is_remembered_after_it_leaves() {
        let registry = TrialRegistry::new(16, 1 << 30);
        let a = registry.reserve(1, 1).unwrap();
        a.set_cpus(&[0, 1]);
        assert_eq!(a.sharing(), None);
        let b = registry.reserve(1, 1).unwrap();
        assert_eq!(b.busy_cpus(), vec![0, 1]);
        b.set_cpus(&[1, 2]);
        let c = registry.reserve(1, 1).unwrap();
        c.set_cpus(&[3]);
        drop(b);
        let seen_by_a = a.sharing().unwrap();
        assert_eq!((seen_by_a.other_trials, seen_by_a.most_at_once), (2, 2));
        assert_eq!(seen_by_a.cpus_shared, vec![1]);
        assert!(
            seen_by_a.summary.contains("sharing CPU 1"),
            "{}",
            seen_by_a.summary
        );
        let seen_by_c = c.sharing().unwrap();
        assert_eq!(
            (seen_by_c.other_trials, seen_by_c.cpus_shared.len()),
            (2, 0)
        );
        assert!(seen_by_c.summary.contains("no CPU of this trial's"));
        drop((a, c));
        let alone = registry.reserve(1, 1).unwrap();
        assert_eq!(alone.sharing(), None);
    }
}
