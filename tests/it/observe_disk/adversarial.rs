//! The observer against what people and tools really do to a tree, on the real disk:
//! an editor's save by rename, an edit that restores size and mtime, a thousand writes
//! to one file, folders moved in, out and within, a tree made at once, a file caught
//! half-written, a checkout storm of thousands of files, and inputs that are symbolic
//! links retargeted, left dangling or pointed out of the workspace.

use rustix::fs::{CWD, Mode, OFlags};
use rustix::io::Errno;

use super::*;
use crate::snapshot::make_fifo;

fn refreshed_event(generation: u64, paths: &[&str], changed: &[u64]) -> Event {
    Event::SnapshotRefreshed {
        generation,
        paths: paths.iter().map(|p| ws(p)).collect(),
        changed: changed.iter().map(|id| AssetId(*id)).collect(),
    }
}

fn is_refresh(event: &Event) -> bool {
    matches!(event, Event::SnapshotRefreshed { .. })
}

#[test]
fn an_atomic_save_by_rename_is_one_refresh() {
    let disk = start();
    let mark = disk.mark();
    // An editor's safe save: the new content in a temporary file beside the old one,
    // made durable, then renamed over it.
    let temporary = disk.path("a/.asset.json.swp");
    fs::write(&temporary, declaration(U1, "saved", "x.bin")).unwrap();
    fs::File::open(&temporary).unwrap().sync_all().unwrap();
    fs::rename(&temporary, disk.path("a/asset.json")).unwrap();
    let event = disk.wait(mark, "refresh", is_refresh);
    assert_eq!(event, refreshed_event(2, &["a/asset.json"], &[1]));
    let view = disk.runtime.check_divergence();
    assert_eq!(view.snapshot.generation(), 2);
    assert_eq!(name_of(&view, 1).unwrap(), "saved");
    assert_eq!(
        view.refreshed,
        [Drift::DeclarationChanged {
            asset_id: AssetId(1)
        }]
    );
    assert_eq!(disk.refreshes(), 1);
}

/// Rewrites a file in place with content of the same size and puts its mtime back:
/// only the ctime (or the content hash) can tell.
fn edit_keeping_size_and_mtime(disk: &Disk, relative: &str, bytes: &[u8]) {
    let path = disk.path(relative);
    let before = fs::metadata(&path).unwrap();
    assert_eq!(before.len(), bytes.len() as u64);
    let mut file = fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.write_all(bytes).unwrap();
    file.set_times(fs::FileTimes::new().set_modified(before.modified().unwrap()))
        .unwrap();
    drop(file);
    let after = fs::metadata(&path).unwrap();
    assert_eq!(
        (after.len(), after.modified().unwrap()),
        (before.len(), before.modified().unwrap())
    );
}

#[test]
fn a_same_size_edit_with_the_mtime_restored_is_seen() {
    let disk = start();
    let mark = disk.mark();
    edit_keeping_size_and_mtime(
        &disk,
        "a/asset.json",
        declaration(U1, "z", "x.bin").as_bytes(),
    );
    let event = disk.wait(mark, "refresh", is_refresh);
    assert_eq!(event, refreshed_event(2, &["a/asset.json"], &[1]));
    let view = disk.runtime.check_divergence();
    assert_eq!(name_of(&view, 1).unwrap(), "z");

    let mark = disk.mark();
    edit_keeping_size_and_mtime(&disk, "b/y.bin", b"BYTES OF B");
    let event = disk.wait(mark, "refresh", is_refresh);
    assert_eq!(event, refreshed_event(3, &["b/y.bin"], &[2]));
    assert_eq!(
        disk.runtime.view().refreshed,
        [Drift::InputChanged {
            asset_id: AssetId(2),
            path: input("b/y.bin"),
        }]
    );
}

