//! The port's contract for the project lock: exclusive while held, released when its
//! guard goes, and only where `.prometeu/` exists.

use super::*;

pub(super) fn lock_is_exclusive_until_dropped(h: &dyn Harness) {
    h.mkdir(".prometeu");
    let first = h.port().lock().unwrap();
    let (took, taken) = mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let second = h.port().lock();
            took.send(second.is_ok()).unwrap();
        });
        // Not a synchronisation: the second holder must still be waiting after a while.
        assert_eq!(
            taken.recv_timeout(Duration::from_millis(200)),
            Err(mpsc::RecvTimeoutError::Timeout),
            "a second lock was granted while the first was held"
        );
        drop(first);
        assert_eq!(taken.recv_timeout(Duration::from_secs(30)), Ok(true));
    });
    // Released again when its guard went away.
    drop(h.port().lock().unwrap());
}

pub(super) fn lock_needs_the_prometeu_directory(h: &dyn Harness) {
    assert_eq!(kind(h.port().lock()), PortErrorKind::NotFound);
}

/// A reader waiting out a commit gives up after its wait while another holds the lock,
/// and takes it once it is free.
pub(super) fn lock_if_in_use_gives_up_after_its_wait(h: &dyn Harness) {
    h.mkdir(".prometeu");
    let first = h.port().lock().unwrap();
    let (answered, answer) = mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let second = h.port().lock_if_in_use(Some(Duration::from_millis(50)));
            answered.send(second.map(|lock| lock.is_some())).unwrap();
        });
        // A wait that never gives up would leave this to its deadline.
        let got = answer.recv_timeout(Duration::from_secs(30));
        drop(first);
        assert_eq!(
            got.map(|r| r.ok()),
            Ok(Some(false)),
            "it gave up while held"
        );
    });
    let taken = h.port().lock_if_in_use(Some(Duration::from_millis(50)));
    assert!(taken.unwrap().is_some(), "it takes a lock that is free");
}
