//! The port's contract for reading: `scan`, `read` and `read_many`, `scan_and_read`,
//! `list_dir` and `stat`.

use super::*;

pub(super) fn scan_reports_files_dirs_and_links(h: &dyn Harness) {
    every_kind_of_entry(h);
    assert_eq!(
        kinds(h),
        vec![
            entry("dangling", EntryKind::Symlink(LinkTarget::Dangling)),
            entry("deep", EntryKind::Dir),
            entry("deep/.prometeu", EntryKind::Dir),
            entry("deep/.prometeu/own.txt", EntryKind::File),
            entry("empty", EntryKind::Dir),
            // Links are reported, never entered: no `hero/...` entries.
            entry("hero", inside("sprites/hero", true)),
            entry("loop_a", EntryKind::Symlink(LinkTarget::Dangling)),
            entry("loop_b", EntryKind::Symlink(LinkTarget::Dangling)),
            entry("meta", EntryKind::Symlink(LinkTarget::Outside)),
            entry("meta_file", EntryKind::Symlink(LinkTarget::Outside)),
            entry("out_absolute", EntryKind::Symlink(LinkTarget::Outside)),
            entry("out_relative", EntryKind::Symlink(LinkTarget::Outside)),
            entry("sprites", EntryKind::Dir),
            entry("sprites/hero", EntryKind::Dir),
            entry(
                "sprites/hero/alias.png",
                inside("sprites/hero/hero.png", false)
            ),
            entry("sprites/hero/asset.json", EntryKind::File),
            entry("sprites/hero/hero.png", EntryKind::File),
            entry("sprites/hero/up.png", inside("empty", true)),
            entry("through_file", EntryKind::Symlink(LinkTarget::Dangling)),
        ]
    );
}

/// A workspace with a file, a folder and a link of every sort.
fn every_kind_of_entry(h: &dyn Harness) {
    h.put("sprites/hero/asset.json", b"{}");
    h.put("sprites/hero/hero.png", b"png");
    h.mkdir("empty");
    h.put(".prometeu/index.json", b"{}");
    h.put(".prometeu/tx/1/intent.json", b"{}");
    h.put(
        "deep/.prometeu/own.txt",
        b"only the top-level .prometeu is the packer's",
    );
    h.symlink("sprites/hero/alias.png", "hero.png");
    h.symlink("sprites/hero/up.png", "../../empty");
    h.symlink("hero", "sprites/hero");
    h.symlink("out_relative", RELATIVE_OUTSIDE_TARGET);
    h.symlink("out_absolute", &h.absolute_outside_target());
    h.symlink("meta", ".prometeu");
    h.symlink("meta_file", ".prometeu/index.json");
    h.symlink("dangling", "nothing/here");
    h.symlink("loop_a", "loop_b");
    h.symlink("loop_b", "loop_a");
    h.symlink("through_file", "sprites/hero/hero.png/x");
}

pub(super) fn scan_of_an_empty_workspace_is_empty(h: &dyn Harness) {
    assert_eq!(kinds(h), Vec::new());
    h.mkdir(".prometeu");
    assert_eq!(kinds(h), Vec::new());
}

pub(super) fn scan_fingerprints_only_files_and_only_when_asked(h: &dyn Harness) {
    h.put("a/one.txt", b"one");
    h.put("a/b/three.txt", b"three");
    h.symlink("a/link", "one.txt");
    for entry in scan(h, ScanOptions::default()).values() {
        assert_eq!(entry.fingerprint, None, "{entry:?}");
    }
    let entries = scan(h, ScanOptions { fingerprints: true });
    assert_eq!(entries.len(), 5);
    for (path, entry) in entries {
        if entry.kind == EntryKind::File {
            // The same file seen three ways gives one fingerprint.
            let stat = stat(h, &path);
            assert_eq!(entry.fingerprint, Some(stat), "{path}");
            assert_eq!(h.port().read(&p(&path), 100).unwrap().fingerprint, stat);
        } else {
            assert_eq!(entry.fingerprint, None, "{path}");
        }
    }
    assert_eq!(stat(h, "a/b/three.txt").size, 5);
}

