//! [`ManualClock`]: a [`ClockPort`] that moves only when a test moves it, so that
//! debounce windows and timeouts are driven, never waited for.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use packer_domain::ports::ClockPort;

use crate::tree::CLOCK_ORIGIN_NS;

/// A clock driven by hand. Clones share the same time.
///
/// `elapsed` starts at zero and `wall_clock_ns` at the same origin as the file times of
/// a [`MemFs`](crate::MemFs) (November 2023). [`advance`](Self::advance) moves both, as
/// time passing does; [`set_wall_clock_ns`](Self::set_wall_clock_ns) moves only the
/// wall clock, as a clock adjustment does.
#[derive(Debug, Clone)]
pub struct ManualClock {
    now: Arc<Mutex<Now>>,
}

#[derive(Debug)]
struct Now {
    elapsed: Duration,
    wall_clock_ns: i64,
}

impl ManualClock {
    pub fn new() -> ManualClock {
        ManualClock {
            now: Arc::new(Mutex::new(Now {
                elapsed: Duration::ZERO,
                wall_clock_ns: CLOCK_ORIGIN_NS,
            })),
        }
    }

    /// Lets `by` pass: the monotonic and the wall clock both move forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now();
        now.elapsed = now.elapsed.saturating_add(by);
        let by_ns = i64::try_from(by.as_nanos()).unwrap_or(i64::MAX);
        now.wall_clock_ns = now.wall_clock_ns.saturating_add(by_ns);
    }

    /// Sets the wall clock, forwards or backwards; the monotonic clock does not move.
    pub fn set_wall_clock_ns(&self, ns: i64) {
        self.now().wall_clock_ns = ns;
    }

    fn now(&self) -> std::sync::MutexGuard<'_, Now> {
        // The critical sections cannot panic; a poisoned lock still holds a valid time.
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Default for ManualClock {
    fn default() -> ManualClock {
        ManualClock::new()
    }
}

impl ClockPort for ManualClock {
    fn elapsed(&self) -> Duration {
        self.now().elapsed
    }

    fn wall_clock_ns(&self) -> i64 {
        self.now().wall_clock_ns
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_only_when_driven() {
        let clock = ManualClock::new();
        let shared = clock.clone();
        assert_eq!(clock.elapsed(), Duration::ZERO);
        assert_eq!(clock.wall_clock_ns(), CLOCK_ORIGIN_NS);

        shared.advance(Duration::from_millis(250));
        assert_eq!(clock.elapsed(), Duration::from_millis(250));
        assert_eq!(clock.wall_clock_ns(), CLOCK_ORIGIN_NS + 250_000_000);

        clock.set_wall_clock_ns(42);
        assert_eq!(clock.elapsed(), Duration::from_millis(250));
        assert_eq!(shared.wall_clock_ns(), 42);

        clock.advance(Duration::MAX);
        assert_eq!(clock.elapsed(), Duration::MAX);
        assert_eq!(clock.wall_clock_ns(), i64::MAX);
    }
}
