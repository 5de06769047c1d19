//! The contract of `WorkspacePort`, one suite run against both adapters: `packer-memfs`
//! and `packer-fs` on a temporary directory. Each check is a function over a [`Harness`];
//! `contract_tests!` runs it once per adapter. A behaviour one adapter has and the other
//! lacks fails here, which is how the in-memory adapter stays a faithful stand-in.
//!
//! The harnesses and shared helpers are here; the checks are grouped by concern in
//! `contract/reads.rs`, `contract/writes.rs`, `contract/links.rs` and `contract/lock.rs`.

// Test code throughout, helpers included: a failed `unwrap` is a failed test.
#![cfg(test)]

mod links;
mod lock;
mod reads;
mod writes;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc;
use std::time::Duration;

use packer_domain::listing::Listing;
use packer_domain::path::WsPath;
use packer_domain::ports::{
    DirEntryKind, EntryKind, FileRead, Fingerprint, LinkTarget, PortError, PortErrorKind,
    ReadRequest, Reuse, ScanDelivery, ScanEntry, ScanOptions, ScanReads, SyncAll, WorkspacePort,
};
use packer_fs::DiskWorkspace;
use packer_memfs::MemFs;
use tempfile::TempDir;

use links::{
    links_into_prometeu_are_refused_for_user_paths, links_out_of_the_workspace_are_refused,
};
use lock::{
    lock_if_in_use_gives_up_after_its_wait, lock_is_exclusive_until_dropped,
    lock_needs_the_prometeu_directory,
};
use reads::{
    list_dir_names_entries_without_following_links, read_errors_name_their_cause,
    read_follows_links_inside, read_many_delivers_every_index_once,
    read_refuses_files_over_the_limit, read_returns_content_and_its_fingerprint,
    scan_and_read_lists_what_scan_lists, scan_and_read_reads_every_file_of_the_name,
    scan_fingerprints_only_files_and_only_when_asked, scan_of_an_empty_workspace_is_empty,
    scan_reports_files_dirs_and_links, scan_reusing_reports_what_a_fingerprint_scan_reports,
    special_files_are_listed_and_never_read, stat_answers_for_files_and_absence,
};
use writes::{
    check_writable_foretells_what_changing_entries_meets,
    create_dir_all_makes_every_missing_parent, fingerprints_follow_writes_and_renames,
    remove_dir_all_removes_a_tree_but_not_through_links,
    remove_empty_dir_removes_only_an_empty_directory, remove_file_removes_files_and_links_only,
    rename_errors, rename_moves_a_directory_with_its_content, rename_replaces_a_file_atomically,
    sync_all_is_done_or_unavailable_and_changes_nothing, sync_file_and_sync_dir_accept_what_exists,
    write_file_creates_and_truncates, write_file_needs_its_parent,
    write_file_never_writes_through_a_final_link,
};

/// An adapter under test and the means to arrange its content behind the port's back,
/// as a person with a file manager would.
trait Harness: Sync {
    fn port(&self) -> &dyn WorkspacePort;
    /// Writes a file, creating its parents.
    fn put(&self, path: &str, bytes: &[u8]);
    fn mkdir(&self, path: &str);
    /// `chmod a-w` on the directory `path` (or `u+w` back, with `false`).
    fn set_read_only(&self, path: &str, read_only: bool);
    /// Whether a read-only directory refuses this process (root passes on a disk).
    fn enforces_permissions(&self) -> bool;
    /// A symbolic link with the raw target text `target`, relative to the link's folder.
    fn symlink(&self, link: &str, target: &str);
    /// A FIFO, standing for every special file (socket, device).
    fn mkfifo(&self, path: &str);
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

    fn set_read_only(&self, path: &str, read_only: bool) {
        self.fs.set_read_only(path, read_only);
    }

    fn enforces_permissions(&self) -> bool {
        true
    }

    fn symlink(&self, link: &str, target: &str) {
        self.fs.symlink(link, target);
    }

    fn mkfifo(&self, path: &str) {
        self.fs.mkfifo(path);
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

    fn set_read_only(&self, path: &str, read_only: bool) {
        use std::os::unix::fs::PermissionsExt;
        let mode = if read_only { 0o555 } else { 0o755 };
        fs::set_permissions(self.assets().join(path), fs::Permissions::from_mode(mode)).unwrap();
    }

    fn enforces_permissions(&self) -> bool {
        !rustix::process::geteuid().is_root()
    }

    fn symlink(&self, link: &str, target: &str) {
        let full = self.assets().join(link);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, full).unwrap();
    }

    fn mkfifo(&self, path: &str) {
        let full = self.assets().join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        crate::snapshot::make_fifo(&full);
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
    scan_reusing_reports_what_a_fingerprint_scan_reports,
    read_returns_content_and_its_fingerprint,
    read_refuses_files_over_the_limit,
    read_errors_name_their_cause,
    read_follows_links_inside,
    read_many_delivers_every_index_once,
    scan_and_read_lists_what_scan_lists,
    scan_and_read_reads_every_file_of_the_name,
    stat_answers_for_files_and_absence,
    special_files_are_listed_and_never_read,
    list_dir_names_entries_without_following_links,
    write_file_creates_and_truncates,
    write_file_needs_its_parent,
    write_file_never_writes_through_a_final_link,
    create_dir_all_makes_every_missing_parent,
    sync_file_and_sync_dir_accept_what_exists,
    sync_all_is_done_or_unavailable_and_changes_nothing,
    rename_replaces_a_file_atomically,
    rename_moves_a_directory_with_its_content,
    rename_errors,
    check_writable_foretells_what_changing_entries_meets,
    remove_file_removes_files_and_links_only,
    remove_dir_all_removes_a_tree_but_not_through_links,
    remove_empty_dir_removes_only_an_empty_directory,
    links_out_of_the_workspace_are_refused,
    links_into_prometeu_are_refused_for_user_paths,
    fingerprints_follow_writes_and_renames,
    lock_is_exclusive_until_dropped,
    lock_if_in_use_gives_up_after_its_wait,
    lock_needs_the_prometeu_directory,
);
