//! The contract of `WorkspacePort`, one suite run against both adapters: `packer-memfs`
//! and `packer-fs` on a temporary directory. Each check is a function over a [`Harness`];
//! `contract_tests!` runs it once per adapter. A behaviour one adapter has and the other
//! lacks fails here, which is how the in-memory adapter stays a faithful stand-in.

// Test code throughout, helpers included: a failed `unwrap` is a failed test.
#![cfg(test)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use packer_domain::path::WsPath;
use packer_domain::ports::{
    DirEntryKind, EntryKind, FileRead, Fingerprint, LinkTarget, Listing, PortError, PortErrorKind,
    ReadRequest, ScanDelivery, ScanEntry, ScanOptions, ScanReads, WorkspacePort,
};
use packer_fs::DiskWorkspace;
use packer_memfs::MemFs;
use tempfile::TempDir;

/// An adapter under test and the means to arrange its content behind the port's back,
/// as a person with a file manager would.
trait Harness: Sync {
    fn port(&self) -> &dyn WorkspacePort;
    /// Writes a file, creating its parents.
    fn put(&self, path: &str, bytes: &[u8]);
    fn mkdir(&self, path: &str);
    /// A symbolic link with the raw target text `target`, relative to the link's folder.
    fn symlink(&self, link: &str, target: &str);
    /// An absolute link target naming a file outside the workspace.
    fn absolute_outside_target(&self) -> String;
    /// Everything outside the workspace that links in the tests point at, with content.
    fn outside(&self) -> BTreeMap<String, Vec<u8>>;
}

/// A link target, relative to a link at the top level, naming a file outside the
/// workspace (beside `assets/` on disk; above the root, so outside, in memory).
const RELATIVE_OUTSIDE_TARGET: &str = "../outside/secret.txt";

struct MemHarness {
    fs: MemFs,
}

impl MemHarness {
    fn new() -> MemHarness {
        MemHarness { fs: MemFs::new() }
    }
}

impl Harness for MemHarness {
    fn port(&self) -> &dyn WorkspacePort {
        &self.fs
    }

    fn put(&self, path: &str, bytes: &[u8]) {
        self.fs.write(path, bytes);
    }

    fn mkdir(&self, path: &str) {
        self.fs.mkdir(path);
    }

    fn symlink(&self, link: &str, target: &str) {
        self.fs.symlink(link, target);
    }

    fn absolute_outside_target(&self) -> String {
        "/outside/secret.txt".to_owned()
    }

    fn outside(&self) -> BTreeMap<String, Vec<u8>> {
        // Nothing exists outside an in-memory workspace, and nothing can be made there.
        BTreeMap::new()
    }
}

struct DiskHarness {
    project: TempDir,
    port: DiskWorkspace,
}

impl DiskHarness {
    fn new() -> DiskHarness {
        let project = tempfile::tempdir().unwrap();
        fs::create_dir(project.path().join("assets")).unwrap();
        fs::create_dir(project.path().join("outside")).unwrap();
        fs::write(project.path().join("outside/secret.txt"), b"secret").unwrap();
        let port = DiskWorkspace::open(project.path().join("assets")).unwrap();
        DiskHarness { project, port }
    }

    fn assets(&self) -> PathBuf {
        self.project.path().join("assets")
    }
}

impl Harness for DiskHarness {
    fn port(&self) -> &dyn WorkspacePort {
        &self.port
    }

    fn put(&self, path: &str, bytes: &[u8]) {
        let full = self.assets().join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, bytes).unwrap();
    }

    fn mkdir(&self, path: &str) {
        fs::create_dir_all(self.assets().join(path)).unwrap();
    }

    fn symlink(&self, link: &str, target: &str) {
        let full = self.assets().join(link);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, full).unwrap();
    }

    fn absolute_outside_target(&self) -> String {
        let target = self.project.path().join("outside/secret.txt");
        target.to_str().unwrap().to_owned()
    }

    fn outside(&self) -> BTreeMap<String, Vec<u8>> {
        let mut found = BTreeMap::new();
        collect(
            self.project.path(),
            self.project.path(),
            &self.assets(),
            &mut found,
        );
        found
    }
}

/// Every file below `dir` except the workspace, by path relative to `base`.
fn collect(base: &Path, dir: &Path, skip: &Path, found: &mut BTreeMap<String, Vec<u8>>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path == skip {
            continue;
        }
        let name = path
            .strip_prefix(base)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        if path.is_dir() {
            found.insert(format!("{name}/"), Vec::new());
            collect(base, &path, skip, found);
        } else {
            found.insert(name, fs::read(&path).unwrap());
        }
    }
}

fn p(path: &str) -> WsPath {
    WsPath::new(path).unwrap()
}

fn kind<T: std::fmt::Debug>(result: Result<T, PortError>) -> PortErrorKind {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => error.kind,
    }
}

