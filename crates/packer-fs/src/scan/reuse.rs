//! `scan_reusing`: the fingerprint walk of the verification scan, which takes a
//! directory's entries from the scan before when the directory cannot have changed since
//! (the same stat data, old enough to trust) instead of listing it again. Listing is the
//! dear part of a walk (`getdents64` builds a hash-ordered copy of every directory); a
//! directory taken over this way costs one `O_PATH` open and one `fstat`, and its files
//! are looked at one by one as in any fingerprint walk, so that an edit inside is seen.
//! Only on file systems that keep times to the nanosecond (`fine_grained_times`): where
//! a time is kept in seconds, a directory can change without its times showing it.

use std::mem::MaybeUninit;
use std::sync::Arc;

use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;

use packer_domain::path::WsPath;
use packer_domain::ports::{
    DirEntryKind, EntryKind, Fingerprint, PortError, PortOp, Reuse, ScanEntry, ScanOptions,
    SeenDir, SeenDirs,
};

use super::{Job, Output, Seen, SeenPart, Walker, walk};
use crate::error::port_error;
use crate::read::fingerprint;
use crate::workspace::DiskWorkspace;

/// An entry of a directory taken from an earlier scan, with what it is now.
type SeenEntry<'s> = (&'s str, EntryKind, Option<Fingerprint>);

pub(crate) fn scan_reusing(
    ws: &DiskWorkspace,
    reuse: Option<Reuse<'_>>,
) -> Result<(Vec<ScanEntry>, SeenDirs), PortError> {
    let mut entries = Vec::new();
    let mut seen = Vec::new();
    let options = ScanOptions { fingerprints: true };
    let reuse = reuse.filter(|_| ws.fine_times);
    for (part, part_seen) in walk(ws, options, None, Seen::Record(reuse))? {
        if let Output::Entries(part) = part {
            let part = part.into_vec();
            if entries.is_empty() {
                entries = part;
            } else {
                entries.extend(part);
            }
        }
        seen.extend(part_seen);
    }
    // One sorted run per worker, back to back: the stable sort finds the runs and merges
    // them.
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    Ok((entries, seen.into_iter().collect()))
}

