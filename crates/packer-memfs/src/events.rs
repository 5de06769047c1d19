//! [`EventLog`]: an [`EventPort`] that records every event, for tests to inspect or to
//! wait on (with a deadline, woken by each publication, never by polling).

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use packer_domain::event::Event;
use packer_domain::ports::EventPort;

/// Records published events in order. Clones share the same log.
#[derive(Debug, Clone, Default)]
pub struct EventLog {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    events: Mutex<Vec<Event>>,
    published: Condvar,
}

impl EventLog {
    pub fn new() -> EventLog {
        EventLog::default()
    }

    /// Every event recorded so far, oldest first.
    pub fn events(&self) -> Vec<Event> {
        self.events_guard().clone()
    }

    /// The first recorded event, already published or published before `deadline` has
    /// passed, that satisfies `pred`; `None` at the deadline.
    ///
    /// `pred` runs with the log locked: it must not use this log (or its clones).
    pub fn wait_for(&self, pred: impl Fn(&Event) -> bool, deadline: Duration) -> Option<Event> {
        let started = Instant::now();
        let mut events = self.events_guard();
        // Events before `checked` were already looked at.
        let mut checked = 0;
        loop {
            if checked > events.len() {
                // Cleared meanwhile: everything there is new.
                checked = 0;
            }
            if let Some(found) = events
                .get(checked..)
                .and_then(|new| new.iter().find(|e| pred(e)))
            {
                return Some(found.clone());
            }
            checked = events.len();
            let left = deadline.checked_sub(started.elapsed())?;
            if left.is_zero() {
                return None;
            }
            events = self
                .shared
                .published
                .wait_timeout(events, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Forgets every recorded event.
    pub fn clear(&self) {
        self.events_guard().clear();
    }

    fn events_guard(&self) -> MutexGuard<'_, Vec<Event>> {
        // Pushing, cloning and clearing cannot leave the list half-changed, so a lock
        // poisoned by a panicking `pred` elsewhere still guards a valid list.
        self.shared
            .events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl EventPort for EventLog {
    fn publish(&self, event: Event) {
        self.events_guard().push(event);
        self.shared.published.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use std::thread;

    use packer_domain::event::{CommandId, RecoveryOutcome};

    use super::*;

    fn committed(generation: u64) -> Event {
        Event::SnapshotCommitted {
            generation,
            command_id: CommandId(generation),
            changed: Vec::new(),
        }
    }

    fn recovered(generation: u64) -> Event {
        Event::RecoveryPerformed {
            generation,
            transaction: format!("tx-{generation}"),
            outcome: RecoveryOutcome::Discarded,
            command_id: None,
        }
    }

    #[test]
    fn records_in_order_and_clears() {
        let log = EventLog::new();
        log.publish(committed(1));
        log.clone().publish(recovered(2));
        assert_eq!(log.events(), vec![committed(1), recovered(2)]);
        log.clear();
        assert_eq!(log.events(), Vec::new());
    }

    #[test]
    fn wait_for_sees_events_already_published() {
        let log = EventLog::new();
        log.publish(committed(1));
        log.publish(committed(2));
        let found = log.wait_for(|e| e.generation() == 2, Duration::ZERO);
        assert_eq!(found, Some(committed(2)));
    }

    #[test]
    fn wait_for_gives_up_at_the_deadline() {
        let log = EventLog::new();
        log.publish(committed(1));
        let found = log.wait_for(
            |e| e.name() == "recovery_performed",
            Duration::from_millis(20),
        );
        assert_eq!(found, None);
    }

    #[test]
    fn wait_for_wakes_on_a_publication_from_another_thread() {
        let log = EventLog::new();
        let publisher = log.clone();
        let waiter = {
            let log = log.clone();
            thread::spawn(move || {
                log.wait_for(
                    |e| e.name() == "recovery_performed",
                    Duration::from_secs(60),
                )
            })
        };
        // The waiter may start before or after these: either way it must find the event.
        publisher.publish(committed(1));
        publisher.publish(recovered(2));
        publisher.publish(recovered(3));
        let found = waiter.join().expect("the waiting thread does not panic");
        assert_eq!(found, Some(recovered(2)));
    }

    #[test]
    fn wait_for_wakes_while_blocked() {
        let log = EventLog::new();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let waiter = {
            let log = log.clone();
            thread::spawn(move || {
                let _ = started_tx.send(());
                log.wait_for(|e| e.generation() == 7, Duration::from_secs(60))
            })
        };
        started_rx.recv().expect("the waiter starts");
        for generation in 1..=7 {
            log.publish(committed(generation));
        }
        let found = waiter.join().expect("the waiting thread does not panic");
        assert_eq!(found, Some(committed(7)));
    }
}
