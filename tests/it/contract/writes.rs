//! The port's contract for changing the workspace: writing files, making folders,
//! syncing, renaming and removing, and the fingerprints those changes leave.

use super::*;

pub(super) fn write_file_creates_and_truncates(h: &dyn Harness) {
    h.mkdir("a");
    h.port()
        .write_file(&p("a/new.txt"), b"a longer first content")
        .unwrap();
    assert_eq!(read(h, "a/new.txt"), b"a longer first content");
    h.port().write_file(&p("a/new.txt"), b"short").unwrap();
    assert_eq!(read(h, "a/new.txt"), b"short");
    h.port().write_file(&p("top.txt"), b"").unwrap();
    assert_eq!(read(h, "top.txt"), b"");
}

pub(super) fn write_file_needs_its_parent(h: &dyn Harness) {
    h.put("file.txt", b"x");
    let error = h
        .port()
        .write_file(&p("missing/new.txt"), b"x")
        .unwrap_err();
    assert_eq!(error.kind, PortErrorKind::NotFound);
    assert_eq!(error.path, p("missing/new.txt"));
    assert_eq!(
        kind(h.port().write_file(&p("file.txt/new.txt"), b"x")),
        PortErrorKind::NotADirectory
    );
    h.mkdir("dir");
    assert_eq!(
        kind(h.port().write_file(&p("dir"), b"x")),
        PortErrorKind::IsADirectory
    );
    assert_eq!(h.port().stat(&p("missing")), Ok(None));
}

pub(super) fn write_file_never_writes_through_a_final_link(h: &dyn Harness) {
    h.put("a/target.txt", b"original");
    h.symlink("a/link", "target.txt");
    h.symlink("a/dangling", "nothing.txt");
    h.symlink("linked_dir", "a");
    assert_eq!(
        kind(h.port().write_file(&p("a/link"), b"x")),
        PortErrorKind::AlreadyExists
    );
    assert_eq!(
        kind(h.port().write_file(&p("a/dangling"), b"x")),
        PortErrorKind::AlreadyExists
    );
    assert_eq!(read(h, "a/target.txt"), b"original");
    assert_eq!(h.port().stat(&p("a/nothing.txt")), Ok(None));
    // Links on the way to the parent are followed.
    h.port()
        .write_file(&p("linked_dir/new.txt"), b"new")
        .unwrap();
    assert_eq!(read(h, "a/new.txt"), b"new");
}

pub(super) fn create_dir_all_makes_every_missing_parent(h: &dyn Harness) {
    h.port().create_dir_all(&p("a/b/c")).unwrap();
    h.port().create_dir_all(&p("a/b/c")).unwrap();
    h.port().create_dir_all(&p("a")).unwrap();
    h.port().write_file(&p("a/b/c/file.txt"), b"x").unwrap();
    assert_eq!(
        kind(h.port().create_dir_all(&p("a/b/c/file.txt/d"))),
        PortErrorKind::AlreadyExists
    );
    assert_eq!(
        kind(h.port().create_dir_all(&p("a/b/c/file.txt"))),
        PortErrorKind::AlreadyExists
    );
    h.symlink("linked", "a/b");
    h.port().create_dir_all(&p("linked/via_link")).unwrap();
    assert_eq!(
        kinds(h),
        vec![
            entry("a", EntryKind::Dir),
            entry("a/b", EntryKind::Dir),
            entry("a/b/c", EntryKind::Dir),
            entry("a/b/c/file.txt", EntryKind::File),
            entry("a/b/via_link", EntryKind::Dir),
            entry("linked", inside("a/b", true)),
        ]
    );
}

pub(super) fn sync_file_and_sync_dir_accept_what_exists(h: &dyn Harness) {
    h.mkdir("a");
    h.port().write_file(&p("a/file.txt"), b"x").unwrap();
    h.port().sync_file(&p("a/file.txt")).unwrap();
    h.port().sync_dir(&p("a")).unwrap();
    h.port().sync_dir(&WsPath::root()).unwrap();
    assert_eq!(
        kind(h.port().sync_file(&p("a/missing"))),
        PortErrorKind::NotFound
    );
    assert_eq!(
        kind(h.port().sync_dir(&p("missing"))),
        PortErrorKind::NotFound
    );
    assert_eq!(
        kind(h.port().sync_file(&p("a"))),
        PortErrorKind::IsADirectory
    );
    assert_eq!(
        kind(h.port().sync_dir(&p("a/file.txt"))),
        PortErrorKind::NotADirectory
    );
}

/// Where the adapter can sync everything at once, it does so without disturbing what it
/// syncs; where it cannot, it says so and changes nothing. Either way the files are as
/// written. (What survives a crash is memfs's to show: `tests/crash.rs` there.)
pub(super) fn sync_all_is_done_or_unavailable_and_changes_nothing(h: &dyn Harness) {
    h.mkdir("a");
    h.port().write_file(&p("a/file.txt"), b"x").unwrap();
    h.port()
        .rename(&p("a/file.txt"), &p("a/moved.txt"))
        .unwrap();
    let before = h.port().scan(ScanOptions::default()).unwrap();
    let outcome = h.port().sync_all().unwrap();
    assert!(matches!(outcome, SyncAll::Done | SyncAll::Unavailable));
    assert_eq!(h.port().scan(ScanOptions::default()).unwrap(), before);
    assert_eq!(
        h.port().read(&p("a/moved.txt"), 16).unwrap().bytes,
        b"x".to_vec()
    );
}