impl Walker<'_> {
    /// Lists one directory for `scan_reusing`, or takes its entries from `reuse` when it
    /// cannot have changed since; records what it saw in `seen`. Returns the directory's
    /// handle as [`list`](Self::list) does.
    pub(super) fn rescan(
        &self,
        job: &Job,
        reuse: Option<Reuse<'_>>,
        buffer: &mut [MaybeUninit<u8>],
        output: &mut Output,
        subdirs: &mut Vec<WsPath>,
        seen: &mut SeenPart,
    ) -> Result<Option<OwnedFd>, PortError> {
        let Output::Entries(blocks) = output else {
            return Ok(None);
        };
        let before = reuse.and_then(|r| Some((r, r.seen.get(job.path.as_str())?)));
        // Where the directory's entries may come from the earlier scan, a handle to look
        // up entries from is enough: cheaper to open than one to read.
        let mut flags = OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        flags |= if before.is_some() {
            OFlags::PATH
        } else {
            OFlags::RDONLY
        };
        let Some(dir) = self.open_dir(job, flags)? else {
            return Ok(None);
        };
        let stamp = match rustix::fs::fstat(&dir) {
            Ok(stat) => fingerprint(&stat),
            Err(errno) => return Err(port_error(errno, PortOp::Scan, &job.path)),
        };
        let mut add = |name: &str, kind: EntryKind, fingerprint: Option<Fingerprint>| {
            blocks.push_child(&job.path, name, kind, fingerprint)
        };
        if let Some((reuse, before)) = before
            && unchanged(&before.stamp, &stamp, reuse.trusted_before_ns)
            && let Some(entries) = self.seen_entries(&dir, &job.path, before)?
        {
            for (name, kind, fingerprint) in entries {
                if let EntryKind::Dir = kind
                    && let Ok(sub) = job.path.child(name)
                {
                    subdirs.push(sub);
                }
                add(name, kind, fingerprint);
            }
            seen.push((job.path.clone(), Arc::clone(before)));
            return Ok(Some(dir));
        }
        let dir = if before.is_some() {
            // Seen before but changed since: open it again, to read.
            let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
            match rustix::fs::openat(&dir, ".", flags, Mode::empty()) {
                Ok(readable) => readable,
                Err(errno) => return Err(port_error(errno, PortOp::Scan, &job.path)),
            }
        } else {
            dir
        };
        let mut kept: Vec<(String, DirEntryKind)> = Vec::new();
        self.entries(
            &dir,
            &job.path,
            buffer,
            subdirs,
            &mut |name, kind, fingerprint| {
                let listed = kind.listed();
                let added = add(name, kind, fingerprint);
                if added {
                    kept.push((name.to_owned(), listed));
                }
                added
            },
        )?;
        seen.push((
            job.path.clone(),
            Arc::new(SeenDir {
                stamp,
                entries: kept,
            }),
        ));
        Ok(Some(dir))
    }

    /// The entries `before` saw in the directory open at `dir`, each file with its
    /// fingerprint now and each link resolved now; `None` when one of its files is gone
    /// or no longer a file, so that the directory must be listed after all.
    fn seen_entries<'s>(
        &self,
        dir: &OwnedFd,
        dir_path: &WsPath,
        before: &'s SeenDir,
    ) -> Result<Option<Vec<SeenEntry<'s>>>, PortError> {
        let mut out = Vec::with_capacity(before.entries.len());
        for (name, kind) in &before.entries {
            let entry = match kind {
                DirEntryKind::Dir => (EntryKind::Dir, None),
                DirEntryKind::File => {
                    match rustix::fs::statat(dir, name.as_str(), AtFlags::SYMLINK_NOFOLLOW) {
                        Ok(stat)
                            if FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile =>
                        {
                            (EntryKind::File, Some(fingerprint(&stat)))
                        }
                        Ok(_) | Err(Errno::NOENT) => return Ok(None),
                        Err(errno) => {
                            let path = dir_path.child(name).unwrap_or_else(|_| dir_path.clone());
                            return Err(port_error(errno, PortOp::Scan, &path));
                        }
                    }
                }
                DirEntryKind::Symlink => {
                    (EntryKind::Symlink(self.link_target(dir_path, name)), None)
                }
                DirEntryKind::Other => (EntryKind::Special, None),
            };
            out.push((name.as_str(), entry.0, entry.1));
        }
        Ok(Some(out))
    }
}

/// Whether a directory whose stat data was `before` and is `now` cannot have had an
/// entry created, removed or renamed in between: the same inode, size and times, and
/// times old enough that a change in the same clock tick would have moved them.
fn unchanged(before: &Fingerprint, now: &Fingerprint, trusted_before_ns: i64) -> bool {
    before == now && now.mtime_ns < trusted_before_ns && now.ctime_ns < trusted_before_ns
}

#[cfg(test)]
mod tests {
    use packer_domain::ports::WorkspacePort;

    use super::*;
    use crate::testing::Fixture;

    /// Every entry's path, kind and fingerprint, sorted by path.
    fn sorted(mut entries: Vec<ScanEntry>) -> Vec<(String, EntryKind, Option<Fingerprint>)> {
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        entries
            .into_iter()
            .map(|e| (e.path.as_str().to_owned(), e.kind, e.fingerprint))
            .collect()
    }

    fn paths(entries: &[(String, EntryKind, Option<Fingerprint>)]) -> Vec<&str> {
        entries.iter().map(|(p, _, _)| p.as_str()).collect()
    }

    fn fixture() -> Fixture {
        let fx = Fixture::new();
        fx.write("a/one.bin", b"one");
        fx.write("a/extra.bin", b"extra");
        fx.write("a/deep/two.bin", b"two");
        fx.write("b/three.bin", b"three");
        fx.symlink("a/alias.bin", "one.bin");
        fx.write(".prometeu/index.json", b"{}");
        fx
    }