/// A reusing scan reports what a fingerprint scan reports, whatever it reuses: an edit
/// in place, a new file and a removed one all show, and every directory is seen.
pub(super) fn scan_reusing_reports_what_a_fingerprint_scan_reports(h: &dyn Harness) {
    h.put("a/one.txt", b"one");
    h.put("a/b/three.txt", b"three");
    h.put("c/gone.txt", b"gone");
    h.symlink("a/link", "one.txt");
    // Sorted by path, `a-b` comes between `a` and `a/…`: not the order of a walk.
    h.put("a-b/x.txt", b"x");
    let by_path = |entries: Vec<ScanEntry>| -> BTreeMap<String, ScanEntry> {
        let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
        assert!(paths.is_sorted(), "{paths:?}");
        entries
            .into_iter()
            .map(|e| (e.path.as_str().to_owned(), e))
            .collect()
    };
    let (first, seen) = h.port().scan_reusing(None).unwrap();
    assert_eq!(by_path(first), scan(h, ScanOptions { fingerprints: true }));
    for dir in ["", "a", "a/b", "c"] {
        assert!(seen.get(dir).is_some(), "{dir}");
    }
    h.put("a/one.txt", b"one, edited");
    h.put("a/b/new.txt", b"new");
    h.port().remove_file(&p("c/gone.txt")).unwrap();
    let reuse = Reuse {
        seen: &seen,
        trusted_before_ns: i64::MAX,
    };
    let (again, _) = h.port().scan_reusing(Some(reuse)).unwrap();
    let again = by_path(again);
    assert_eq!(again, scan(h, ScanOptions { fingerprints: true }));
    assert_eq!(again["a/one.txt"].fingerprint.map(|f| f.size), Some(11));
    assert!(again.contains_key("a/b/new.txt"));
    assert!(!again.contains_key("c/gone.txt"));
}

pub(super) fn read_returns_content_and_its_fingerprint(h: &dyn Harness) {
    h.put("a/file.txt", b"hello");
    h.put("a/empty.txt", b"");
    let FileRead { bytes, fingerprint } = h.port().read(&p("a/file.txt"), 5).unwrap();
    assert_eq!(bytes, b"hello");
    assert_eq!(fingerprint.size, 5);
    assert_eq!(fingerprint, stat(h, "a/file.txt"));
    assert_eq!(h.port().read(&p("a/empty.txt"), 0).unwrap().bytes, b"");
}

pub(super) fn read_refuses_files_over_the_limit(h: &dyn Harness) {
    h.put("big.bin", &[7; 100]);
    assert_eq!(h.port().read(&p("big.bin"), 100).unwrap().bytes.len(), 100);
    let error = h.port().read(&p("big.bin"), 99).unwrap_err();
    assert_eq!(error.kind, PortErrorKind::TooLarge);
    assert_eq!(error.path, p("big.bin"));
}

pub(super) fn read_errors_name_their_cause(h: &dyn Harness) {
    h.put("a/file.txt", b"x");
    let missing = h.port().read(&p("a/missing.txt"), 10).unwrap_err();
    assert_eq!(missing.kind, PortErrorKind::NotFound);
    assert_eq!(missing.path, p("a/missing.txt"));
    assert!(
        missing.to_string().contains("assets/a/missing.txt"),
        "{missing}"
    );
    assert_eq!(
        kind(h.port().read(&p("nowhere/x"), 10)),
        PortErrorKind::NotFound
    );
    assert_eq!(
        kind(h.port().read(&p("a"), 10)),
        PortErrorKind::IsADirectory
    );
    assert_eq!(
        kind(h.port().read(&p("a/file.txt/x"), 10)),
        PortErrorKind::NotADirectory
    );
}