pub(super) fn rename_replaces_a_file_atomically(h: &dyn Harness) {
    h.put("a/index.json", b"old");
    h.put("a/index.json.tmp", b"new content");
    let staged = stat(h, "a/index.json.tmp");
    let replaced = stat(h, "a/index.json");
    h.port()
        .rename(&p("a/index.json.tmp"), &p("a/index.json"))
        .unwrap();
    h.port().sync_dir(&p("a")).unwrap();
    assert_eq!(read(h, "a/index.json"), b"new content");
    assert_eq!(h.port().stat(&p("a/index.json.tmp")), Ok(None));
    let now = stat(h, "a/index.json");
    // The renamed inode, not the one it replaced.
    assert_eq!(now.inode, staged.inode);
    assert_ne!(now.inode, replaced.inode);
    assert_eq!(now.size, staged.size);
    assert_eq!(now.mtime_ns, staged.mtime_ns);
    assert!(now.ctime_ns >= staged.ctime_ns);
}

pub(super) fn rename_moves_a_directory_with_its_content(h: &dyn Harness) {
    h.put("sprites/hero/asset.json", b"{}");
    h.put("sprites/hero/frames/1.png", b"1");
    h.mkdir("characters");
    h.port()
        .rename(&p("sprites/hero"), &p("characters/hero"))
        .unwrap();
    assert_eq!(read(h, "characters/hero/asset.json"), b"{}");
    assert_eq!(read(h, "characters/hero/frames/1.png"), b"1");
    assert_eq!(h.port().stat(&p("sprites/hero/asset.json")), Ok(None));
    // A directory only moves to where nothing is, not even an empty directory.
    h.mkdir("empty");
    assert_eq!(
        kind(h.port().rename(&p("characters/hero"), &p("empty"))),
        PortErrorKind::AlreadyExists
    );
    assert_eq!(read(h, "characters/hero/asset.json"), b"{}");
    assert_eq!(
        kind(h.port().rename(&p("characters/hero"), &p("sprites"))),
        PortErrorKind::AlreadyExists
    );
}

pub(super) fn rename_errors(h: &dyn Harness) {
    h.put("a/file.txt", b"x");
    h.mkdir("dir");
    let missing = h.port().rename(&p("a/missing"), &p("a/other")).unwrap_err();
    assert_eq!(
        (missing.kind, missing.path),
        (PortErrorKind::NotFound, p("a/missing"))
    );
    let no_parent = h
        .port()
        .rename(&p("a/file.txt"), &p("nowhere/file.txt"))
        .unwrap_err();
    assert_eq!(
        (no_parent.kind, no_parent.path),
        (PortErrorKind::NotFound, p("nowhere/file.txt"))
    );
    assert_eq!(
        kind(h.port().rename(&p("a/file.txt"), &p("dir"))),
        PortErrorKind::IsADirectory
    );
    assert_eq!(read(h, "a/file.txt"), b"x");
}

pub(super) fn remove_file_removes_files_and_links_only(h: &dyn Harness) {
    h.put("a/file.txt", b"x");
    h.put("a/target.txt", b"kept");
    h.symlink("a/link", "target.txt");
    h.port().remove_file(&p("a/file.txt")).unwrap();
    assert_eq!(h.port().stat(&p("a/file.txt")), Ok(None));
    h.port().remove_file(&p("a/link")).unwrap();
    assert_eq!(read(h, "a/target.txt"), b"kept");
    assert_eq!(
        kind(h.port().remove_file(&p("a/file.txt"))),
        PortErrorKind::NotFound
    );
    assert_eq!(
        kind(h.port().remove_file(&p("a"))),
        PortErrorKind::IsADirectory
    );
    assert_eq!(
        kinds(h),
        vec![
            entry("a", EntryKind::Dir),
            entry("a/target.txt", EntryKind::File)
        ]
    );
}

pub(super) fn remove_dir_all_removes_a_tree_but_not_through_links(h: &dyn Harness) {
    h.put("tx/1/a/b/c.txt", b"c");
    h.put("tx/1/d.txt", b"d");
    h.put("kept/file.txt", b"kept");
    h.symlink("tx/1/link_out", "../../kept");
    h.symlink("linked", "kept");
    h.port().remove_dir_all(&p("tx/1")).unwrap();
    assert_eq!(
        kind(h.port().remove_dir_all(&p("tx/1"))),
        PortErrorKind::NotFound
    );
    refuses_a_link_and_a_file(|path| kind(h.port().remove_dir_all(path)));
    assert_eq!(read(h, "kept/file.txt"), b"kept");
    assert_eq!(
        kinds(h),
        vec![
            entry("kept", EntryKind::Dir),
            entry("kept/file.txt", EntryKind::File),
            entry("linked", inside("kept", true)),
            entry("tx", EntryKind::Dir),
        ]
    );
}

