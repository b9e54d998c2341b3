//! Trials running at once on this server (`--max-sessions` above 1), with two jobs, both server-wide:
//!
//! - the budget: `--max-streams` and `--max-buffer-memory` bound each trial and also every trial
//!   together, however many sessions share the server, so N sessions cannot make it hold N times what
//!   its operator allowed; a trial that would go over is refused in one line naming what is in use;
//! - the company: which trials ran beside which, and which CPUs they were pinned to in common, so a
//!   report made while the server was shared says so ([`ServerSharing`]); and which CPUs the other
//!   trials use, so a new trial's threads go elsewhere when there is room.
//!
//! Each trial holds a [`TrialTicket`] from its setup; dropping it (the trial ended, failed or panicked)
//! gives its streams and memory back, unless its data threads had to be left behind
//! ([`TrialTicket::abandon`]): they still hold what they took. A trial counts as company for the others
//! only from the moment its data threads start ([`TrialTicket::started`]) until they end
//! ([`TrialTicket::ended`]), so a trial refused during its setup, or one still sending its report, is
//! nobody's company. New trials choose their CPUs one at a time ([`TrialRegistry::placing`]), so two set
//! up at the same moment do not both take the same free CPUs.

use crate::model::ServerSharing;
use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};

/// The server's trials, from setup to the end of their report.
pub struct TrialRegistry {
    max_streams: u64,
    max_buffer_bytes: u64,
    state: Mutex<State>,
    /// Held from reading the busy CPUs to recording the chosen ones.
    placing: Mutex<()>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    trials: Vec<Entry>,
}

/// One trial and the company it has had.
struct Entry {
    id: u64,
    streams: u64,
    bytes: u64,
    cpus: Vec<usize>,
    /// Trials whose data threads ran beside this one's at some moment.
    beside: BTreeSet<u64>,
    /// The most trials running at once (this one included) while it ran.
    most_at_once: usize,
    cpus_shared: BTreeSet<usize>,
    /// Its data threads run (from `started` to `ended`): it is company for the others.
    running: bool,
    /// Its data threads were left behind: its budget stays held when the ticket drops.
    abandoned: bool,
}

/// A trial's hold on the server's budget; given back on drop.
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
            placing: Mutex::new(()),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Held while a trial reads the busy CPUs, chooses its own and records them.
    pub fn placing(&self) -> MutexGuard<'_, ()> {
        self.placing.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reserves a trial's streams and buffer memory beside the other trials'; the refusal says what
    /// they hold.
    pub fn reserve(&self, streams: u32, bytes: u64) -> Result<TrialTicket<'_>, String> {
        let mut state = self.state();
        let others = state.trials.len();
        let held_streams: u64 = state.trials.iter().map(|e| e.streams).sum();
        let held_bytes: u64 = state.trials.iter().map(|e| e.bytes).sum();
        let streams = u64::from(streams);
        if held_streams + streams > self.max_streams {
            return Err(format!(
                "the server's other {others} trial(s) hold {held_streams} of its {} streams \
                 (--max-streams counts all sessions together): ask for at most {} or try again when they \
                 are done",
                self.max_streams,
                self.max_streams.saturating_sub(held_streams)
            ));
        }
        if held_bytes.saturating_add(bytes) > self.max_buffer_bytes {
            return Err(format!(
                "the server's other {others} trial(s) hold {held_bytes} of its {} bytes of buffer memory \
                 (--max-buffer-memory counts all sessions together) and this trial needs {bytes}: try \
                 fewer streams or a smaller message, or again when they are done",
                self.max_buffer_bytes
            ));
        }
        let id = state.next_id;
        state.next_id += 1;
        state.trials.push(Entry {
            id,
            streams,
            bytes,
            cpus: Vec::new(),
            beside: BTreeSet::new(),
            most_at_once: 0,
            cpus_shared: BTreeSet::new(),
            running: false,
            abandoned: false,
        });
        Ok(TrialTicket { registry: self, id })
    }
}

impl State {
    /// Every trial whose threads run notes the others as company, and how many run at once now; the
    /// CPUs two of them share are noted by both.
    fn note_company(&mut self) {
        let company: Vec<(u64, Vec<usize>)> = self
            .trials
            .iter()
            .filter(|e| e.running)
            .map(|e| (e.id, e.cpus.clone()))
            .collect();
        for entry in self.trials.iter_mut().filter(|e| e.running) {
            entry.most_at_once = entry.most_at_once.max(company.len());
            for (id, cpus) in company.iter().filter(|(id, _)| *id != entry.id) {
                entry.beside.insert(*id);
                let common: Vec<usize> = cpus
                    .iter()
                    .filter(|c| entry.cpus.contains(c))
                    .copied()
                    .collect();
                entry.cpus_shared.extend(common);
            }
        }
    }