#[test]
fn a_thousand_rapid_writes_end_in_the_last_content() {
    let disk = start();
    let mark = disk.mark();
    for i in 0..1000 {
        disk.write(
            "a/asset.json",
            declaration(U1, &format!("v{i:04}"), "x.bin"),
        );
    }
    disk.until("the last write refreshed", |v| {
        v.state == ProjectState::Ready && name_of(v, 1).as_deref() == Some("v0999")
    });
    let view = disk.runtime.check_divergence();
    assert_eq!(name_of(&view, 1).unwrap(), "v0999");
    assert!(view.snapshot.drifts().is_empty());
    // Bursts are verified together: a handful of refreshes at most (one when the writes
    // run without a pause as long as the debounce), each about that one file, and the
    // half-written states in between never reported.
    let events = disk.since(mark);
    let refreshes: Vec<&Event> = events.iter().filter(|e| is_refresh(e)).collect();
    assert!(
        (1..=10).contains(&refreshes.len()),
        "{} refreshes",
        refreshes.len()
    );
    for (i, event) in refreshes.iter().enumerate() {
        let generation = 2 + i as u64;
        assert_eq!(
            **event,
            refreshed_event(generation, &["a/asset.json"], &[1])
        );
    }
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::DivergenceDetected { .. })),
        "{events:#?}"
    );
}

#[test]
fn a_declaration_caught_half_written_is_given_time_to_be_finished() {
    let disk = start_with(
        &two_assets(),
        ObserverConfig {
            settle: Duration::from_millis(500),
            ..config()
        },
    );
    let mark = disk.mark();
    disk.write("a/asset.json", "{ \"schema_version\": 1, \"asset_uu");
    // The observer looked and found the file unfinished: stale, nothing reported yet.
    disk.wait(mark, "stale", |e| {
        matches!(
            e,
            Event::StateChanged {
                to: ProjectState::Stale,
                ..
            }
        )
    });
    disk.write("a/asset.json", declaration(U1, "finished", "x.bin"));
    disk.wait(mark, "refresh", is_refresh);
    let view = disk.runtime.check_divergence();
    assert_eq!(view.snapshot.generation(), 2);
    assert!(view.snapshot.drifts().is_empty());
    assert_eq!(
        view.refreshed,
        [Drift::DeclarationChanged {
            asset_id: AssetId(1)
        }]
    );
    assert_eq!(
        observed(disk.since(mark)),
        [
            Event::StateChanged {
                generation: 1,
                from: ProjectState::Ready,
                to: ProjectState::Stale,
                command_id: None,
            },
            Event::StateChanged {
                generation: 2,
                from: ProjectState::Stale,
                to: ProjectState::Ready,
                command_id: None,
            },
            refreshed_event(2, &["a/asset.json"], &[1]),
        ]
    );
}

#[test]
fn a_folder_moved_in_from_outside_is_found_and_then_watched() {
    let disk = start();
    let kit = disk.outside("kit");
    fs::create_dir_all(kit.join("inner")).unwrap();
    fs::write(kit.join("readme.txt"), "a pack from elsewhere").unwrap();
    fs::write(
        kit.join("inner/asset.json"),
        declaration(U3, "inner", "z.bin"),
    )
    .unwrap();
    fs::write(kit.join("inner/z.bin"), "bytes of inner").unwrap();
    let mark = disk.mark();
    fs::rename(&kit, disk.path("kit")).unwrap();
    found_unregistered_and_watched(&disk, mark, "kit/inner", "z.bin");
    let view = disk.runtime.check_divergence();
    let DeclarationState::Valid(valid) = &view.snapshot.unregistered()[0].declaration else {
        panic!("{:#?}", view.snapshot.unregistered())
    };
    assert_eq!(valid.declaration.name, "edited");
}

#[test]
fn a_folder_moved_out_is_missing_until_it_comes_back() {
    let disk = start();
    let mark = disk.mark();
    fs::rename(disk.path("b"), disk.outside("b")).unwrap();
    let event = disk.wait(mark, "refresh", is_refresh);
    assert_eq!(
        event,
        refreshed_event(2, &["b/asset.json", "b/y.bin"], &[2])
    );
    let view = disk.until("diverged", |v| v.state == ProjectState::Diverged);
    assert_eq!(kinds(view.snapshot.drifts()), ["root_missing"]);
    // Out there it is none of the workspace's business: an edit to it changes nothing,
    // and the next refresh names only what changed inside.
    fs::write(
        disk.outside("b/asset.json"),
        declaration(U2, "away", "y.bin"),
    )
    .unwrap();
    let mark = disk.mark();
    disk.overwrite("a/x.bin", b"bytes of a, edited");
    let event = disk.wait(mark, "refresh", is_refresh);
    assert_eq!(event, refreshed_event(3, &["a/x.bin"], &[1]));
    // Moved back, the asset is whole again, as it was edited while away. (Its input
    // is not named: the generation it comes back to has no declaration to list it.)
    let mark = disk.mark();
    fs::rename(disk.outside("b"), disk.path("b")).unwrap();
    let event = disk.wait(mark, "refresh", is_refresh);
    assert_eq!(event, refreshed_event(4, &["b/asset.json"], &[2]));
    let view = disk.until("ready", |v| v.state == ProjectState::Ready);
    assert!(view.snapshot.drifts().is_empty());
    assert_eq!(name_of(&view, 2).unwrap(), "away");
}

