//! The contract of `PackOutput`, run against both adapters: `MemOutput` and `DiskOutput`
//! on a folder of a temporary directory (one that does not exist until the first
//! write). Plus what only a disk can show: a symbolic link at a file's name is replaced,
//! never written through.

use std::path::PathBuf;

use packer_domain::ports::{FileSource, PackOutput, Pieces, PortErrorKind, SourceFailed};
use packer_fs::DiskOutput;
use packer_memfs::MemOutput;
use tempfile::TempDir;

struct Disk {
    dir: TempDir,
    output: DiskOutput,
}

impl Disk {
    fn new() -> Disk {
        let dir = tempfile::tempdir().unwrap();
        let output = DiskOutput::new(dir.path().join("build")).with_location("build");
        Disk { dir, output }
    }
}

fn write_replaces_a_file_whole(out: &dyn PackOutput) {
    out.write_all_atomic(&[("assets.pak", &[b"he", b"", b"llo"])])
        .unwrap();
    assert_eq!(out.read("assets.pak", 100).unwrap(), b"hello");
    let first = out.stat("assets.pak").unwrap().unwrap();
    assert_eq!(first.size, 5);
    out.write_all_atomic(&[("assets.pak", &[b"x"])]).unwrap();
    assert_eq!(out.read("assets.pak", 100).unwrap(), b"x");
    let second = out.stat("assets.pak").unwrap().unwrap();
    assert_ne!(first, second);
    out.write_all_atomic(&[("other", &[])]).unwrap();
    assert_eq!(out.read("other", 0).unwrap(), b"");
}

fn a_missing_file_is_none_or_not_found(out: &dyn PackOutput) {
    assert_eq!(out.stat("assets.pak").unwrap(), None);
    let error = out.read("assets.pak", 10).unwrap_err();
    assert_eq!(error.kind, PortErrorKind::NotFound);
    assert_eq!(error.file, "build/assets.pak");
}

fn names_are_single_file_names(out: &dyn PackOutput) {
    for name in ["", "a/b", "..", ".", "/etc/passwd"] {
        let error = out.write_all_atomic(&[(name, &[b"x"])]).unwrap_err();
        assert_eq!(error.kind, PortErrorKind::Io, "{name:?}");
        assert!(out.stat(name).is_err(), "{name:?}");
        assert!(out.read(name, 10).is_err(), "{name:?}");
    }
    out.write_all_atomic(&[("fine", &[b"x"])]).unwrap();
}

fn read_refuses_more_than_the_limit(out: &dyn PackOutput) {
    out.write_all_atomic(&[("big", &[&[7u8; 10]])]).unwrap();
    assert_eq!(
        out.read("big", 9).unwrap_err().kind,
        PortErrorKind::TooLarge
    );
    assert_eq!(out.read("big", 10).unwrap().len(), 10);
}

/// Gives `pieces` one at a time, then fails if `fails`, else ends.
struct Scripted {
    pieces: Vec<Vec<u8>>,
    given: usize,
    fails: bool,
}

impl Scripted {
    fn new(pieces: &[&[u8]], fails: bool) -> Scripted {
        Scripted {
            pieces: pieces.iter().map(|p| p.to_vec()).collect(),
            given: 0,
            fails,
        }
    }
}

impl FileSource for Scripted {
    fn next_piece(&mut self) -> Result<Option<&[u8]>, SourceFailed> {
        let index = self.given;
        self.given += 1;
        match self.pieces.get(index) {
            Some(piece) => Ok(Some(piece)),
            None if self.fails => Err(SourceFailed),
            None => Ok(None),
        }
    }
}

