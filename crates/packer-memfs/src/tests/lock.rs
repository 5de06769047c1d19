//! The project lock: exclusive across clones and threads, released by its guard.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use packer_domain::ports::{LockGuard, PortErrorKind};

use super::{check_err, load, port};
use crate::MemFs;

/// Long enough that a free lock is always taken within it.
const FREE: Duration = Duration::from_secs(60);
/// How long a held lock is watched not being taken. A held lock is never taken, so a
/// slow machine cannot make the check pass wrongly.
const HELD: Duration = Duration::from_millis(50);

/// Another thread (a second process, as far as the lock is concerned) taking the lock
/// and releasing it at once.
pub(super) struct Contender {
    taken: mpsc::Receiver<()>,
    thread: thread::JoinHandle<()>,
}

impl Contender {
    pub(super) fn start(fs: &MemFs) -> Contender {
        let (taken_tx, taken) = mpsc::channel();
        let fs = fs.clone();
        let thread = thread::spawn(move || {
            let guard = port(&fs).lock().unwrap();
            taken_tx.send(()).unwrap();
            drop(guard);
        });
        Contender { taken, thread }
    }

    /// Checks that the contender is still waiting.
    pub(super) fn assert_waiting(&self) {
        assert_eq!(
            self.taken.recv_timeout(HELD),
            Err(mpsc::RecvTimeoutError::Timeout),
            "the lock was taken while held"
        );
    }

    /// Waits for the contender to take the lock, and for its thread to end.
    pub(super) fn assert_takes_it(self) {
        self.taken.recv_timeout(FREE).unwrap();
        self.thread.join().unwrap();
    }
}

#[test]
fn the_guard_is_static_and_releases_on_drop() {
    fn assert_static<T: 'static + Send>(_: &T) {}
    let fs = load("//- .prometeu/\n");
    let guard: Box<dyn LockGuard> = port(&fs).lock().unwrap();
    assert_static(&guard);
    let contender = Contender::start(&fs);
    contender.assert_waiting();
    drop(guard);
    contender.assert_takes_it();
    drop(port(&fs).lock().unwrap());
}

#[test]
fn clones_share_the_lock() {
    let fs = load("//- .prometeu/\n");
    let other = fs.clone();
    let guard = port(&other).lock().unwrap();
    let contender = Contender::start(&fs);
    contender.assert_waiting();
    drop(guard);
    contender.assert_takes_it();
}

#[test]
fn the_lock_needs_the_prometeu_directory() {
    check_err(
        "//- a.txt\n",
        |fs| fs.lock().map(drop),
        PortErrorKind::NotFound,
    );
    check_err(
        "//- .prometeu\n",
        |fs| fs.lock().map(drop),
        PortErrorKind::NotADirectory,
    );
}