    /// `seen` with the entries of directory `dir` replaced by `entries`, its stamp kept:
    /// what a reusing scan reports for `dir` then shows whether it listed it again.
    fn doctored(seen: &SeenDirs, dir: &str, entries: &[(&str, DirEntryKind)]) -> SeenDirs {
        let mut out = seen.clone();
        let before = seen.get(dir).unwrap();
        out.insert(
            WsPath::new(dir).unwrap_or_else(|_| WsPath::root()),
            Arc::new(SeenDir {
                stamp: before.stamp,
                entries: entries.iter().map(|(n, k)| ((*n).to_owned(), *k)).collect(),
            }),
        );
        out
    }

    const TRUST_ALL: i64 = i64::MAX;

    #[test]
    fn without_reuse_it_gives_what_a_fingerprint_scan_gives_and_sees_every_directory() {
        let fx = fixture();
        for port in fx.workspaces() {
            let (entries, seen) = port.scan_reusing(None).unwrap();
            let scanned = port.scan(ScanOptions { fingerprints: true }).unwrap();
            assert_eq!(sorted(entries), sorted(scanned));
            assert_eq!(seen.len(), 4, "the root, a, a/deep and b");
            let root: Vec<&str> = seen
                .get("")
                .unwrap()
                .entries
                .iter()
                .map(|(n, _)| n.as_str())
                .collect();
            assert!(!root.contains(&".prometeu"), "{root:?}");
        }
    }

    #[test]
    fn a_directory_that_cannot_have_changed_is_not_listed_again() {
        let fx = fixture();
        for port in fx.workspaces() {
            let (_, seen) = port.scan_reusing(None).unwrap();
            let lie = doctored(
                &seen,
                "a",
                &[("one.bin", DirEntryKind::File), ("deep", DirEntryKind::Dir)],
            );
            let reuse = Reuse {
                seen: &lie,
                trusted_before_ns: TRUST_ALL,
            };
            let (entries, again) = port.scan_reusing(Some(reuse)).unwrap();
            if !port.fine_times {
                // Times too coarse to vouch for anything: listed again.
                assert!(paths(&sorted(entries)).contains(&"a/extra.bin"));
                continue;
            }
            // Taken from what was seen: `extra.bin` and the link are not looked for.
            assert_eq!(
                paths(&sorted(entries)),
                [
                    "a",
                    "a/deep",
                    "a/deep/two.bin",
                    "a/one.bin",
                    "b",
                    "b/three.bin"
                ]
            );
            assert!(Arc::ptr_eq(again.get("a").unwrap(), lie.get("a").unwrap()));
        }
    }

    #[test]
    fn on_a_file_system_with_coarse_times_every_directory_is_listed() {
        let fx = fixture();
        let mut port = DiskWorkspace::open(&fx.assets).unwrap();
        port.fine_times = false;
        let (_, seen) = port.scan_reusing(None).unwrap();
        let lie = doctored(&seen, "a", &[("one.bin", DirEntryKind::File)]);
        let reuse = Reuse {
            seen: &lie,
            trusted_before_ns: TRUST_ALL,
        };
        let (entries, again) = port.scan_reusing(Some(reuse)).unwrap();
        assert!(paths(&sorted(entries)).contains(&"a/extra.bin"));
        assert!(!Arc::ptr_eq(again.get("a").unwrap(), lie.get("a").unwrap()));
    }

    #[test]
    fn a_directory_seen_too_soon_after_a_change_is_listed_again() {
        let fx = fixture();
        let port = DiskWorkspace::open(&fx.assets).unwrap();
        let (_, seen) = port.scan_reusing(None).unwrap();
        let lie = doctored(&seen, "a", &[("one.bin", DirEntryKind::File)]);
        let stamp = seen.get("a").unwrap().stamp;
        let reuse = Reuse {
            seen: &lie,
            // The directory changed at the very moment the scan began.
            trusted_before_ns: stamp.mtime_ns.max(stamp.ctime_ns),
        };
        let (entries, _) = port.scan_reusing(Some(reuse)).unwrap();
        assert!(paths(&sorted(entries)).contains(&"a/extra.bin"));
    }