pub(super) fn read_follows_links_inside(h: &dyn Harness) {
    h.put("a/file.txt", b"target");
    h.symlink("a/link", "file.txt");
    h.symlink("b/up", "../a/file.txt");
    h.symlink("dir", "a");
    assert_eq!(read(h, "a/link"), b"target");
    assert_eq!(read(h, "b/up"), b"target");
    assert_eq!(read(h, "dir/file.txt"), b"target");
    assert_eq!(read(h, "dir/link"), b"target");
    assert_eq!(stat(h, "dir/link"), stat(h, "a/file.txt"));
    h.symlink("dangling", "gone");
    assert_eq!(
        kind(h.port().read(&p("dangling"), 10)),
        PortErrorKind::NotFound
    );
}

pub(super) fn read_many_delivers_every_index_once(h: &dyn Harness) {
    let mut paths = Vec::new();
    for i in 0..40 {
        let path = format!("assets/{i}/asset.json");
        match i % 4 {
            0 => {}
            3 => h.put(&path, &[b'x'; 50]),
            _ => h.put(&path, format!("{i}").as_bytes()),
        }
        paths.push(p(&path));
    }
    let seen: Mutex<Vec<Vec<Result<FileRead, PortError>>>> =
        Mutex::new((0..paths.len()).map(|_| Vec::new()).collect());
    h.port()
        .read_many(&ReadRequest::all(&paths, 10), &|index, result| {
            seen.lock().unwrap()[index].push(result);
        });
    for (i, results) in seen.into_inner().unwrap().into_iter().enumerate() {
        assert_eq!(
            results.len(),
            1,
            "index {i} delivered {} times",
            results.len()
        );
        let result = results.into_iter().next().unwrap();
        match i % 4 {
            0 => assert_eq!(kind(result), PortErrorKind::NotFound),
            3 => assert_eq!(kind(result), PortErrorKind::TooLarge),
            _ => assert_eq!(result.unwrap().bytes, format!("{i}").as_bytes()),
        }
    }
    h.port()
        .read_many(&[], &|index, _| panic!("nothing to deliver, got {index}"));
}

/// What one `scan_and_read` delivered: each request's results by index, and each file
/// found with the path and entries of the folder it came with.
struct Delivered {
    requests: Vec<Vec<Result<FileRead, PortError>>>,
    found: Vec<FoundFile>,
}

/// A file found by name: its folder's path, the folder's entries, and the read.
type FoundFile = (
    String,
    Vec<(String, EntryKind)>,
    Result<FileRead, PortError>,
);

fn scan_and_read(
    h: &dyn Harness,
    options: ScanOptions,
    requests: &[ReadRequest],
    file_name: &str,
    limit: u64,
) -> (Result<Listing, PortError>, Delivered) {
    let delivered = Mutex::new(Delivered {
        requests: requests.iter().map(|_| Vec::new()).collect(),
        found: Vec::new(),
    });
    let reads = ScanReads {
        requests,
        file_name,
        limit,
    };
    let listing = h
        .port()
        .scan_and_read(options, &reads, &|delivery| match delivery {
            ScanDelivery::Request { index, result } => {
                let result = result.map(|read| read.to_file_read());
                delivered.lock().unwrap().requests[index].push(result);
            }
            ScanDelivery::Found { dir, result } => {
                let entries = dir
                    .entries()
                    .map(|e| (e.name.to_owned(), e.kind.clone()))
                    .collect();
                let path = dir.path().to_owned();
                let result = result.map(|read| read.to_file_read());
                delivered
                    .lock()
                    .unwrap()
                    .found
                    .push((path, entries, result));
            }
        });
    (listing, delivered.into_inner().unwrap())
}