#[test]
fn folders_moved_within_are_followed_and_still_watched() {
    let disk = start();
    let moved = |from: &str, to: &str| Drift::RootMoved {
        asset_id: AssetId(1),
        from: input(from),
        to: input(to),
    };
    disk.mkdir("art");
    let mark = disk.mark();
    disk.rename("a", "art/a");
    // Heard as a hint, or found by the first verification if the watch was still being
    // set up (then no path is named): either way the move is the drift, announced last.
    disk.wait(mark, "divergence", |e| {
        matches!(e, Event::DivergenceDetected { .. })
    });
    let view = disk.until("diverged", |v| v.state == ProjectState::Diverged);
    assert_eq!(view.snapshot.drifts(), [moved("a", "art/a")]);
    // Watched at its new place.
    let mark = disk.mark();
    disk.write("art/a/asset.json", declaration(U1, "moved", "x.bin"));
    let event = disk.wait(mark, "refresh", is_refresh);
    assert_eq!(event, refreshed_event(3, &["art/a/asset.json"], &[]));
    // Moving a parent moves what lies below, watches included. The moved copy's input
    // is named where it was, as a registered asset's is.
    let mark = disk.mark();
    disk.rename("art", "gallery");
    // The watcher may hear the two ends of the rename in one burst or in two: what the
    // refreshes name, together, is the same.
    let view = disk.until("moved to gallery", |v| {
        v.snapshot.drifts() == [moved("a", "gallery/a")]
    });
    // The view is published before its event.
    let last = view.snapshot.generation();
    disk.wait(
        mark,
        "the last refresh",
        |e| matches!(e, Event::SnapshotRefreshed { generation, .. } if *generation == last),
    );
    let mut paths: Vec<String> = disk
        .since(mark)
        .into_iter()
        .filter_map(|event| match event {
            Event::SnapshotRefreshed { paths, .. } => Some(paths),
            _ => None,
        })
        .flatten()
        .map(|path| path.to_string())
        .collect();
    paths.sort();
    paths.dedup();
    assert_eq!(
        paths,
        ["art/a/asset.json", "art/a/x.bin", "gallery/a/asset.json"]
    );
    let mark = disk.mark();
    disk.write("gallery/a/asset.json", declaration(U1, "again", "x.bin"));
    let event = disk.wait(mark, "refresh", is_refresh);
    // Its generation depends on how many refreshes the rename above took.
    let Event::SnapshotRefreshed { generation, .. } = event else {
        unreachable!("is_refresh");
    };
    assert_eq!(
        event,
        refreshed_event(generation, &["gallery/a/asset.json"], &[])
    );
    // Back where the registry says, it is whole again.
    let mark = disk.mark();
    disk.rename("gallery/a", "a");
    disk.wait(mark, "refresh", is_refresh);
    let view = disk.until("ready", |v| v.state == ProjectState::Ready);
    assert!(view.snapshot.drifts().is_empty());
    assert_eq!(name_of(&view, 1).unwrap(), "again");
}

/// A `git pull` that moved a folder brings the registry that says so: once both are on
/// disk the project is whole, the asset at its new root.
#[test]
fn a_pull_that_moves_a_folder_and_its_registry_entry_is_clean() {
    let disk = start();
    disk.mkdir("art");
    disk.rename("a", "art/a");
    disk.save_whole(
        ".prometeu/index.json",
        registry(3, &[(1, U1, "art/a", true), (2, U2, "b", true)]),
    );
    let view = disk.until("the move taken in", |v| {
        v.state == ProjectState::Ready
            && v.snapshot.asset(AssetId(1)).unwrap().entry.root == input("art/a")
    });
    assert!(view.snapshot.drifts().is_empty());
    let view = disk.runtime.check_divergence();
    assert_eq!(view.state, ProjectState::Ready);
    assert_eq!(name_of(&view, 1).unwrap(), "a");
}

