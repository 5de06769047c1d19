//! The build cache stays bounded: after a build that stored new entries, unused entries
//! are removed oldest first until they weigh no more than the used ones, and temporary
//! files left by interrupted builds go once they are an hour old. Entries in use are
//! never removed, and a build that stored nothing removes nothing.

use std::time::Duration;

use packer_memfs::MemFs;

use crate::build::{Project, demo};

const OBJECTS: &str = ".prometeu/cache/objects/";
const ITEMS: &str = "data/items/items.json";

/// The cache's entry files, by path, with their sizes.
fn entries(fs: &MemFs) -> Vec<(String, usize)> {
    fs.files()
        .into_iter()
        .filter(|(path, _)| path.starts_with(OBJECTS))
        .map(|(path, bytes)| (path, bytes.len()))
        .collect()
}

/// Writes `version` of the data asset's input and builds; gives how many payloads the
/// build reused.
fn build_items(project: &Project, version: usize) -> u64 {
    project
        .fs
        .write(ITEMS, format!("{{ \"sword\": [{version}, 2] }}"));
    project.settle();
    project.build().unwrap().reused
}

#[test]
fn unused_entries_go_oldest_first_once_they_outweigh_the_used_ones() {
    let project = demo();
    project.build().unwrap();
    let used = entries(&project.fs);
    assert_eq!(used.len(), 4);
    let mut counts = Vec::new();
    for version in 1..=30 {
        assert_eq!(build_items(&project, version), 3, "version {version}");
        counts.push(entries(&project.fs).len());
    }
    // Every build adds one entry and leaves the one before unused; the unused ones may
    // not outweigh the used ones, so the count levels off instead of growing by 30.
    let now = entries(&project.fs);
    let used_bytes: usize = used.iter().map(|(_, size)| size).sum();
    let total_bytes: usize = now.iter().map(|(_, size)| size).sum();
    assert!(
        total_bytes <= 2 * used_bytes + 64,
        "{total_bytes} bytes for {used_bytes} in use: {now:?}"
    );
    assert!(counts.last() < Some(&34), "{counts:?}");
    // Nothing in use was removed: a rebuild reuses every payload.
    assert_eq!(build_items(&project, 30), 4);
    // The newest versions are still there: going back one edit reuses everything...
    assert_eq!(build_items(&project, 29), 4);
    // ...while the oldest were removed and are encoded again.
    assert_eq!(build_items(&project, 1), 3);
}

#[test]
fn a_build_that_stores_nothing_removes_nothing() {
    let project = demo();
    project.build().unwrap();
    // An unused entry heavier than everything in use.
    let stray = format!("{OBJECTS}00/{}", "0".repeat(64));
    project.fs.write(&stray, vec![7u8; 4096]);
    project.settle();
    assert_eq!(project.build().unwrap().reused, 4);
    assert!(project.fs.read(&stray).is_some(), "a no-op build pruned");
    // The next build that stores an entry makes room: the replaced data entry is
    // older than the stray one, so it goes first, and then the stray one, which alone
    // outweighs what is in use.
    assert_eq!(build_items(&project, 1), 3);
    assert!(project.fs.read(&stray).is_none());
    assert_eq!(entries(&project.fs).len(), 4, "{:?}", entries(&project.fs));
    assert_eq!(project.build().unwrap().reused, 4);
}

#[test]
fn temporaries_of_interrupted_builds_go_once_an_hour_old() {
    let project = demo();
    project.build().unwrap();
    let old = format!("{OBJECTS}ab/{}.tmp-1-1", "a".repeat(64));
    project.fs.write(&old, "half an entry");
    project.pass(Duration::from_secs(2 * 3600));
    let fresh = format!("{OBJECTS}cd/{}.tmp-2-2", "c".repeat(64));
    project.fs.write(&fresh, "being written");
    project.fs.set_mtime(&fresh, project.now_ns());
    // The file times of the old one, as a file left two hours ago has.
    project
        .fs
        .set_mtime(&old, project.now_ns() - 2 * 3600 * 1_000_000_000);
    assert_eq!(build_items(&project, 1), 3);
    assert!(project.fs.read(&old).is_none());
    assert!(
        project.fs.read(&fresh).is_some(),
        "a temporary file still being written was removed"
    );
}