/// The listing's entries by path, each checked to be where `ListedDir::get` finds it.
fn listed(listing: &Listing) -> BTreeMap<String, ScanEntry> {
    let mut dirs = Vec::new();
    for dir in listing.dirs() {
        let names: Vec<&str> = dir.entries().map(|e| e.name).collect();
        assert!(
            names.is_sorted(),
            "`{}` is not sorted: {names:?}",
            dir.path()
        );
        assert_eq!(dir.len(), names.len());
        for entry in dir.entries() {
            assert_eq!(dir.get(entry.name), Some(entry.kind), "{}", entry.name);
        }
        assert_eq!(dir.get("not-there"), None);
        dirs.push(dir.path().to_owned());
    }
    let count = dirs.len();
    dirs.sort();
    dirs.dedup();
    assert_eq!(dirs.len(), count, "a folder was listed twice");
    let entries = listing.to_scan_entries();
    assert_eq!(entries.len(), listing.entry_count());
    // Every folder entry was listed, and the root, and nothing else.
    let mut expected: Vec<String> = entries
        .iter()
        .filter(|e| e.kind == EntryKind::Dir)
        .map(|e| e.path.as_str().to_owned())
        .chain([String::new()])
        .collect();
    expected.sort();
    assert_eq!(dirs, expected);
    entries
        .into_iter()
        .map(|e| (e.path.as_str().to_owned(), e))
        .collect()
}

pub(super) fn scan_and_read_lists_what_scan_lists(h: &dyn Harness) {
    every_kind_of_entry(h);
    for options in [ScanOptions::default(), ScanOptions { fingerprints: true }] {
        let (listing, delivered) = scan_and_read(h, options, &[], "asset.json", 100);
        assert_eq!(listed(&listing.unwrap()), scan(h, options), "{options:?}");
        assert_eq!(delivered.found.len(), 1);
    }
    let (listing, _) = scan_and_read(h, ScanOptions::default(), &[], "none", 100);
    let listing = listing.unwrap();
    let empty = listing.dirs().find(|d| d.path() == "empty").unwrap();
    assert!(empty.is_empty());
}

pub(super) fn scan_and_read_reads_every_file_of_the_name(h: &dyn Harness) {
    h.put(".prometeu/index.json", b"{}");
    h.put("asset.json", b"top");
    h.put("a/asset.json", b"one");
    h.put("a/b/asset.json", b"two");
    h.put("a/b/other.json", b"not this name");
    h.mkdir("c/asset.json");
    h.put("d/real.json", b"real");
    h.symlink("d/asset.json", "real.json");
    h.symlink("e/asset.json", &format!("../{RELATIVE_OUTSIDE_TARGET}"));
    h.symlink("f/asset.json", "gone");
    h.put("g/asset.json", &[b'x'; 50]);
    h.put(".prometeu/tx/asset.json", b"never walked");
    let requests = ReadRequest::all(&[p(".prometeu/index.json"), p("missing.json")], 10);
    let (listing, delivered) =
        scan_and_read(h, ScanOptions::default(), &requests, "asset.json", 10);
    let listing = listing.unwrap();
    for (index, results) in delivered.requests.into_iter().enumerate() {
        assert_eq!(results.len(), 1, "request {index}");
        let expected = h.port().read(&requests[index].path, 10);
        assert_eq!(results.into_iter().next().unwrap(), expected);
    }
    let mut found = delivered.found;
    found.sort_by(|a, b| a.0.cmp(&b.0));
    let dirs: Vec<&str> = found.iter().map(|f| f.0.as_str()).collect();
    assert_eq!(dirs, ["", "a", "a/b", "d", "e", "f", "g"]);
    for (dir, entries, result) in found {
        let path = if dir.is_empty() {
            p("asset.json")
        } else {
            p(&format!("{dir}/asset.json"))
        };
        assert_eq!(result, h.port().read(&path, 10), "{path}");
        let listed_dir = listing.dirs().find(|d| d.path() == dir).unwrap();
        let listed_entries: Vec<(String, EntryKind)> = listed_dir
            .entries()
            .map(|e| (e.name.to_owned(), e.kind.clone()))
            .collect();
        assert_eq!(entries, listed_entries, "{dir}");
    }
    let kinds = |dir: &str| kind(h.port().read(&p(&format!("{dir}/asset.json")), 10));
    assert_eq!(kinds("e"), PortErrorKind::OutsideWorkspace);
    assert_eq!(kinds("f"), PortErrorKind::NotFound);
    assert_eq!(kinds("g"), PortErrorKind::TooLarge);
}