fn read(h: &dyn Harness, path: &str) -> Vec<u8> {
    h.port().read(&p(path), 1 << 20).unwrap().bytes
}

fn stat(h: &dyn Harness, path: &str) -> Fingerprint {
    h.port().stat(&p(path)).unwrap().unwrap()
}

fn scan(h: &dyn Harness, options: ScanOptions) -> BTreeMap<String, ScanEntry> {
    let entries = h.port().scan(options).unwrap();
    let count = entries.len();
    let map: BTreeMap<_, _> = entries
        .into_iter()
        .map(|e| (e.path.as_str().to_owned(), e))
        .collect();
    assert_eq!(map.len(), count, "an entry was reported twice");
    map
}

fn kinds(h: &dyn Harness) -> Vec<(String, EntryKind)> {
    scan(h, ScanOptions::default())
        .into_iter()
        .map(|(path, entry)| (path, entry.kind))
        .collect()
}

fn inside(path: &str, is_dir: bool) -> EntryKind {
    EntryKind::Symlink(LinkTarget::Inside {
        path: p(path),
        is_dir,
    })
}

fn entry(path: &str, kind: EntryKind) -> (String, EntryKind) {
    (path.to_owned(), kind)
}

// ---- scan ----

fn scan_reports_files_dirs_and_links(h: &dyn Harness) {
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

fn scan_of_an_empty_workspace_is_empty(h: &dyn Harness) {
    assert_eq!(kinds(h), Vec::new());
    h.mkdir(".prometeu");
    assert_eq!(kinds(h), Vec::new());
}

fn scan_fingerprints_only_files_and_only_when_asked(h: &dyn Harness) {
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

// ---- read ----

fn read_returns_content_and_its_fingerprint(h: &dyn Harness) {
    h.put("a/file.txt", b"hello");
    h.put("a/empty.txt", b"");
    let FileRead { bytes, fingerprint } = h.port().read(&p("a/file.txt"), 5).unwrap();
    assert_eq!(bytes, b"hello");
    assert_eq!(fingerprint.size, 5);
    assert_eq!(fingerprint, stat(h, "a/file.txt"));
    assert_eq!(h.port().read(&p("a/empty.txt"), 0).unwrap().bytes, b"");
}

fn read_refuses_files_over_the_limit(h: &dyn Harness) {
    h.put("big.bin", &[7; 100]);
    assert_eq!(h.port().read(&p("big.bin"), 100).unwrap().bytes.len(), 100);
    let error = h.port().read(&p("big.bin"), 99).unwrap_err();
    assert_eq!(error.kind, PortErrorKind::TooLarge);
    assert_eq!(error.path, p("big.bin"));
}

fn read_errors_name_their_cause(h: &dyn Harness) {
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

fn read_follows_links_inside(h: &dyn Harness) {
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

fn read_many_delivers_every_index_once(h: &dyn Harness) {
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

// ---- scan_and_read ----

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

fn scan_and_read_lists_what_scan_lists(h: &dyn Harness) {
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

fn scan_and_read_reads_every_file_of_the_name(h: &dyn Harness) {
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

// ---- stat ----

fn list_dir_names_entries_without_following_links(h: &dyn Harness) {
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

fn stat_answers_for_files_and_absence(h: &dyn Harness) {
    h.put("a/file.txt", b"four");
    h.symlink("a/dangling", "gone");
    assert_eq!(stat(h, "a/file.txt").size, 4);
    assert_eq!(h.port().stat(&p("a/missing")).unwrap(), None);
    assert_eq!(h.port().stat(&p("missing/dir/file")).unwrap(), None);
    assert_eq!(h.port().stat(&p("a/dangling")).unwrap(), None);
    assert_eq!(h.port().stat(&p("a/file.txt/x")).unwrap(), None);
    assert_eq!(kind(h.port().stat(&p("a"))), PortErrorKind::IsADirectory);
}

// ---- writes ----

fn write_file_creates_and_truncates(h: &dyn Harness) {
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

fn write_file_needs_its_parent(h: &dyn Harness) {
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

fn write_file_never_writes_through_a_final_link(h: &dyn Harness) {
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

fn create_dir_all_makes_every_missing_parent(h: &dyn Harness) {
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

fn sync_file_and_sync_dir_accept_what_exists(h: &dyn Harness) {
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

fn rename_replaces_a_file_atomically(h: &dyn Harness) {
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

fn rename_moves_a_directory_with_its_content(h: &dyn Harness) {
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

fn rename_errors(h: &dyn Harness) {
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

fn remove_file_removes_files_and_links_only(h: &dyn Harness) {
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

fn remove_dir_all_removes_a_tree_but_not_through_links(h: &dyn Harness) {
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
    assert_eq!(
        kind(h.port().remove_dir_all(&p("linked"))),
        PortErrorKind::NotADirectory
    );
    assert_eq!(
        kind(h.port().remove_dir_all(&p("kept/file.txt"))),
        PortErrorKind::NotADirectory
    );
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

// ---- confinement ----

fn links_out_of_the_workspace_are_refused(h: &dyn Harness) {
    let before = h.outside();
    h.put("a/file.txt", b"x");
    h.symlink("out_relative", RELATIVE_OUTSIDE_TARGET);
    h.symlink("out_absolute", &h.absolute_outside_target());
    h.symlink("out_dir", "../outside");
    h.symlink("a/climb", "../../outside/secret.txt");
    let outside = PortErrorKind::OutsideWorkspace;
    for path in [
        "out_relative",
        "out_absolute",
        "out_dir/secret.txt",
        "a/climb",
    ] {
        let error = h.port().read(&p(path), 100).unwrap_err();
        assert_eq!(
            (error.kind, error.path.as_str()),
            (outside, path),
            "{error}"
        );
        assert_eq!(kind(h.port().stat(&p(path))), outside, "{path}");
    }
    assert_eq!(
        kind(h.port().write_file(&p("out_dir/new.txt"), b"x")),
        outside
    );
    assert_eq!(kind(h.port().write_file(&p("out_relative"), b"x")), outside);
    assert_eq!(kind(h.port().create_dir_all(&p("out_dir/new"))), outside);
    assert_eq!(
        kind(h.port().rename(&p("a/file.txt"), &p("out_dir/file.txt"))),
        outside
    );
    assert_eq!(
        kind(h.port().remove_file(&p("out_dir/secret.txt"))),
        outside
    );
    assert_eq!(kind(h.port().sync_file(&p("out_relative"))), outside);
    assert_eq!(h.outside(), before);
    assert_eq!(read(h, "a/file.txt"), b"x");
}

fn links_into_prometeu_are_refused_for_user_paths(h: &dyn Harness) {
    h.put(".prometeu/index.json", b"{}");
    h.put("a/file.txt", b"x");
    h.symlink("meta", ".prometeu");
    h.symlink("a/index", "../.prometeu/index.json");
    h.symlink(".prometeu/user", "../a");
    let outside = PortErrorKind::OutsideWorkspace;
    assert_eq!(kind(h.port().read(&p("meta/index.json"), 100)), outside);
    assert_eq!(kind(h.port().read(&p("a/index"), 100)), outside);
    assert_eq!(
        kind(h.port().write_file(&p("meta/index.json"), b"x")),
        outside
    );
    assert_eq!(
        kind(h.port().rename(&p("a/file.txt"), &p("meta/file.txt"))),
        outside
    );
    // And the packer's own paths do not lead out into the user's files.
    assert_eq!(
        kind(h.port().read(&p(".prometeu/user/file.txt"), 100)),
        outside
    );
    assert_eq!(read(h, ".prometeu/index.json"), b"{}");
    let internal = WsPath::internal("index.json").unwrap();
    assert_eq!(h.port().read(&internal, 100).unwrap().bytes, b"{}");
}

// ---- fingerprints ----

fn fingerprints_follow_writes_and_renames(h: &dyn Harness) {
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

// ---- lock ----

fn lock_is_exclusive_until_dropped(h: &dyn Harness) {
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

fn lock_needs_the_prometeu_directory(h: &dyn Harness) {
    assert_eq!(kind(h.port().lock()), PortErrorKind::NotFound);
}

macro_rules! contract_tests {
    ($($name:ident),* $(,)?) => {
        mod memfs {
            $(
                #[test]
                fn $name() {
                    super::$name(&super::MemHarness::new());
                }
            )*
        }

        mod disk {
            $(
                #[test]
                fn $name() {
                    super::$name(&super::DiskHarness::new());
                }
            )*
        }
    };
}

contract_tests!(
    scan_reports_files_dirs_and_links,
    scan_of_an_empty_workspace_is_empty,
    scan_fingerprints_only_files_and_only_when_asked,
    read_returns_content_and_its_fingerprint,
    read_refuses_files_over_the_limit,
    read_errors_name_their_cause,
    read_follows_links_inside,
    read_many_delivers_every_index_once,
    scan_and_read_lists_what_scan_lists,
    scan_and_read_reads_every_file_of_the_name,
    stat_answers_for_files_and_absence,
    list_dir_names_entries_without_following_links,
    write_file_creates_and_truncates,
    write_file_needs_its_parent,
    write_file_never_writes_through_a_final_link,
    create_dir_all_makes_every_missing_parent,
    sync_file_and_sync_dir_accept_what_exists,
    rename_replaces_a_file_atomically,
    rename_moves_a_directory_with_its_content,
    rename_errors,
    remove_file_removes_files_and_links_only,
    remove_dir_all_removes_a_tree_but_not_through_links,
    links_out_of_the_workspace_are_refused,
    links_into_prometeu_are_refused_for_user_paths,
    fingerprints_follow_writes_and_renames,
    lock_is_exclusive_until_dropped,
    lock_needs_the_prometeu_directory,
);
