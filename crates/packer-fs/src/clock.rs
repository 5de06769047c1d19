//! [`SystemClock`]: the real clock behind [`ClockPort`].

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use packer_domain::ports::ClockPort;

/// Monotonic time from the moment the clock was made; wall-clock time from the system.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    pub fn new() -> SystemClock {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> SystemClock {
        SystemClock::new()
    }
}

impl ClockPort for SystemClock {
    fn elapsed(&self) -> Duration {
        self.origin.elapsed()
    }

    fn wall_clock_ns(&self) -> i64 {
        // A clock set before 1970 gives negative times, as file systems store them.
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
            Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |ns| -ns),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_tells_monotonic_and_wall_time() {
        let clock = SystemClock::new();
        let first = clock.elapsed();
        assert!(clock.elapsed() >= first);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let told = u128::try_from(clock.wall_clock_ns()).unwrap();
        // Within a minute of the system's own answer: the same clock, read twice.
        assert!(told.abs_diff(now) < 60_000_000_000, "{told} vs {now}");
    }
}