#[test]
fn a_tree_made_at_once_is_found_to_its_depth_and_watched() {
    let disk = start();
    let mark = disk.mark();
    // `mkdir -p deep/b/c` and the files written at once, before any watch can be set on
    // the new folders.
    fs::create_dir_all(disk.path("deep/b/c")).unwrap();
    fs::write(
        disk.path("deep/b/c/asset.json"),
        declaration(U3, "deep", "in.bin"),
    )
    .unwrap();
    fs::write(disk.path("deep/b/c/in.bin"), "deep bytes").unwrap();
    fs::write(disk.path("deep/b/notes.txt"), "not an asset").unwrap();
    found_unregistered_and_watched(&disk, mark, "deep/b/c", "in.bin");
}

/// After the asset of `U3` at `root` (input `input`) appeared on a `ready` project since
/// `mark`: one refresh names its declaration, the project diverges on that unregistered
/// asset alone, and its folders are watched — the declaration rewritten (named
/// `edited`) is the next refresh.
fn found_unregistered_and_watched(disk: &Disk, mark: usize, root: &str, input_name: &str) {
    let declaration_path = format!("{root}/asset.json");
    let event = disk.wait(mark, "refresh", is_refresh);
    assert_eq!(event, refreshed_event(2, &[&declaration_path], &[]));
    let view = disk.until("diverged", |v| v.state == ProjectState::Diverged);
    assert_eq!(
        view.snapshot.drifts(),
        [Drift::UnregisteredAsset {
            root: input(root),
            asset_uuid: Some(U3.parse().unwrap()),
        }]
    );
    let mark = disk.mark();
    disk.write(&declaration_path, declaration(U3, "edited", input_name));
    let event = disk.wait(mark, "refresh", is_refresh);
    assert_eq!(event, refreshed_event(3, &[&declaration_path], &[]));
}

#[test]
fn a_folder_deleted_file_by_file_ends_root_missing() {
    let disk = start();
    let mark = disk.mark();
    // `rm -rf`: one file at a time, in whatever order the folder lists them.
    fs::remove_dir_all(disk.path("b")).unwrap();
    disk.until("root missing", |v| {
        kinds(v.snapshot.drifts()) == ["root_missing"] && v.state == ProjectState::Diverged
    });
    let view = disk.runtime.check_divergence();
    assert_eq!(kinds(view.snapshot.drifts()), ["root_missing"]);
    // The input may go before the declaration, and be reported missing on the way.
    let refreshes = disk.since(mark).into_iter().filter(is_refresh).count();
    assert!((1..=2).contains(&refreshes), "{refreshes}");
}

/// `git checkout` of another branch: thousands of files written as fast as the disk
/// takes them, among them a declaration (first) and an input (last). The burst is
/// verified once, by one full scan, into one refresh.
#[test]
fn a_checkout_storm_is_one_refresh() {
    let disk = start_with(
        &two_assets(),
        // Quiet for this long means the checkout is over; a storm is never cut short.
        ObserverConfig {
            debounce: Duration::from_millis(500),
            max_delay: Duration::from_secs(60),
            ..config()
        },
    );
    let mark = disk.mark();
    disk.write("a/asset.json", declaration(U1, "checked out", "x.bin"));
    for i in 0..5000 {
        disk.write(
            &format!("checkout/d{:02}/f{i:04}.txt", i / 100),
            format!("file {i}"),
        );
    }
    disk.overwrite("b/y.bin", b"checked out bytes");
    let event = disk.wait(mark, "refresh", is_refresh);
    assert_eq!(
        event,
        refreshed_event(2, &["a/asset.json", "b/y.bin"], &[1, 2])
    );
    let view = disk.runtime.check_divergence();
    assert_eq!(view.snapshot.generation(), 2);
    assert_eq!(view.state, ProjectState::Ready);
    assert_eq!(name_of(&view, 1).unwrap(), "checked out");
    assert_eq!(
        view.refreshed,
        [
            Drift::DeclarationChanged {
                asset_id: AssetId(1)
            },
            Drift::InputChanged {
                asset_id: AssetId(2),
                path: input("b/y.bin"),
            },
        ]
    );
    assert_eq!(disk.refreshes(), 1);
}

/// The two-asset project where `a`'s input `x.bin` is a symbolic link to `x1.bin`,
/// beside `x2.bin`.
fn start_linked() -> Disk {
    let mut files = two_assets();
    files.push(("a/x1.bin", "first target".to_owned()));
    files.push(("a/x2.bin", "second target".to_owned()));
    files.retain(|(path, _)| *path != "a/x.bin");
    let dir = project(&files);
    std::os::unix::fs::symlink("x1.bin", dir.path().join("assets/a/x.bin")).unwrap();
    open(dir, config())
}

