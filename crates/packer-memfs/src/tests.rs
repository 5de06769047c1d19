//! Tests of `MemFs` through its port and its helpers. Each starts from a fixture and
//! compares what it ends with (a dump, an error kind, a listing) with an exact value.

mod crash;
mod faults;
mod fixture;
mod lock;
mod scan;
mod strict;
mod symlinks;

use std::fmt;

use packer_domain::path::WsPath;
use packer_domain::ports::{PortError, PortErrorKind, WorkspacePort};

use crate::MemFs;

fn p(path: &str) -> WsPath {
    WsPath::new(path).unwrap()
}

fn load(fixture: &str) -> MemFs {
    MemFs::from_fixture(fixture).unwrap_or_else(|e| panic!("bad test fixture: {e}"))
}

/// The port view of `fs`: on the concrete type, the `read` and `rename` helpers shadow
/// the port methods.
fn port(fs: &MemFs) -> &dyn WorkspacePort {
    fs
}

/// `expected` de-indented as a fixture is, trailing blank lines dropped, each line
/// ending in a newline: the form `MemFs::dump` gives.
fn text(expected: &str) -> String {
    let mut lines: Vec<&str> = crate::fixture::dedent(expected)
        .into_iter()
        .map(|(_, line)| line)
        .collect();
    while lines.last().is_some_and(|line| line.is_empty()) {
        lines.pop();
    }
    lines.iter().map(|line| format!("{line}\n")).collect()
}

/// Loads `fixture`, runs `act`, and compares the tree it leaves with `expected`.
fn check(fixture: &str, act: impl FnOnce(&MemFs), expected: &str) {
    let fs = load(fixture);
    act(&fs);
    assert_eq!(fs.dump(), text(expected));
}

/// Loads `fixture`, runs the port operation `act`, which must fail with `expected`, and
/// checks that it changed nothing, durable state included.
fn check_err<T: fmt::Debug>(
    fixture: &str,
    act: impl FnOnce(&dyn WorkspacePort) -> Result<T, PortError>,
    expected: PortErrorKind,
) {
    let fs = load(fixture);
    let before = fs.dump();
    let error = act(&fs).expect_err("the operation should fail");
    assert_eq!(error.kind, expected, "{error}");
    assert_eq!(fs.dump(), before, "a failed operation changed the tree");
    fs.crash();
    assert_eq!(
        fs.dump(),
        before,
        "a failed operation changed the durable state"
    );
}

#[test]
fn handles_are_shared_send_sync_and_debug() {
    fn assert_port<T: WorkspacePort + Clone + Default + 'static>() {}
    assert_port::<MemFs>();
    let fs = MemFs::new();
    let other = fs.clone();
    other.write("a.txt", "hi\n");
    assert_eq!(fs.read("a.txt"), Some(b"hi\n".to_vec()));
    assert_eq!(
        format!("{fs:?}"),
        "MemFs { inodes: 2, ops: 0, faults: 0, .. }"
    );
}
