//! The container's typed event bus: a value of any type is published once, and every
//! subscriber registered for that type receives it through its own bounded queue.
//!
//! Publishing never blocks (the packer publishes from its writer lane and must not wait
//! for a slow page). So a full queue cannot hold the event back — but it is never
//! skipped without trace either: the miss is counted on the subscription (which asks
//! [`Subscription::take_missed`] and knows to re-read what it shows), in the bus totals
//! ([`EventBus::stats`]), and announced as a [`SubscriberLagged`] event to whoever
//! listens for that type.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};

/// The one event bus of a booted container. Clones share the same bus.
#[derive(Clone)]
pub struct EventBus {
    shared: Arc<Shared>,
}

/// Names one subscription for its whole life, in lag reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(transparent)]
pub struct SubscriberId(pub u64);

/// A subscriber's queue was full, so an event of `event_type` did not reach it.
///
/// Published once per lag episode: when the subscriber first misses an event after it
/// last collected its count with [`Subscription::take_missed`]. Later misses in the same
/// episode only add to the count, so a stuck subscriber cannot flood the bus with
/// reports about itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SubscriberLagged {
    pub subscriber: SubscriberId,
    /// The name the subscriber gave when it registered.
    pub name: String,
    /// The Rust type of the event it missed.
    pub event_type: &'static str,
}

/// Counters over the bus's whole life.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct BusStats {
    /// Deliveries into a subscriber's queue.
    pub delivered: u64,
    /// Deliveries that found the subscriber's queue full.
    pub missed: u64,
}

/// What one publication did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Published {
    pub delivered: usize,
    pub missed: usize,
}

/// One subscriber's end of the bus for events of type `T`. Dropping it unsubscribes.
pub struct Subscription<T> {
    id: SubscriberId,
    receiver: Receiver<T>,
    missed: Arc<AtomicU64>,
    bus: Weak<Shared>,
}

impl EventBus {
    /// A bus with no subscribers. Only a booting container makes one, so that every
    /// part of Studio shares the container's bus and no second one exists.
    pub(crate) fn new() -> EventBus {
        EventBus {
            shared: Arc::new(Shared {
                topics: Mutex::new(HashMap::new()),
                next_subscriber: AtomicU64::new(1),
                delivered: AtomicU64::new(0),
                missed: AtomicU64::new(0),
            }),
        }
    }

    /// Registers for events of type `T`, with room for `capacity` undelivered ones
    /// (at least one). `name` says who is listening, in lag reports.
    pub fn subscribe<T>(&self, name: &str, capacity: usize) -> Subscription<T>
    where
        T: Clone + Send + 'static,
    {
        let id = SubscriberId(self.shared.next_subscriber.fetch_add(1, Ordering::Relaxed));
        let (sender, receiver) = crossbeam_channel::bounded(capacity.max(1));
        let missed = Arc::new(AtomicU64::new(0));
        let slot = Slot {
            id,
            name: name.to_owned(),
            sender,
            missed: Arc::clone(&missed),
        };
        let mut topics = self.shared.topics();
        let entry = topics
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Box::new(Topic::<T> { slots: Vec::new() }));
        if let Some(topic) = entry.downcast_mut::<Topic<T>>() {
            topic.slots.push(slot);
        }
        Subscription {
            id,
            receiver,
            missed,
            bus: Arc::downgrade(&self.shared),
        }
    }

    /// Hands `event` to every subscriber of `T`, without waiting for any of them.
    pub fn publish<T>(&self, event: T) -> Published
    where
        T: Clone + Send + 'static,
    {
        let mut published = Published::default();
        let mut reports = Vec::new();
        {
            let mut topics = self.shared.topics();
            let Some(topic) = topics
                .get_mut(&TypeId::of::<T>())
                .and_then(|topic| topic.downcast_mut::<Topic<T>>())
            else {
                return published;
            };
            topic.slots.retain(|slot| {
                match slot.sender.try_send(event.clone()) {
                    Ok(()) => published.delivered += 1,
                    Err(TrySendError::Full(_)) => {
                        published.missed += 1;
                        if slot.missed.fetch_add(1, Ordering::Relaxed) == 0 {
                            reports.push(SubscriberLagged {
                                subscriber: slot.id,
                                name: slot.name.clone(),
                                event_type: std::any::type_name::<T>(),
                            });
                        }
                    }
                    // The subscription is being dropped: it unsubscribes itself too.
                    Err(TrySendError::Disconnected(_)) => return false,
                }
                true
            });
        }
        self.shared
            .delivered
            .fetch_add(published.delivered as u64, Ordering::Relaxed);
        self.shared
            .missed
            .fetch_add(published.missed as u64, Ordering::Relaxed);
        // Reports about lag reports stay counts: publishing them too could recurse for
        // as long as a lag listener is itself behind.
        if TypeId::of::<T>() != TypeId::of::<SubscriberLagged>() {
            for report in reports {
                self.publish(report);
            }
        }
        published
    }

    /// The bus's delivery counters so far.
    pub fn stats(&self) -> BusStats {
        BusStats {
            delivered: self.shared.delivered.load(Ordering::Relaxed),
            missed: self.shared.missed.load(Ordering::Relaxed),
        }
    }

    /// How many subscribers listen for `T` now.
    pub fn subscriber_count<T: 'static>(&self) -> usize {
        self.shared
            .topics()
            .get(&TypeId::of::<T>())
            .map_or(0, |topic| topic.slot_count())
    }
}