fn changed_input() -> Vec<Drift> {
    vec![Drift::InputChanged {
        asset_id: AssetId(1),
        path: input("a/x.bin"),
    }]
}

/// Applies `edit` to the linked project and checks the one refresh it causes (see
/// [`check_on`]): the project stays `ready`, holding `drifts`, and the refresh names the
/// link `a/x.bin` and asset 1.
fn check_link(disk: &Disk, edit: impl FnOnce(&Disk), drifts: &[&str], refreshed: &[Drift]) {
    check_on(
        disk,
        edit,
        &Expected {
            state: ProjectState::Ready,
            drifts,
            refreshed,
            paths: &["a/x.bin"],
            changed: &[1],
        },
    );
}

#[test]
fn an_input_link_retargeted_inside_is_an_input_change() {
    let disk = start_linked();
    check_link(
        &disk,
        |d| d.link("a/x.bin", "x2.bin"),
        &[],
        &changed_input(),
    );
}

#[test]
fn an_edit_to_an_input_links_target_is_an_input_change() {
    let disk = start_linked();
    check_link(
        &disk,
        |d| d.overwrite("a/x1.bin", b"first target, edited"),
        &[],
        &changed_input(),
    );
}

#[test]
fn an_input_link_left_dangling_is_missing() {
    let disk = start_linked();
    check_link(
        &disk,
        |d| d.link("a/x.bin", "gone.bin"),
        &["input_missing"],
        &[],
    );
}

/// Opens the FIFO for writing when dropped, which releases anyone blocked opening it
/// for reading: a test that fails because the packer read it ends instead of hanging.
struct Release<'a>(&'a Path);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        let _ = rustix::fs::open(self.0, OFlags::WRONLY | OFlags::NONBLOCK, Mode::empty());
    }
}

#[test]
fn an_input_linked_out_of_the_workspace_is_refused_and_never_opened() {
    let disk = start_linked();
    // A FIFO: opening it to read blocks until a writer comes, so a read would show.
    let fifo = disk.outside("secret.fifo");
    rustix::fs::mkfifoat(CWD, &fifo, Mode::from_raw_mode(0o600)).unwrap();
    let _release = Release(&fifo);
    check_link(
        &disk,
        |d| d.link("a/x.bin", "../../outside/secret.fifo"),
        &["declaration_invalid"],
        &[],
    );
    let view = disk.runtime.view();
    let Drift::DeclarationInvalid { error, .. } = &view.snapshot.drifts()[0] else {
        panic!()
    };
    assert!(error.message.contains("link"), "{error:?}");
    // Nobody holds it open for reading: a writer that will not wait finds no reader.
    let probe = rustix::fs::open(
        &fifo,
        OFlags::WRONLY | OFlags::NONBLOCK | OFlags::CLOEXEC,
        Mode::empty(),
    );
    assert_eq!(probe.err(), Some(Errno::NXIO), "the FIFO was opened");
}

/// `a`'s input is declared as `linked/x.bin`, where `a/linked` is a symbolic link to the
/// folder `a/real`: a person edits the file where it is, `a/real/x.bin`, and the watcher
/// names that path. The refresh still names the input as declared.
#[test]
fn an_input_in_a_linked_folder_edited_at_its_real_path_is_an_input_change() {
    let mut files = two_assets();
    files.retain(|(path, _)| *path != "a/x.bin" && *path != "a/asset.json");
    files.push(("a/asset.json", declaration(U1, "a", "linked/x.bin")));
    files.push(("a/real/x.bin", "bytes of a".to_owned()));
    let dir = project(&files);
    std::os::unix::fs::symlink("real", dir.path().join("assets/a/linked")).unwrap();
    let disk = open(dir, config());
    check_on(
        &disk,
        |d| d.overwrite("a/real/x.bin", b"bytes of a, edited where they are"),
        &Expected {
            state: ProjectState::Ready,
            drifts: &[],
            refreshed: &[Drift::InputChanged {
                asset_id: AssetId(1),
                path: input("a/linked/x.bin"),
            }],
            paths: &["a/linked/x.bin"],
            changed: &[1],
        },
    );
}

