//! Log lines for refused connections, at most [`LINES_PER_SECOND`] a second. A flood of connections from
//! outside `--allow`, or an accept loop out of descriptors, would otherwise write thousands of lines a
//! second; the lines left out are counted and said once the second is over ([`LogThrottle::flush`], which
//! the accept loop calls whenever it wakes), so nothing goes unsaid.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Lines written per one-second window at most.
pub const LINES_PER_SECOND: u32 = 10;

/// Counts lines in one-second windows.
pub struct LogThrottle {
    state: Mutex<Window>,
}

struct Window {
    started: Instant,
    lines: u32,
    left_out: u64,
}

impl Default for LogThrottle {
    fn default() -> Self {
        LogThrottle {
            state: Mutex::new(Window {
                started: Instant::now(),
                lines: 0,
                left_out: 0,
            }),
        }
    }
}

impl LogThrottle {
    /// Whether a line may be written now: `Some(n)` with the number of lines left out before it, or
    /// `None` to leave this one out.
    pub fn admit(&self) -> Option<u64> {
        let mut w = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if w.started.elapsed() >= Duration::from_secs(1) {
            w.started = Instant::now();
            w.lines = 0;
        }
        if w.lines >= LINES_PER_SECOND {
            w.left_out += 1;
            return None;
        }
        w.lines += 1;
        Some(std::mem::take(&mut w.left_out))
    }
}

impl LogThrottle {
    /// Says how many lines were left out, once their window is over.
    pub fn flush(&self) {
        let left_out = {
            let mut w = self.state.lock().unwrap_or_else(|p| p.into_inner());
            if w.left_out == 0 || w.started.elapsed() < Duration::from_secs(1) {
                return;
            }
            std::mem::take(&mut w.left_out)
        };
        tracing::warn!(
            "({left_out} similar lines left out: more than {LINES_PER_SECOND} a second)"
        );
    }
}

/// Writes one `warn!` line through `throttle`, saying how many similar lines were left out before it.
macro_rules! throttled_warn {
    ($throttle:expr, $($arg:tt)+) => {
        if let Some(left_out) = $throttle.admit() {
            if left_out > 0 {
                tracing::warn!("({left_out} similar lines left out: more than {} a second)",
                    $crate::server::throttle::LINES_PER_SECOND);
            }
            tracing::warn!($($arg)+);
        }
    };
}
pub(crate) use throttled_warn;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_cut_and_counted() {
        let t = LogThrottle::default();
        let written = (0..100).filter(|_| t.admit().is_some()).count();
        assert_eq!(written, LINES_PER_SECOND as usize);
        t.state.lock().unwrap().started -= Duration::from_secs(2);
        assert_eq!(t.admit(), Some(100 - u64::from(LINES_PER_SECOND)));
        assert_eq!(t.admit(), Some(0));
        t.admit();
        (0..20).for_each(|_| {
            t.admit();
        });
        t.state.lock().unwrap().started -= Duration::from_secs(2);
        t.flush();
        assert_eq!(t.state.lock().unwrap().left_out, 0, "said by flush");
    }
}