impl fmt::Debug for EventBus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventBus")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl<T> Subscription<T> {
    pub fn id(&self) -> SubscriberId {
        self.id
    }

    /// The queue itself, for `select!` over several sources.
    pub fn receiver(&self) -> &Receiver<T> {
        &self.receiver
    }

    /// The next event, waiting at most `timeout`.
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.receiver.recv_timeout(timeout)
    }

    /// The next event if one is queued.
    pub fn try_recv(&self) -> Option<T> {
        self.receiver.try_recv().ok()
    }

    /// How many events this subscriber missed since it last asked, and starts a new
    /// lag episode. A subscriber that missed any should re-read the state it shows.
    pub fn take_missed(&self) -> u64 {
        self.missed.swap(0, Ordering::Relaxed)
    }
}

impl<T> fmt::Debug for Subscription<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("id", &self.id)
            .field("queued", &self.receiver.len())
            .finish_non_exhaustive()
    }
}

impl<T> Drop for Subscription<T> {
    fn drop(&mut self) {
        if let Some(shared) = self.bus.upgrade() {
            for topic in shared.topics().values_mut() {
                topic.remove(self.id);
            }
        }
    }
}

struct Shared {
    /// One `Topic<T>` per event type, keyed by `T`'s type id.
    topics: Mutex<HashMap<TypeId, Box<dyn AnyTopic>>>,
    next_subscriber: AtomicU64,
    delivered: AtomicU64,
    missed: AtomicU64,
}

impl Shared {
    fn topics(&self) -> MutexGuard<'_, HashMap<TypeId, Box<dyn AnyTopic>>> {
        // Every change under this lock is a single push or retain of slots whose
        // closures do not panic, so a poisoned lock still guards a whole map.
        self.topics.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

struct Topic<T> {
    slots: Vec<Slot<T>>,
}

struct Slot<T> {
    id: SubscriberId,
    name: String,
    sender: Sender<T>,
    missed: Arc<AtomicU64>,
}

/// What the bus needs of a topic without knowing its event type.
trait AnyTopic: Send {
    fn remove(&mut self, id: SubscriberId);
    fn slot_count(&self) -> usize;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Send + 'static> AnyTopic for Topic<T> {
    fn remove(&mut self, id: SubscriberId) {
        self.slots.retain(|slot| slot.id != id);
    }