fn a_file_is_written_as_its_source_gives_it(out: &dyn PackOutput) {
    let many: Vec<Vec<u8>> = (0..1000u32).map(|i| i.to_le_bytes().to_vec()).collect();
    let views: Vec<&[u8]> = many.iter().map(Vec::as_slice).collect();
    let mut pack = Scripted::new(&views, false);
    let chunks: [&[u8]; 2] = [b"man", b"ifest"];
    let mut manifest = Pieces::new(&chunks);
    out.write_streams_atomic(&mut [("assets.pak", &mut pack), ("manifest", &mut manifest)])
        .unwrap();
    assert_eq!(out.read("assets.pak", 10_000).unwrap(), many.concat());
    assert_eq!(out.read("manifest", 100).unwrap(), b"manifest");
    assert_eq!(pack.given, 1001, "drained once, to its end");
}

fn a_source_that_fails_changes_nothing(out: &dyn PackOutput) {
    out.write_all_atomic(&[("assets.pak", &[b"old"])]).unwrap();
    let before = out.stat("assets.pak").unwrap();
    let mut manifest = Scripted::new(&[b"fine"], false);
    let mut pack = Scripted::new(&[b"ne", b"w"], true);
    let error = out
        .write_streams_atomic(&mut [("manifest", &mut manifest), ("assets.pak", &mut pack)])
        .unwrap_err();
    assert_eq!(
        (error.kind, error.file.as_str()),
        (PortErrorKind::Io, "build/assets.pak"),
        "{error}"
    );
    assert_eq!(out.read("assets.pak", 10).unwrap(), b"old");
    assert_eq!(out.stat("assets.pak").unwrap(), before);
    assert_eq!(out.stat("manifest").unwrap(), None);
}

macro_rules! output_contract_tests {
    ($($name:ident),* $(,)?) => {
        mod memory {
            $(
                #[test]
                fn $name() {
                    super::$name(&packer_memfs::MemOutput::new());
                }
            )*
        }

        mod disk {
            $(
                #[test]
                fn $name() {
                    super::$name(&super::Disk::new().output);
                }
            )*
        }
    };
}

output_contract_tests!(
    write_replaces_a_file_whole,
    a_missing_file_is_none_or_not_found,
    names_are_single_file_names,
    read_refuses_more_than_the_limit,
    a_file_is_written_as_its_source_gives_it,
    a_source_that_fails_changes_nothing,
);

#[test]
fn a_source_that_fails_leaves_no_temporary_on_disk() {
    let disk = Disk::new();
    disk.output
        .write_all_atomic(&[("assets.pak", &[b"old"])])
        .unwrap();
    let mut manifest = Scripted::new(&[b"fine"], false);
    let mut pack = Scripted::new(&[b"new"], true);
    assert!(
        disk.output
            .write_streams_atomic(&mut [("manifest", &mut manifest), ("assets.pak", &mut pack)])
            .is_err()
    );
    let names: Vec<String> = std::fs::read_dir(disk.dir.path().join("build"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["assets.pak"]);
}

#[test]
fn a_link_at_the_name_is_replaced_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let build: PathBuf = dir.path().join("build");
    std::fs::create_dir(&build).unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, b"keep me").unwrap();
    std::os::unix::fs::symlink(&secret, build.join("assets.pak")).unwrap();
    let out = DiskOutput::new(&build);
    assert_eq!(out.stat("assets.pak").unwrap(), None);
    assert_eq!(
        out.read("assets.pak", 100).unwrap_err().kind,
        PortErrorKind::Io
    );
    out.write_all_atomic(&[("assets.pak", &[b"pack"])]).unwrap();
    assert_eq!(std::fs::read(&secret).unwrap(), b"keep me");
    let meta = std::fs::symlink_metadata(build.join("assets.pak")).unwrap();
    assert!(meta.file_type().is_file());
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(&build)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["assets.pak"]);
}