    #[test]
    fn a_special_file_in_a_reused_directory_is_reported_as_a_listing_reports_it() {
        let fx = fixture();
        let fifo = fx.assets.join("a/pipe");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        let port = DiskWorkspace::open(&fx.assets).unwrap();
        let (_, seen) = port.scan_reusing(None).unwrap();
        let reuse = Reuse {
            seen: &seen,
            trusted_before_ns: TRUST_ALL,
        };
        let (entries, again) = port.scan_reusing(Some(reuse)).unwrap();
        assert_eq!(
            Arc::ptr_eq(again.get("a").unwrap(), seen.get("a").unwrap()),
            port.fine_times
        );
        let entries = sorted(entries);
        assert!(entries.contains(&("a/pipe".to_owned(), EntryKind::Special, None)));
        assert_eq!(
            entries,
            sorted(port.scan(ScanOptions { fingerprints: true }).unwrap())
        );
    }

    #[test]
    fn a_changed_directory_is_listed_again() {
        let fx = fixture();
        let port = DiskWorkspace::open(&fx.assets).unwrap();
        let (_, seen) = port.scan_reusing(None).unwrap();
        let lie = doctored(&seen, "a", &[("one.bin", DirEntryKind::File)]);
        fx.write("a/new.bin", b"new");
        let reuse = Reuse {
            seen: &lie,
            trusted_before_ns: TRUST_ALL,
        };
        let (entries, again) = port.scan_reusing(Some(reuse)).unwrap();
        let entries = sorted(entries);
        assert!(paths(&entries).contains(&"a/new.bin"), "{entries:?}");
        assert!(paths(&entries).contains(&"a/extra.bin"), "{entries:?}");
        assert_ne!(again.get("a").unwrap().stamp, lie.get("a").unwrap().stamp);
    }

    #[test]
    fn files_in_a_reused_directory_are_looked_at_again() {
        let fx = fixture();
        let port = DiskWorkspace::open(&fx.assets).unwrap();
        let (before, seen) = port.scan_reusing(None).unwrap();
        // An edit in place changes the file, not its directory.
        fx.write("a/one.bin", b"one, longer now");
        let reuse = Reuse {
            seen: &seen,
            trusted_before_ns: TRUST_ALL,
        };
        let (after, again) = port.scan_reusing(Some(reuse)).unwrap();
        let reused = Arc::ptr_eq(again.get("a").unwrap(), seen.get("a").unwrap());
        assert_eq!(reused, port.fine_times);
        let size = |entries: Vec<ScanEntry>| {
            sorted(entries)
                .into_iter()
                .find(|(p, _, _)| p == "a/one.bin")
                .and_then(|(_, _, f)| f)
                .map(|f| f.size)
        };
        assert_eq!((size(before), size(after)), (Some(3), Some(15)));
    }

    #[test]
    fn a_file_gone_from_a_reused_directory_makes_it_listed_after_all() {
        let fx = fixture();
        let port = DiskWorkspace::open(&fx.assets).unwrap();
        let (_, seen) = port.scan_reusing(None).unwrap();
        let lie = doctored(
            &seen,
            "a",
            &[
                ("one.bin", DirEntryKind::File),
                ("ghost.bin", DirEntryKind::File),
            ],
        );
        let reuse = Reuse {
            seen: &lie,
            trusted_before_ns: TRUST_ALL,
        };
        let (entries, again) = port.scan_reusing(Some(reuse)).unwrap();
        let entries = sorted(entries);
        assert!(!paths(&entries).contains(&"a/ghost.bin"));
        assert!(paths(&entries).contains(&"a/extra.bin"));
        assert!(!Arc::ptr_eq(again.get("a").unwrap(), lie.get("a").unwrap()));
    }
}