    fn slot_count(&self) -> usize {
        self.slots.len()
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

impl dyn AnyTopic {
    fn downcast_mut<T: Send + 'static>(&mut self) -> Option<&mut T> {
        self.as_any_mut().downcast_mut::<T>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Saved(u32);

    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Opened(&'static str);

    /// Publishes `count` `Saved` events into a bus whose one subscriber has room for
    /// `capacity`, and checks what it received, what it missed and what was reported.
    fn check(capacity: usize, count: u32, received: &[u32], missed: u64, reports: usize) {
        let bus = EventBus::new();
        let lag = bus.subscribe::<SubscriberLagged>("lag watcher", 16);
        let slow = bus.subscribe::<Saved>("slow page", capacity);
        for n in 0..count {
            bus.publish(Saved(n));
        }
        let got: Vec<u32> = std::iter::from_fn(|| slow.try_recv())
            .map(|s| s.0)
            .collect();
        assert_eq!(got, received);
        assert_eq!(slow.take_missed(), missed);
        let lagged: Vec<_> = std::iter::from_fn(|| lag.try_recv()).collect();
        assert_eq!(lagged.len(), reports);
        for report in lagged {
            assert_eq!(report.subscriber, slow.id());
            assert_eq!(report.name, "slow page");
            assert!(
                report.event_type.ends_with("Saved"),
                "{}",
                report.event_type
            );
        }
        assert_eq!(bus.stats().missed, missed);
    }

    #[test]
    fn a_queue_with_room_gets_everything_in_order() {
        check(8, 3, &[0, 1, 2], 0, 0);
    }

    #[test]
    fn a_full_queue_keeps_the_oldest_and_reports_one_episode() {
        check(2, 5, &[0, 1], 3, 1);
    }

    #[test]
    fn events_reach_only_the_subscribers_of_their_type() {
        let bus = EventBus::new();
        let saved = bus.subscribe::<Saved>("saved", 4);
        let opened = bus.subscribe::<Opened>("opened", 4);
        assert_eq!(bus.publish(Saved(7)).delivered, 1);
        assert_eq!(bus.publish(Opened("hero")).delivered, 1);
        assert_eq!(saved.try_recv(), Some(Saved(7)));
        assert_eq!(saved.try_recv(), None);
        assert_eq!(opened.try_recv(), Some(Opened("hero")));
        assert_eq!(opened.try_recv(), None);
    }

    #[test]
    fn a_new_episode_is_reported_after_the_count_was_taken() {
        let bus = EventBus::new();
        let lag = bus.subscribe::<SubscriberLagged>("lag watcher", 16);
        let slow = bus.subscribe::<Saved>("slow", 1);
        for n in 0..3 {
            bus.publish(Saved(n));
        }
        assert_eq!(slow.take_missed(), 2);
        assert_eq!(slow.try_recv(), Some(Saved(0)));
        for n in 3..5 {
            bus.publish(Saved(n));
        }
        assert_eq!(slow.take_missed(), 1);
        assert_eq!(std::iter::from_fn(|| lag.try_recv()).count(), 2);
    }

    #[test]
    fn a_dropped_subscription_stops_receiving_and_is_not_counted() {
        let bus = EventBus::new();
        let kept = bus.subscribe::<Saved>("kept", 1);
        let dropped = bus.subscribe::<Saved>("dropped", 1);
        assert_eq!(bus.subscriber_count::<Saved>(), 2);
        drop(dropped);
        assert_eq!(bus.subscriber_count::<Saved>(), 1);
        let published = bus.publish(Saved(1));
        assert_eq!(
            published,
            Published {
                delivered: 1,
                missed: 0
            }
        );
        assert_eq!(kept.try_recv(), Some(Saved(1)));
    }

    #[test]
    fn a_lagging_lag_listener_is_counted_not_reported() {
        let bus = EventBus::new();
        let lag = bus.subscribe::<SubscriberLagged>("lag watcher", 1);
        let first = bus.subscribe::<Saved>("first", 1);
        let second = bus.subscribe::<Saved>("second", 1);
        bus.publish(Saved(0));
        // Both queues are full now: two reports, one of which finds the lag queue full.
        bus.publish(Saved(1));
        assert_eq!(first.take_missed(), 1);
        assert_eq!(second.take_missed(), 1);
        assert_eq!(lag.take_missed(), 1);
        assert_eq!(bus.stats().missed, 3);
        assert!(lag.try_recv().is_some());
        assert_eq!(lag.try_recv(), None);
    }

    #[test]
    fn publishing_with_no_subscriber_delivers_nothing() {
        let bus = EventBus::new();
        assert_eq!(bus.publish(Saved(1)), Published::default());
        assert_eq!(bus.stats(), BusStats::default());
    }
}