#[test]
fn a_failed_write_leaves_the_old_file_and_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let out = DiskOutput::new(dir.path().join("build"));
    out.write_all_atomic(&[("assets.pak", &[b"old"])]).unwrap();
    // A folder with content holds the name: the rename over it fails.
    std::fs::create_dir(dir.path().join("build/manifest")).unwrap();
    std::fs::write(dir.path().join("build/manifest/x"), b"x").unwrap();
    assert!(out.write_all_atomic(&[("manifest", &[b"new"])]).is_err());
    assert_eq!(out.read("assets.pak", 10).unwrap(), b"old");
    let mut names: Vec<String> = std::fs::read_dir(dir.path().join("build"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["assets.pak", "manifest"]);
    // The in-memory folder fails the same way on an injected fault.
    let memory = MemOutput::new();
    memory
        .write_all_atomic(&[("assets.pak", &[b"old"])])
        .unwrap();
    memory.inject(packer_memfs::Fault::once(1, PortErrorKind::DiskFull));
    assert!(
        memory
            .write_all_atomic(&[("assets.pak", &[b"new"])])
            .is_err()
    );
    assert_eq!(memory.file("assets.pak").unwrap(), b"old");
}

/// Several files as one change: a name a file cannot replace (a folder holds it) fails
/// before any file is replaced, and no temporary is left.
#[test]
fn files_written_together_are_all_replaced_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let build = dir.path().join("build");
    let out = DiskOutput::new(&build);
    out.write_all_atomic(&[("assets.pak", &[b"old"]), ("manifest", &[b"old"])])
        .unwrap();
    out.write_all_atomic(&[("assets.pak", &[b"new"]), ("manifest", &[b"new"])])
        .unwrap();
    assert_eq!(out.read("assets.pak", 10).unwrap(), b"new");
    assert_eq!(out.read("manifest", 10).unwrap(), b"new");

    std::fs::create_dir(build.join("held")).unwrap();
    let error = out
        .write_all_atomic(&[("assets.pak", &[b"newer"]), ("held", &[b"x"])])
        .unwrap_err();
    assert_eq!(error.kind, PortErrorKind::IsADirectory, "{error}");
    assert_eq!(out.read("assets.pak", 10).unwrap(), b"new");
    let mut names: Vec<String> = std::fs::read_dir(&build)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["assets.pak", "held", "manifest"]);

    // In memory, a fault on the second file leaves the first as it was.
    let memory = MemOutput::new();
    memory
        .write_all_atomic(&[("assets.pak", &[b"old"])])
        .unwrap();
    memory.inject(packer_memfs::Fault::once(2, PortErrorKind::DiskFull));
    assert!(
        memory
            .write_all_atomic(&[("assets.pak", &[b"new"]), ("manifest", &[b"new"])])
            .is_err()
    );
    assert_eq!(memory.file("assets.pak").unwrap(), b"old");
    assert_eq!(memory.file("manifest"), None);
}

#[test]
fn temporaries_of_a_writer_that_died_go_with_the_next_write_of_their_name() {
    let dir = tempfile::tempdir().unwrap();
    let build = dir.path().join("build");
    std::fs::create_dir(&build).unwrap();
    // The id of a process that has ended (a test run does not cycle through every id
    // before the write below), and of one still running: this one.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    let alive = std::process::id();
    let left = [
        format!(".assets.pak.{dead}-0.tmp"),
        format!(".assets.pak.{alive}-999.tmp"),
        format!(".assets.manifest.json.{dead}-1.tmp"),
        ".assets.pak.notes.tmp".to_owned(),
    ];
    for name in &left {
        std::fs::write(build.join(name), b"half a pack").unwrap();
    }
    let out = DiskOutput::new(&build);
    out.write_all_atomic(&[("assets.pak", &[b"pack"])]).unwrap();
    let mut names: Vec<String> = std::fs::read_dir(&build)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    let mut expected = vec![
        format!(".assets.manifest.json.{dead}-1.tmp"),
        format!(".assets.pak.{alive}-999.tmp"),
        ".assets.pak.notes.tmp".to_owned(),
        "assets.pak".to_owned(),
    ];
    expected.sort();
    assert_eq!(names, expected);
}
