//! A build's memory budget: what a build may keep between its stages. With none at
//! all, every input is read again to be encoded and every payload is read back from the
//! cache as the pack is written, and the pack and manifest come out byte for byte as a
//! build that kept everything writes them. A payload the cache lost meanwhile is
//! encoded again; an input changed meanwhile refuses the build, with the output folder
//! as it was.

use std::collections::BTreeMap;
use std::sync::Arc;

use packer_app::build::{BuildProgress, BuildReport, BuildRequest};
use packer_app::error::{AppError, ErrorCode};
use packer_domain::event::Event;
use packer_domain::ports::PortOp;
use packer_memfs::MemOutput;
use packer_pack::pack::{MANIFEST_FILE, PACK_FILE};

use crate::build::{Project, demo};

const OBJECTS: &str = ".prometeu/cache/objects/";
const ITEMS: &str = "data/items/items.json";

/// Builds `project` into `out` keeping at most `memory` bytes between stages, calling
/// `meanwhile` once every payload is at hand (before the pack is written).
fn build(
    project: &Project,
    out: &MemOutput,
    memory: u64,
    meanwhile: &dyn Fn(),
) -> Result<BuildReport, AppError> {
    let request = BuildRequest {
        threads: 2,
        memory,
        ..BuildRequest::new(Arc::new(out.clone()))
    };
    project.runtime.build(&request, &|progress: BuildProgress| {
        if progress.total > 0 && progress.done == progress.total {
            meanwhile();
        }
    })
}

/// How many times each file was read since the log was cleared, by path.
fn reads(project: &Project, prefix: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (op, path) in project.fs.ops() {
        if op == PortOp::Read && path.starts_with(prefix) {
            *out.entry(path).or_insert(0) += 1;
        }
    }
    out
}

/// The pack and manifest a build that kept everything writes for the demo project.
fn reference() -> (Vec<u8>, Vec<u8>) {
    let project = demo();
    project.build().unwrap();
    (project.pack(), project.out.file(MANIFEST_FILE).unwrap())
}

fn written(out: &MemOutput) -> (Vec<u8>, Vec<u8>) {
    (
        out.file(PACK_FILE).unwrap(),
        out.file(MANIFEST_FILE).unwrap(),
    )
}

#[test]
fn keeping_nothing_reads_again_and_writes_the_same_bytes() {
    let expected = reference();
    let project = demo();
    project.fs.clear_ops();
    let cold = MemOutput::at("cold");
    let report = build(&project, &cold, 0, &|| {}).unwrap();
    assert_eq!((report.assets, report.reused), (4, 0));
    assert_eq!(written(&cold), expected);
    // Each input read to be hashed, and again to be encoded; each entry looked for
    // (and missed) before encoding, and the new one read back as the pack was written.
    let inputs = reads(&project, "");
    for input in [
        "art/hero/hero.png",
        "sfx/jump/jump.wav",
        ITEMS,
        "blobs/two/a.bin",
        "blobs/two/b/c.bin",
    ] {
        assert_eq!(inputs.get(input), Some(&2), "{input}: {inputs:?}");
    }
    let entries = reads(&project, OBJECTS);
    assert_eq!(entries.len(), 4, "{entries:?}");
    assert!(entries.values().all(|&n| n == 2), "{entries:?}");

    // Every payload from the cache: read to be checked, and again to be written.
    project.fs.clear_ops();
    let warm = MemOutput::at("warm");
    let report = build(&project, &warm, 0, &|| {}).unwrap();
    assert_eq!((report.assets, report.reused), (4, 4));
    assert_eq!(written(&warm), expected);
    let entries = reads(&project, OBJECTS);
    assert_eq!(entries.len(), 4, "{entries:?}");
    assert!(entries.values().all(|&n| n == 2), "{entries:?}");

    // With room for everything, nothing is read twice.
    project.fs.clear_ops();
    let roomy = MemOutput::at("roomy");
    build(&project, &roomy, u64::MAX, &|| {}).unwrap();
    assert_eq!(written(&roomy), expected);
    let entries = reads(&project, OBJECTS);
    assert!(entries.values().all(|&n| n == 1), "{entries:?}");
}

#[test]
fn payloads_the_cache_lost_meanwhile_are_encoded_again() {
    let expected = reference();
    let project = demo();
    let out = MemOutput::new();
    let fs = project.fs.clone();
    build(&project, &out, 0, &|| fs.remove(".prometeu/cache")).unwrap();
    assert_eq!(written(&out), expected);

    // A cache that cannot be written at all: nothing to read back, all encoded twice.
    let project = demo();
    project
        .fs
        .write(".prometeu/cache", "a file where the folder should be");
    let out = MemOutput::new();
    build(&project, &out, 0, &|| {}).unwrap();
    assert_eq!(written(&out), expected);
}

#[test]
fn an_input_changed_while_its_payload_was_let_go_refuses_the_build() {
    let project = demo();
    project.build().unwrap();
    let out = MemOutput::at("elsewhere");
    out.write(PACK_FILE, "the old pack");
    out.write(MANIFEST_FILE, "the old manifest");
    project.events.clear();
    let fs = project.fs.clone();
    let error = build(&project, &out, 0, &|| {
        fs.remove(".prometeu/cache");
        fs.write(ITEMS, "{ \"sword\": [9, 9] }");
    })
    .unwrap_err();
    assert_eq!(error.code, ErrorCode::Conflict);
    assert!(
        error
            .message
            .starts_with("assets/data/items/items.json (asset 3) changed during the build"),
        "{}",
        error.message
    );
    assert_eq!(
        written(&out),
        (b"the old pack".to_vec(), b"the old manifest".to_vec())
    );
    assert_eq!(out.names(), [MANIFEST_FILE, PACK_FILE]);
    let events = project.events.events();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, Event::BuildCompleted { .. })),
        "{events:?}"
    );
}