/// A removal of folders refuses `linked` (a link to the folder `kept`) and
/// `kept/file.txt`: `remove` gives the kind of error it met at a path.
fn refuses_a_link_and_a_file(remove: impl Fn(&WsPath) -> PortErrorKind) {
    for path in ["linked", "kept/file.txt"] {
        assert_eq!(remove(&p(path)), PortErrorKind::NotADirectory, "{path}");
    }
}

pub(super) fn remove_empty_dir_removes_only_an_empty_directory(h: &dyn Harness) {
    h.put("tx/1/intent", b"i");
    h.mkdir("tx/2");
    h.put("kept/file.txt", b"kept");
    h.symlink("linked", "kept");
    let port = h.port();
    assert!(!port.remove_empty_dir(&p("tx")).unwrap());
    assert!(!port.remove_empty_dir(&p("tx/1")).unwrap());
    refuses_a_link_and_a_file(|path| kind(port.remove_empty_dir(path)));
    assert!(port.remove_empty_dir(&p("tx/2")).unwrap());
    assert_eq!(
        kind(port.remove_empty_dir(&p("tx/2"))),
        PortErrorKind::NotFound
    );
    assert_eq!(
        kinds(h),
        vec![
            entry("kept", EntryKind::Dir),
            entry("kept/file.txt", EntryKind::File),
            entry("linked", inside("kept", true)),
            entry("tx", EntryKind::Dir),
            entry("tx/1", EntryKind::Dir),
            entry("tx/1/intent", EntryKind::File),
        ]
    );
}

pub(super) fn fingerprints_follow_writes_and_renames(h: &dyn Harness) {
    h.mkdir("a");
    h.port().write_file(&p("a/f.txt"), b"one").unwrap();
    let first = stat(h, "a/f.txt");
    assert_eq!(first.size, 3);
    assert_eq!(h.port().read(&p("a/f.txt"), 10).unwrap().fingerprint, first);
    assert_eq!(
        stat(h, "a/f.txt"),
        first,
        "an untouched file keeps its fingerprint"
    );

    // Rewritten in place: same inode, new size, times never go back.
    h.port().write_file(&p("a/f.txt"), b"three").unwrap();
    let second = stat(h, "a/f.txt");
    assert_ne!(second, first);
    assert_eq!(second.size, 5);
    assert_eq!(second.inode, first.inode);
    assert!(second.mtime_ns >= first.mtime_ns);
    assert!(second.ctime_ns >= first.ctime_ns);

    // Replaced by rename: the staged file's inode.
    h.port().write_file(&p("a/f.txt.tmp"), b"seven!!").unwrap();
    let staged = stat(h, "a/f.txt.tmp");
    assert_ne!(staged.inode, second.inode);
    h.port().rename(&p("a/f.txt.tmp"), &p("a/f.txt")).unwrap();
    let third = stat(h, "a/f.txt");
    assert_eq!((third.inode, third.size), (staged.inode, 7));
    let scanned = scan(h, ScanOptions { fingerprints: true });
    assert_eq!(scanned["a/f.txt"].fingerprint, Some(third));
}

pub(super) fn check_writable_foretells_what_changing_entries_meets(h: &dyn Harness) {
    h.put("ro/asset.json", b"{}");
    h.put("file.txt", b"x");
    h.symlink("via", "ro");
    assert_eq!(h.port().check_writable(&p("ro")), Ok(()));
    assert_eq!(h.port().check_writable(&WsPath::root()), Ok(()));
    assert_eq!(
        kind(h.port().check_writable(&p("missing"))),
        PortErrorKind::NotFound
    );
    assert_eq!(
        kind(h.port().check_writable(&p("file.txt"))),
        PortErrorKind::NotADirectory
    );

    h.set_read_only("ro", true);
    let check = h.port().check_writable(&p("ro")).map_err(|e| e.kind);
    let through_link = h.port().check_writable(&p("via")).map_err(|e| e.kind);
    let create = h
        .port()
        .write_file(&p("ro/new.txt"), b"x")
        .map_err(|e| e.kind);
    let remove = h
        .port()
        .remove_file(&p("ro/asset.json"))
        .map_err(|e| e.kind);
    h.set_read_only("ro", false);
    let denied = Err(PortErrorKind::PermissionDenied);
    if h.enforces_permissions() {
        assert_eq!(
            (check, through_link, create, remove),
            (denied, denied, denied, denied)
        );
        assert_eq!(read(h, "ro/asset.json"), b"{}", "a refused removal removed");
    } else {
        // Nothing refuses this process: the check says so too.
        assert_eq!((check, through_link, create), (Ok(()), Ok(()), Ok(())));
    }
    assert_eq!(h.port().check_writable(&p("ro")), Ok(()));
}
