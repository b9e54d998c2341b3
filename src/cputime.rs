//! CPU time: a thread's own user and system time (`getrusage(RUSAGE_THREAD)`), and the host's
//! aggregate CPU time from `/proc/stat`, from which a window's utilization follows.

use nix::sys::resource::{getrusage, UsageWho};
use nix::sys::time::TimeVal;
use std::path::Path;
use std::time::Duration;

/// The calling thread's user and system CPU time so far; zero where the kernel refuses (it never does
/// on Linux 2.6.26 and later).
pub fn thread_times() -> (Duration, Duration) {
    match getrusage(UsageWho::RUSAGE_THREAD) {
        Ok(usage) => (duration(usage.user_time()), duration(usage.system_time())),
        Err(_) => (Duration::ZERO, Duration::ZERO),
    }
}

fn duration(t: TimeVal) -> Duration {
    let secs = u64::try_from(t.tv_sec()).unwrap_or(0);
    let micros = u32::try_from(t.tv_usec()).unwrap_or(0).min(999_999);
    Duration::new(secs, micros * 1000)
}

/// The first line of `/proc/stat`: every CPU's time since boot, in clock ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HostTicks {
    /// user + nice
    pub user: u64,
    /// system + irq + softirq
    pub system: u64,
    /// idle + iowait
    pub idle: u64,
    /// steal (time a hypervisor gave to others), counted as busy: this host could not run then
    pub steal: u64,
    /// Online CPUs (`cpuN` lines).
    pub cpus: u32,
}

impl HostTicks {
    /// Reads `<root>/proc/stat`; `None` when it is missing or malformed.
    pub fn read(root: &Path) -> Option<HostTicks> {
        let text = std::fs::read_to_string(root.join("proc/stat")).ok()?;
        HostTicks::parse(&text)
    }

    /// Parses `/proc/stat`'s text.
    pub fn parse(text: &str) -> Option<HostTicks> {
        let mut lines = text.lines();
        let first = lines.next()?;
        let mut fields = first.split_whitespace();
        if fields.next()? != "cpu" {
            return None;
        }
        let v: Vec<u64> = fields.map_while(|f| f.parse().ok()).collect();
        let at = |i: usize| v.get(i).copied().unwrap_or(0);
        if v.len() < 4 {
            return None;
        }
        let cpus = lines
            .filter(|l| l.starts_with("cpu") && l.as_bytes().get(3).is_some_and(u8::is_ascii_digit))
            .count();
        Some(HostTicks {
            user: at(0) + at(1),
            system: at(2) + at(5) + at(6),
            idle: at(3) + at(4),
            steal: at(7),
            cpus: u32::try_from(cpus).unwrap_or(u32::MAX),
        })
    }

    fn total(&self) -> u64 {
        self.user + self.system + self.idle + self.steal
    }

    /// Shares of the window from `self` to `later`, in percent of all CPUs: (busy, user, system);
    /// `None` when no tick passed.
    pub fn shares_until(&self, later: &HostTicks) -> Option<(f64, f64, f64)> {
        let total = later.total().checked_sub(self.total())? as f64;
        if total <= 0.0 {
            return None;
        }
        let user = later.user.saturating_sub(self.user) as f64;
        let system = later.system.saturating_sub(self.system) as f64;
        let steal = later.steal.saturating_sub(self.steal) as f64;
        let pct = |x: f64| 100.0 * x / total;
        Some((pct(user + system + steal), pct(user), pct(system)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &str = "cpu  100 10 50 800 20 5 15 0 0 0\ncpu0 50 5 25 400 10 2 8 0 0 0\n\
                        cpu1 50 5 25 400 10 3 7 0 0 0\nintr 1 2 3\n";

    #[test]
    fn parses_the_aggregate_line_and_counts_cpus() {
        let t = HostTicks::parse(STAT).unwrap();
        assert_eq!(
            (t.user, t.system, t.idle, t.steal, t.cpus),
            (110, 70, 820, 0, 2)
        );
        assert!(HostTicks::parse("intr 1 2\n").is_none());
    }

    #[test]
    fn utilization_is_the_busy_share_of_the_window() {
        let a = HostTicks::parse(STAT).unwrap();
        let b = HostTicks {
            user: a.user + 30,
            system: a.system + 20,
            idle: a.idle + 50,
            ..a
        };
        let (busy, user, system) = a.shares_until(&b).unwrap();
        assert_eq!((busy, user, system), (50.0, 30.0, 20.0));
        assert!(a.shares_until(&a).is_none());
    }

    #[test]
    fn a_busy_thread_accumulates_its_own_time() {
        let (u0, s0) = thread_times();
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(50) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        let (u1, s1) = thread_times();
        assert!(x > 0);
        assert!(
            (u1 + s1) - (u0 + s0) >= Duration::from_millis(20),
            "{u0:?} {u1:?}"
        );
    }
}
