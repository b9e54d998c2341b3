//! Session slots: how many clients the server serves at once (one today; `--max-sessions` later).
//!
//! A slot is taken only by a client that finished its handshake (and proved the key, when there is one),
//! so an unauthenticated connection never holds what authenticated clients need. It is held by a
//! [`SlotGuard`] that gives it back when dropped, also when the session panics, so a session can never
//! leave the server busy for good. A client that reconnects the moment its previous session ended waits
//! up to a short grace for the slot instead of being told "busy" while the old session closes.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The server's session slots.
pub struct SessionSlots {
    max: usize,
    used: Mutex<usize>,
    freed: Condvar,
}

/// One taken slot, given back on drop.
pub struct SlotGuard<'a> {
    slots: &'a SessionSlots,
}

impl SessionSlots {
    /// `max` sessions at once (at least one).
    pub fn new(max: usize) -> Self {
        SessionSlots {
            max: max.max(1),
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    fn used(&self) -> MutexGuard<'_, usize> {
        self.used.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes a slot, waiting up to `wait` for one to be freed; `None` when all stay taken.
    pub fn acquire(&self, wait: Duration) -> Option<SlotGuard<'_>> {
        let deadline = Instant::now() + wait;
        let mut used = self.used();
        while *used >= self.max {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            used = self
                .freed
                .wait_timeout(used, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        *used += 1;
        Some(SlotGuard { slots: self })
    }

    /// Sessions running now.
    #[cfg(test)]
    pub fn in_use(&self) -> usize {
        *self.used()
    }
}

impl Drop for SlotGuard<'_> {
    fn drop(&mut self) {
        let mut used = self.slots.used();
        *used = used.saturating_sub(1);
        self.slots.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_comes_back_even_from_a_panic() {
        let slots = SessionSlots::new(1);
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _slot = slots.acquire(Duration::ZERO).unwrap();
            assert!(slots.acquire(Duration::ZERO).is_none(), "busy while held");
            panic!("a session panicked");
        }));
        assert!(result.is_err());
        assert_eq!(slots.in_use(), 0);
        assert!(slots.acquire(Duration::ZERO).is_some());
    }

    #[test]
    fn a_waiting_client_gets_the_slot_when_it_is_freed() {
        let slots = std::sync::Arc::new(SessionSlots::new(1));
        let held = std::sync::Arc::clone(&slots);
        let (tx, rx) = std::sync::mpsc::channel();
        let holder = std::thread::spawn(move || {
            let slot = held.acquire(Duration::ZERO).unwrap();
            tx.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(100));
            drop(slot);
        });
        rx.recv().unwrap();
        assert!(slots.acquire(Duration::from_secs(10)).is_some());
        holder.join().unwrap();
    }
}
