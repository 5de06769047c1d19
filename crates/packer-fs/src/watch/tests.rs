//! The disk watcher on a temporary directory: which changes are hinted, folders arriving
//! at and leaving the top, flushes, and what follows an overflow of the kernel's queue.

use std::time::{Duration, Instant};

use super::*;
use crate::testing::Fixture;

const DEADLINE: Duration = Duration::from_secs(20);

/// A watch on the fixture's workspace and the hints it delivers.
struct Watching {
    session: Box<dyn WatchSession>,
    hints: Receiver<WatchHint>,
}

impl Watching {
    fn start(fx: &Fixture) -> Watching {
        Watching::start_with_top(fx).0
    }

    /// A watch, and its top for a test that looks inside it.
    fn start_with_top(fx: &Fixture) -> (Watching, Arc<Top>) {
        let (sender, hints) = crossbeam_channel::unbounded();
        let sink: HintSink = Arc::new(move |hint| {
            let _ = sender.send(hint);
        });
        let session = DiskWatcher::new(&fx.assets).start(sink).unwrap();
        let top = Arc::clone(&session.top);
        let watching = Watching {
            session: Box::new(session),
            hints,
        };
        (watching, top)
    }

    /// Every path hinted until one equal to `wanted` is, which is last; panics at the
    /// deadline.
    fn until(&self, wanted: &str) -> Vec<String> {
        self.until_any(&[wanted])
    }

    /// Every path hinted until one of `wanted` is, which is last; panics at the
    /// deadline.
    fn until_any(&self, wanted: &[&str]) -> Vec<String> {
        let end = Instant::now() + DEADLINE;
        let mut seen = Vec::new();
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.hints.recv_timeout(left) {
                Ok(WatchHint::Changed(path)) => {
                    let text = path.to_string();
                    let done = wanted.contains(&text.as_str());
                    seen.push(text);
                    if done {
                        return seen;
                    }
                }
                Ok(_) => {}
                Err(_) => panic!("no hint for {wanted:?}; saw {seen:?}"),
            }
        }
    }

    /// Rewrites `path` until a hint names it: proof that its folder is watched.
    fn probe(&self, fx: &Fixture, path: &str) {
        let end = Instant::now() + DEADLINE;
        for round in 0u32.. {
            assert!(Instant::now() < end, "{path} never hinted");
            fx.write(path, &round.to_le_bytes());
            let wait = Duration::from_millis(50);
            while let Ok(hint) = self.hints.recv_timeout(wait) {
                if matches!(&hint, WatchHint::Changed(p) if p.to_string() == path) {
                    return;
                }
            }
        }
    }
}

#[test]
fn changes_deep_in_a_folder_present_at_the_start_are_hinted() {
    let fx = Fixture::new();
    fx.write("art/heroes/hero/asset.json", b"{}");
    let watching = Watching::start(&fx);
    fx.write("art/heroes/hero/asset.json", b"{ }");
    watching.until("art/heroes/hero/asset.json");
    fx.write(".prometeu/index.json", b"{}");
    watching.until(".prometeu/index.json");
}

#[test]
fn a_folder_arriving_at_the_top_is_watched_with_all_it_holds() {
    let fx = Fixture::new();
    let watching = Watching::start(&fx);
    fx.mkdir("fresh/deep");
    watching.probe(&fx, "fresh/deep/probe.bin");
    // The file may come before its new folder's watch: then the folder is hinted.
    fx.write("fresh/deep/er/file.bin", b"x");
    watching.until_any(&["fresh/deep/er/file.bin", "fresh/deep/er"]);

    // Moved in from outside the workspace, with content.
    let outside = fx.assets.parent().unwrap().join("moved");
    std::fs::create_dir_all(outside.join("inner")).unwrap();
    std::fs::rename(&outside, fx.assets.join("moved")).unwrap();
    watching.probe(&fx, "moved/inner/probe.bin");
}

/// Top-level folders, more than there are watchers, each with a file deep inside.
const FOLDERS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

fn with_folders() -> Fixture {
    let fx = Fixture::new();
    for name in FOLDERS {
        fx.write(&format!("{name}/deep/file.bin"), b"0");
    }
    fx
}

#[test]
fn top_level_folders_that_leave_and_come_back_are_watched_again() {
    let fx = with_folders();
    let names = FOLDERS;
    let watching = Watching::start(&fx);
    let away = fx.assets.parent().unwrap().join("away");
    for name in names {
        std::fs::rename(fx.assets.join(name), &away).unwrap();
        std::fs::rename(&away, fx.assets.join(name)).unwrap();
    }
    for name in names {
        watching.probe(&fx, &format!("{name}/deep/file.bin"));
    }
    // Renamed at the top: watched under its new name.
    std::fs::rename(fx.assets.join("a"), fx.assets.join("renamed")).unwrap();
    watching.probe(&fx, "renamed/deep/file.bin");
}

#[test]
fn top_level_folders_moved_into_another_stay_watched_there() {
    let fx = with_folders();
    let watching = Watching::start(&fx);
    fx.mkdir("gallery");
    watching.probe(&fx, "gallery/probe.bin");
    for name in FOLDERS {
        std::fs::rename(fx.assets.join(name), fx.assets.join("gallery").join(name)).unwrap();
    }
    for name in FOLDERS {
        watching.probe(&fx, &format!("gallery/{name}/deep/file.bin"));
    }
}