/// Makes a FIFO outside the workspace and renames it to `relative`: it appears in one
/// step, as a file saved whole does.
fn fifo_at(disk: &Disk, relative: &str) {
    let made = disk.outside(&format!(
        "fifo-{}",
        disk.staged.fetch_add(1, Ordering::Relaxed)
    ));
    make_fifo(&made);
    fs::rename(made, disk.path(relative)).unwrap();
}

/// A FIFO that appears where an input was missing is refreshed into what a fresh load
/// says (not usable, no longer missing), without the FIFO ever being opened.
#[test]
fn a_fifo_where_an_input_was_missing_is_not_usable() {
    let disk = start();
    let fifo = disk.path("a/x.bin");
    // Should the packer block opening the FIFO, the failed test ends instead of hanging.
    let _release = Release(&fifo);
    check_on(
        &disk,
        |d| d.remove("a/x.bin"),
        &Expected {
            state: ProjectState::Ready,
            drifts: &["input_missing"],
            refreshed: &[],
            paths: &["a/x.bin"],
            changed: &[1],
        },
    );
    check_on(
        &disk,
        |d| fifo_at(d, "a/x.bin"),
        &Expected {
            state: ProjectState::Ready,
            drifts: &["declaration_invalid"],
            refreshed: &[],
            paths: &["a/x.bin"],
            changed: &[1],
        },
    );
    let view = disk.runtime.view();
    let port = DiskWorkspace::open(disk.path("")).unwrap();
    let fresh = packer_domain::snapshot::Snapshot::load(&port, 0);
    assert_eq!(view.snapshot.drifts(), fresh.drifts());
    let message = serde_json::to_string(&view.snapshot.drifts()[0]).unwrap();
    assert!(message.contains("FIFO, socket or device"), "{message}");
}

/// A FIFO named `asset.json` makes no asset, as a fresh load finds: made while the
/// observer watches, or there before it started (where the first verification compares
/// the disk with the loaded snapshot), it is no change that a verification keeps
/// finding.
#[test]
fn a_fifo_named_asset_json_is_no_asset_and_no_lasting_change() {
    let disk = start();
    disk.mkdir("c");
    let mark = disk.mark();
    let fifo = disk.path("c/asset.json");
    make_fifo(&fifo);
    // A writer waits for a reader: should the packer open the FIFO, even for a moment,
    // the writer's open returns.
    let (opened, writer_opened) = std::sync::mpsc::sync_channel(1);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let _ = rustix::fs::open(&fifo, OFlags::WRONLY | OFlags::CLOEXEC, Mode::empty());
            let _ = opened.send(());
        })
    };
    // The watcher's hint is looked at (the project goes stale and back), then a full
    // verification, twice.
    disk.wait(mark, "the hint looked at", |e| {
        matches!(
            e,
            Event::StateChanged {
                from: ProjectState::Stale,
                ..
            }
        )
    });
    let first = disk.runtime.check_divergence();
    let again = disk.runtime.check_divergence();
    let was_opened = writer_opened.try_recv().is_ok();
    // Let the writer go: a reader of our own.
    let _reader = rustix::fs::open(&fifo, OFlags::RDONLY | OFlags::NONBLOCK, Mode::empty());
    writer.join().unwrap();
    assert!(!was_opened, "the packer opened the FIFO");
    assert_eq!(again.snapshot.generation(), first.snapshot.generation());
    assert_eq!(again.state, ProjectState::Ready, "{:#?}", again.drifts());
    assert!(again.snapshot.drifts().is_empty(), "{:#?}", again.drifts());
    assert!(again.snapshot.unregistered().is_empty());

    // Registered `b` has a FIFO for a declaration, and `c` holds one: `open` checks
    // that the first verification found nothing to refresh.
    let files: Vec<_> = two_assets()
        .into_iter()
        .filter(|(path, _)| *path != "b/asset.json")
        .collect();
    let dir = project(&files);
    for path in ["b/asset.json", "c/asset.json"] {
        let full = dir.path().join("assets").join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        make_fifo(&full);
    }
    let disk = open(dir, config());
    let view = disk.runtime.check_divergence();
    assert_eq!(view.snapshot.generation(), 1);
    assert_eq!(kinds(view.snapshot.drifts()), ["root_missing"]);
    let stale = disk.since(0).into_iter().find(|e| {
        matches!(
            e,
            Event::StateChanged {
                to: ProjectState::Stale,
                ..
            }
        )
    });
    assert_eq!(stale, None, "the disk was taken for changed since the load");
}