    fn entry(&mut self, id: u64) -> Option<&mut Entry> {
        self.trials.iter_mut().find(|e| e.id == id)
    }
}

impl TrialTicket<'_> {
    /// CPUs the other trials' threads are pinned to (a new trial's threads avoid them where it can).
    pub fn busy_cpus(&self) -> Vec<usize> {
        let state = self.registry.state();
        let busy: BTreeSet<usize> = state
            .trials
            .iter()
            .filter(|e| e.id != self.id)
            .flat_map(|e| e.cpus.iter().copied())
            .collect();
        busy.into_iter().collect()
    }

    /// This trial's CPUs (chosen while [`TrialRegistry::placing`] is held).
    pub fn set_cpus(&self, cpus: &[usize]) {
        if let Some(entry) = self.registry.state().entry(self.id) {
            entry.cpus = cpus.to_vec();
        }
    }

    /// The trial's data threads run: from now it is company for the others, and they for it.
    pub fn started(&self) {
        let mut state = self.registry.state();
        if let Some(entry) = state.entry(self.id) {
            entry.running = true;
        }
        state.note_company();
    }

    /// The trial's data threads have ended: what it shared the server with (`None`: it ran alone). It
    /// is nobody's company from now, though it holds its budget until the ticket drops.
    pub fn ended(&self) -> Option<ServerSharing> {
        let mut state = self.registry.state();
        let entry = state.entry(self.id)?;
        entry.running = false;
        (!entry.beside.is_empty()).then(|| {
            ServerSharing::new(
                entry.beside.len() as u32,
                entry.most_at_once.saturating_sub(1) as u32,
                entry.cpus_shared.iter().copied().collect(),
            )
        })
    }

    /// The trial's data threads could not be stopped and were left behind: its streams and memory stay
    /// counted for as long as the server runs.
    pub fn abandon(&self) {
        if let Some(entry) = self.registry.state().entry(self.id) {
            entry.abandoned = true;
            entry.running = false;
        }
    }
}

impl Drop for TrialTicket<'_> {
    fn drop(&mut self) {
        self.registry
            .state()
            .trials
            .retain(|e| e.id != self.id || e.abandoned);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_and_memory_hold_for_all_trials_together() {
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
        // Threads left behind keep what they hold.
        let stuck = registry.reserve(2, 10).unwrap();
        stuck.abandon();
        drop(stuck);
        assert!(registry.reserve(3, 10).is_err());
        assert!(registry.reserve(2, 10).is_ok());
    }

    #[test]
    fn company_counts_only_while_data_threads_run_and_is_remembered() {
        let registry = TrialRegistry::new(16, 1 << 30);
        let a = registry.reserve(1, 1).unwrap();
        a.set_cpus(&[0, 1]);
        a.started();
        // Reserved and placed but never started (refused in its setup): nobody's company.
        let refused = registry.reserve(1, 1).unwrap();
        refused.set_cpus(&[1]);
        drop(refused);
        let b = registry.reserve(1, 1).unwrap();
        assert_eq!(b.busy_cpus(), vec![0, 1]);
        b.set_cpus(&[1, 2]);
        b.started();
        let c = registry.reserve(1, 1).unwrap();
        c.set_cpus(&[3]);
        c.started();
        let seen_by_b = b.ended().unwrap();
        assert_eq!((seen_by_b.other_trials, seen_by_b.most_at_once), (2, 2));
        // A trial that starts after b ended is not b's company, nor b its.
        let d = registry.reserve(1, 1).unwrap();
        d.set_cpus(&[2]);
        d.started();
        let seen_by_d = d.ended().unwrap();
        assert_eq!(
            (seen_by_d.other_trials, seen_by_d.cpus_shared.len()),
            (2, 0)
        );
        let seen_by_a = a.ended().unwrap();
        assert_eq!((seen_by_a.other_trials, seen_by_a.most_at_once), (3, 2));
        assert_eq!(seen_by_a.cpus_shared, vec![1]);
        assert!(
            seen_by_a.summary.contains("sharing CPU 1"),
            "{}",
            seen_by_a.summary
        );
        let seen_by_c = c.ended().unwrap();
        assert!(seen_by_c.summary.contains("no CPU of this trial's"));
        drop((a, b, c, d));
        let alone = registry.reserve(1, 1).unwrap();
        alone.started();
        assert_eq!(alone.ended(), None);
    }
}