#[test]
fn a_flush_returns_once_what_came_before_it_is_hinted() {
    let fx = with_folders();
    let names = FOLDERS;
    let watching = Watching::start(&fx);
    for name in names {
        fx.write(&format!("{name}/deep/file.bin"), b"1");
    }
    assert!(watching.session.flush(DEADLINE));
    let hinted: Vec<String> = watching
        .hints
        .try_iter()
        .filter_map(|hint| match hint {
            WatchHint::Changed(path) => Some(path.to_string()),
            _ => None,
        })
        .collect();
    for name in names {
        let path = format!("{name}/deep/file.bin");
        assert!(hinted.contains(&path), "{path} not in {hinted:?}");
    }
}

#[test]
fn a_folder_made_while_the_queue_overflowed_is_watched_after_it() {
    let fx = Fixture::new();
    fx.write("art/busy.bin", b"0");
    let (sender, hints) = crossbeam_channel::unbounded();
    // Holds the watcher's thread on its first hint, so that the kernel's queue fills.
    let (release, held) = crossbeam_channel::bounded::<()>(0);
    let gate = Mutex::new(Some(held));
    let sink: HintSink = Arc::new(move |hint| {
        let first = lock(&gate).take();
        if let Some(held) = first {
            // Held for as long as the writes take, however loaded the machine: until
            // released, or until `release` is dropped.
            let _ = held.recv();
        }
        let _ = sender.send(hint);
    });
    let session = DiskWatcher::new(&fx.assets).watch(sink).unwrap();
    assert!(session.flush(DEADLINE));
    let watching = Watching { session, hints };
    // Bound after the session: dropped before it, so a failing test unblocks the
    // watcher's thread before the session joins it.
    let release = release;
    // The queue holds this many events; each write is at least three (open, modify,
    // close).
    let queued: usize = std::fs::read_to_string("/proc/sys/fs/inotify/max_queued_events")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(16_384);
    for round in 0..=queued / 2 {
        fx.write("art/busy.bin", &round.to_le_bytes());
    }
    // Its creation is among the events the kernel dropped.
    fx.mkdir("art/late");
    release.send_timeout((), DEADLINE).unwrap();
    let end = Instant::now() + DEADLINE;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match watching.hints.recv_timeout(left) {
            Ok(WatchHint::Rescan { .. }) => break,
            Ok(_) => {}
            Err(_) => panic!("the overflow was not hinted"),
        }
    }
    watching.probe(&fx, "art/late/probe.bin");
}

#[test]
fn folders_that_leave_the_top_are_forgotten() {
    let fx = Fixture::new();
    let (watching, top) = Watching::start_with_top(&fx);
    let names: Vec<String> = (0..20).map(|i| format!("passing-{i}")).collect();
    for name in &names {
        fx.mkdir(name);
    }
    // The thread that follows the top takes arrivals in order: once the last
    // folder is watched, so is every one before it.
    watching.probe(&fx, "passing-19/probe.bin");
    assert!(top.owners().len() > names.len(), "{:?}", top.owners());
    let away = fx.assets.parent().unwrap().join("away");
    std::fs::rename(fx.assets.join("passing-0"), &away).unwrap();
    for name in &names[1..] {
        std::fs::remove_dir_all(fx.assets.join(name)).unwrap();
    }
    watching.probe(&fx, "marker/probe.bin");
    let mut owned: Vec<String> = top
        .owners()
        .keys()
        .filter_map(|path| Some(path.file_name()?.to_str()?.to_owned()))
        .collect();
    owned.sort();
    assert_eq!(owned, [".prometeu", "marker"]);
}

#[test]
fn the_lanes_transactions_are_not_watched() {
    let fx = Fixture::new();
    fx.write("art/marker.bin", b"0");
    let watching = Watching::start(&fx);
    fx.write(".prometeu/tx/1/0", b"staged");
    fx.write(".prometeu/tx/1/intent.json", b"{}");
    std::fs::remove_dir_all(fx.assets.join(".prometeu/tx/1")).unwrap();
    // Events arrive in order: whatever the transaction caused comes before this.
    fx.write("art/marker.bin", b"1");
    let seen = watching.until("art/marker.bin");
    assert!(
        seen.iter().all(|p| !p.starts_with(".prometeu/tx/")),
        "{seen:?}"
    );
}

#[test]
fn running_out_of_inotify_instances_names_the_limit() {
    let emfile = notify::Error::io(std::io::Error::from_raw_os_error(
        rustix::io::Errno::MFILE.raw_os_error(),
    ));
    let error = watch_error(&emfile);
    assert!(
        error.detail.contains("fs.inotify.max_user_instances"),
        "{error:?}"
    );
    let other = notify::Error::io(std::io::Error::from_raw_os_error(
        rustix::io::Errno::ACCESS.raw_os_error(),
    ));
    assert!(!watch_error(&other).detail.contains("max_user_instances"));
}

/// A folder left unwatched (as the system's limit on watches leaves one) is watched
/// again once the limit is higher than when it was reached, and not before.
#[test]
fn an_unwatched_folder_is_watched_again_once_the_limit_is_raised() {
    let fx = Fixture::new();
    fx.write("art/a.bin", b"0");
    let (watching, top) = Watching::start_with_top(&fx);
    watching.probe(&fx, "art/a.bin");
    // The folder goes unwatched, under a limit of 100 watches.
    let art = top.base.join("art");
    let lane = top.owners().remove(&art).unwrap();
    lock(&top.watchers[lane]).unwatch(&art).unwrap();
    top.unwatched.note_under(Some(100));

    assert!(!top.watch_again_under(Some(100)), "the same limit");
    assert!(!top.owners().contains_key(&art));
    assert!(top.watch_again_under(Some(200)));
    assert!(top.owners().contains_key(&art));
    assert_eq!(top.unwatched.since(), None);
    watching.probe(&fx, "art/a.bin");
}
