//! What the observer must never do, on the real disk: take the runtime's own commits
//! for hand edits, or write anything itself while it detects and refreshes.

use super::*;

/// The runtime's own commits, made while the watcher reports every file they touch,
/// are neither `stale` nor refreshed: only a later hand edit is.
#[test]
fn own_commits_are_not_taken_for_hand_edits() {
    let mut files = two_assets();
    files.push(("new/c/z.bin", "bytes of c".to_owned()));
    let disk = start_with(&files, config());
    let mark = disk.mark();
    let submit = |command| {
        disk.runtime
            .submit(WriteRequest {
                command,
                expected_generation: None,
            })
            .unwrap()
    };
    let created = submit(Command::CreateAsset(CreateAsset {
        root: input("new/c"),
        kind: AssetKind::Blob,
        inputs: vec![input("z.bin")],
        name: None,
        output: None,
        included_in_build: true,
    }));
    submit(Command::MoveAsset {
        asset: AssetQuery::Id(AssetId(1)),
        to: input("moved/a"),
    });
    let last = submit(Command::SetIncluded {
        asset: AssetQuery::Id(AssetId(2)),
        included: false,
    });
    assert_eq!(
        (created.generation, created.asset, last.generation),
        (2, Some(AssetId(3)), 4)
    );
    // A hand edit after the commits: inotify keeps order, so its hints come after
    // theirs, and its refresh must name it alone.
    disk.overwrite("b/y.bin", b"edited after the commits");
    let refreshed = disk.wait(mark, "refresh", |e| {
        matches!(e, Event::SnapshotRefreshed { .. })
    });
    assert_eq!(
        refreshed,
        Event::SnapshotRefreshed {
            generation: 5,
            paths: vec![ws("b/y.bin")],
            changed: vec![AssetId(2)],
        }
    );
    let view = disk.runtime.check_divergence();
    assert_eq!(view.snapshot.generation(), 5);
    assert_eq!(view.state, ProjectState::Ready);
    let names: Vec<&str> = observed(disk.since(mark)).iter().map(Event::name).collect();
    assert_eq!(
        names,
        ["state_changed", "state_changed", "snapshot_refreshed"]
    );
    assert_eq!(
        observed(disk.since(mark))[0],
        Event::StateChanged {
            generation: 4,
            from: ProjectState::Ready,
            to: ProjectState::Stale,
            command_id: None,
        }
    );
}

/// A sequence of hand edits of every sort, each refreshed, then a full verification:
/// every file's bytes and every path under `assets/` (`.prometeu` included) are
/// exactly what the edits made, and whatever they did not touch kept its inode, mtime
/// and ctime: detection wrote, renamed and removed nothing.
#[test]
fn detection_writes_nothing() {
    let disk = start();
    let before = disk.tree();
    let step = |what: &str, edit: &dyn Fn(&Disk), pred: &dyn Fn(&View) -> bool| {
        edit(&disk);
        disk.until(what, |v| v.state != ProjectState::Stale && pred(v));
    };
    step(
        "the declaration refreshed",
        &|d| d.write("a/asset.json", declaration(U1, "edited", "x.bin")),
        &|v| name_of(v, 1).as_deref() == Some("edited"),
    );
    step(
        "the input refreshed",
        &|d| d.overwrite("b/y.bin", b"edited bytes of b"),
        &|v| kinds(&v.refreshed) == ["input_changed"],
    );
    step(
        "the new asset found",
        &|d| {
            d.write("c/asset.json", declaration(U3, "c", "z.bin"));
            d.write("c/z.bin", "bytes of c");
        },
        &|v| kinds(v.snapshot.drifts()) == ["unregistered_asset"],
    );
    step("the move found", &|d| d.rename("b", "bb"), &|v| {
        kinds(v.snapshot.drifts()) == ["root_moved", "unregistered_asset"]
    });
    step(
        "the registry broken",
        &|d| d.write(".prometeu/index.json", "{ broken"),
        &|v| v.state == ProjectState::Failed,
    );
    step(
        "the registry fixed",
        &|d| d.write(".prometeu/index.json", good_registry()),
        &|v| v.state == ProjectState::Diverged && v.condition.is_none(),
    );
    let view = disk.runtime.check_divergence();
    assert_eq!(
        kinds(view.snapshot.drifts()),
        ["root_moved", "unregistered_asset"]
    );
    let after = disk.tree();

    let file = |bytes: &[u8]| Some(Node::File(bytes.to_vec()));
    let declaration_of = |name: &str| declaration(U1, name, "x.bin");
    let edits: Vec<(&str, Option<Node>)> = vec![
        ("a/asset.json", file(declaration_of("edited").as_bytes())),
        ("b/y.bin", file(b"edited bytes of b")),
        ("c", Some(Node::Dir)),
        (
            "c/asset.json",
            file(declaration(U3, "c", "z.bin").as_bytes()),
        ),
        ("c/z.bin", file(b"bytes of c")),
        ("b", None),
        ("b/asset.json", None),
        ("b/y.bin", None),
        ("bb", Some(Node::Dir)),
        (
            "bb/asset.json",
            file(declaration(U2, "b", "y.bin").as_bytes()),
        ),
        ("bb/y.bin", file(b"edited bytes of b")),
        (".prometeu/index.json", file(good_registry().as_bytes())),
    ];
    let mut expected: BTreeMap<String, Node> = before
        .iter()
        .map(|(path, entry)| (path.clone(), entry.node.clone()))
        .collect();
    // Paths whose stat data a hand edit moved: those edited, and their folders.
    let mut touched: BTreeSet<String> = BTreeSet::new();
    for (path, node) in edits {
        match node {
            Some(node) => expected.insert(path.to_owned(), node),
            None => expected.remove(path),
        };
        let mut at = path;
        touched.insert(at.to_owned());
        while !at.is_empty() {
            at = at.rsplit_once('/').map_or("", |(parent, _)| parent);
            touched.insert(at.to_owned());
        }
    }
    let nodes: BTreeMap<String, Node> = after
        .iter()
        .map(|(path, entry)| (path.clone(), entry.node.clone()))
        .collect();
    assert_eq!(nodes, expected);
    for (path, entry) in &before {
        if let (false, Some(now)) = (touched.contains(path), after.get(path)) {
            assert_eq!(now, entry, "{path} was touched");
        }
    }
}
