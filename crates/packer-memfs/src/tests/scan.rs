//! Scans and fingerprints.

use packer_domain::path::WsPath;
use packer_domain::ports::{EntryKind, Fingerprint, LinkTarget, ScanEntry, ScanOptions};

use super::{load, p, port};
use crate::tree::CLOCK_ORIGIN_NS;

fn dir(path: &str) -> (String, EntryKind) {
    (path.to_owned(), EntryKind::Dir)
}

fn file(path: &str) -> (String, EntryKind) {
    (path.to_owned(), EntryKind::File)
}

fn link(path: &str, target: LinkTarget) -> (String, EntryKind) {
    (path.to_owned(), EntryKind::Symlink(target))
}

fn inside(path: &str, is_dir: bool) -> LinkTarget {
    LinkTarget::Inside {
        path: if path.is_empty() {
            WsPath::root()
        } else {
            p(path)
        },
        is_dir,
    }
}

fn check_scan(fixture: &str, expected: &[(String, EntryKind)]) {
    let fs = load(fixture);
    let entries = port(&fs).scan(ScanOptions::default()).unwrap();
    let got: Vec<(String, EntryKind)> = entries
        .into_iter()
        .map(|entry| {
            assert_eq!(entry.fingerprint, None);
            (entry.path.to_string(), entry.kind)
        })
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn scan_lists_everything_but_prometeu_sorted_and_never_descends_links() {
    check_scan(
        "
        //- .prometeu/index.json
        //- .prometeu/tx/1/asset.json
        //- a/.prometeu/kept.txt
        //- a/b/c.txt
        //- a.txt
        //- empty/
        //- links/file -> ../a/b/c.txt
        //- links/dir -> ../a
        //- links/root -> ..
        //- links/abs -> /etc
        //- links/above -> ../../x
        //- links/internal -> ../.prometeu/index.json
        //- links/dangling -> gone
        //- links/loop -> loop
        //- links/chain -> dir/b
        ",
        &[
            dir("a"),
            // Byte order: `.` sorts before `/`.
            file("a.txt"),
            dir("a/.prometeu"),
            file("a/.prometeu/kept.txt"),
            dir("a/b"),
            file("a/b/c.txt"),
            dir("empty"),
            dir("links"),
            link("links/above", LinkTarget::Outside),
            link("links/abs", LinkTarget::Outside),
            link("links/chain", inside("a/b", true)),
            link("links/dangling", LinkTarget::Dangling),
            link("links/dir", inside("a", true)),
            link("links/file", inside("a/b/c.txt", false)),
            link("links/internal", LinkTarget::Outside),
            link("links/loop", LinkTarget::Dangling),
            link("links/root", inside("", true)),
        ],
    );
}

#[test]
fn scan_of_an_empty_workspace_is_empty() {
    check_scan("//- .prometeu/index.json\n", &[]);
}

#[test]
fn fingerprints_come_from_the_logical_clock_and_inode_numbers() {
    let fs = load(
        "
        //- a.txt
        aa
        //- d/
        ",
    );
    let port = port(&fs);
    // The root is inode 1; the fixture made a.txt (2) then d (3), one tick each.
    let a = Fingerprint {
        size: 3,
        mtime_ns: CLOCK_ORIGIN_NS + 1,
        ctime_ns: CLOCK_ORIGIN_NS + 1,
        inode: 2,
    };
    let with = ScanOptions { fingerprints: true };
    assert_eq!(
        port.scan(with).unwrap(),
        vec![
            ScanEntry {
                path: p("a.txt"),
                kind: EntryKind::File,
                fingerprint: Some(a),
            },
            ScanEntry {
                path: p("d"),
                kind: EntryKind::Dir,
                fingerprint: None,
            },
        ]
    );

    // Overwriting keeps the inode and moves both times.
    port.write_file(&p("a.txt"), b"changed\n").unwrap();
    let written = Fingerprint {
        size: 8,
        mtime_ns: CLOCK_ORIGIN_NS + 3,
        ctime_ns: CLOCK_ORIGIN_NS + 3,
        inode: 2,
    };
    assert_eq!(port.stat(&p("a.txt")).unwrap(), Some(written));

    // A rename moves only the ctime.
    port.rename(&p("a.txt"), &p("d/a.txt")).unwrap();
    let renamed = Fingerprint {
        ctime_ns: CLOCK_ORIGIN_NS + 4,
        ..written
    };
    assert_eq!(port.stat(&p("d/a.txt")).unwrap(), Some(renamed));

    // Restoring an mtime by hand cannot hide the change: the ctime moves on.
    fs.set_mtime("d/a.txt", CLOCK_ORIGIN_NS + 1);
    let touched = Fingerprint {
        mtime_ns: CLOCK_ORIGIN_NS + 1,
        ctime_ns: CLOCK_ORIGIN_NS + 5,
        ..written
    };
    assert_eq!(port.stat(&p("d/a.txt")).unwrap(), Some(touched));
    assert_eq!(port.read(&p("d/a.txt"), 100).unwrap().fingerprint, touched);

    // A new file gets a new inode, never a freed one.
    port.remove_file(&p("d/a.txt")).unwrap();
    port.write_file(&p("b.txt"), b"").unwrap();
    assert_eq!(
        port.stat(&p("b.txt")).unwrap().map(|f| (f.inode, f.size)),
        Some((4, 0))
    );
}