pub(super) fn list_dir_names_entries_without_following_links(h: &dyn Harness) {
    h.put(".prometeu/tx/b/intent.json", b"{}");
    h.put(".prometeu/tx/a.txt", b"x");
    h.mkdir(".prometeu/tx/c");
    h.symlink(".prometeu/tx/link", "a.txt");
    let listed: Vec<(String, DirEntryKind)> = h
        .port()
        .list_dir(&p(".prometeu/tx"))
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.kind))
        .collect();
    assert_eq!(
        listed,
        [
            ("a.txt".to_owned(), DirEntryKind::File),
            ("b".to_owned(), DirEntryKind::Dir),
            ("c".to_owned(), DirEntryKind::Dir),
            ("link".to_owned(), DirEntryKind::Symlink),
        ]
    );
    assert_eq!(h.port().list_dir(&p(".prometeu/tx/c")).unwrap(), []);
    assert_eq!(
        kind(h.port().list_dir(&p(".prometeu/none"))),
        PortErrorKind::NotFound
    );
    assert_eq!(
        kind(h.port().list_dir(&p(".prometeu/tx/a.txt"))),
        PortErrorKind::NotADirectory
    );
}

pub(super) fn stat_answers_for_files_and_absence(h: &dyn Harness) {
    h.put("a/file.txt", b"four");
    h.symlink("a/dangling", "gone");
    assert_eq!(stat(h, "a/file.txt").size, 4);
    assert_eq!(h.port().stat(&p("a/missing")).unwrap(), None);
    assert_eq!(h.port().stat(&p("missing/dir/file")).unwrap(), None);
    assert_eq!(h.port().stat(&p("a/dangling")).unwrap(), None);
    assert_eq!(h.port().stat(&p("a/file.txt/x")).unwrap(), None);
    assert_eq!(kind(h.port().stat(&p("a"))), PortErrorKind::IsADirectory);
}

/// A FIFO (standing for sockets and devices) is listed as special, never as missing,
/// and nothing reads, stats or writes it: on a disk, opening one could block.
pub(super) fn special_files_are_listed_and_never_read(h: &dyn Harness) {
    h.put("a/file.txt", b"x");
    h.mkfifo("a/pipe");
    h.symlink("a/to-pipe", "pipe");
    assert_eq!(
        kinds(h),
        [
            entry("a", EntryKind::Dir),
            entry("a/file.txt", EntryKind::File),
            entry("a/pipe", EntryKind::Special),
            entry("a/to-pipe", inside("a/pipe", false)),
        ]
    );
    let fingerprinted = scan(h, ScanOptions { fingerprints: true });
    assert_eq!(fingerprinted["a/pipe"].fingerprint, None);
    let listed: Vec<(String, DirEntryKind)> = h
        .port()
        .list_dir(&p("a"))
        .unwrap()
        .into_iter()
        .map(|e| (e.name, e.kind))
        .collect();
    assert!(
        listed.contains(&("pipe".to_owned(), DirEntryKind::Other)),
        "{listed:?}"
    );
    for path in ["a/pipe", "a/to-pipe"] {
        assert_eq!(
            kind(h.port().read(&p(path), 10)),
            PortErrorKind::Io,
            "{path}"
        );
        assert_eq!(kind(h.port().stat(&p(path))), PortErrorKind::Io, "{path}");
    }
    assert!(h.port().write_file(&p("a/pipe"), b"x").is_err());
    // A walk that reads every entry of a name reads no special one.
    let delivered = Mutex::new(Vec::new());
    let reads = ScanReads {
        requests: &[],
        file_name: "pipe",
        limit: 10,
    };
    h.port()
        .scan_and_read(ScanOptions::default(), &reads, &|delivery| {
            if let ScanDelivery::Found { dir, .. } = delivery {
                delivered.lock().unwrap().push(dir.path().to_owned());
            }
        })
        .unwrap();
    assert_eq!(delivered.into_inner().unwrap(), Vec::<String>::new());
}
