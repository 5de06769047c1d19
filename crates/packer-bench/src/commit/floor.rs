//! The floor of a commit: its file operations in the runtime's order, hand-coded with
//! `std::fs` and `File::sync_all`, with every byte known in advance.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail, ensure};
use packer_domain::declaration::{AssetKind, Declaration, OutputOptions};
use packer_domain::path::WsPath;
use packer_domain::registry::{AssetId, Registry, RegistryEntry};
use packer_domain::snapshot::{ContentHash, registry_path};
use packer_domain::transaction::{INTENT_COMMITTED, INTENT_STAGED, Intent, TX_DIR, TxOp};

use crate::commit::{INPUT, asset_path};

/// One staged file of a floor commit.
#[derive(Debug)]
pub(super) struct FloorWrite {
    pub(super) target: WsPath,
    pub(super) bytes: Arc<[u8]>,
    /// The content's hash before the commit; `None`: the file must be absent.
    pub(super) pre: Option<ContentHash>,
}

/// The floor: a commit's file operations, in the runtime's order, with its bytes known
/// in advance. No runtime, no planning, no snapshot.
#[derive(Debug)]
pub(super) struct FloorCommit {
    writes: Vec<FloorWrite>,
    intent: Vec<u8>,
    /// Directories to sync after applying, deepest first.
    touched: Vec<WsPath>,
}

impl FloorCommit {
    pub(super) fn new(writes: Vec<FloorWrite>) -> FloorCommit {
        let ops = writes
            .iter()
            .enumerate()
            .map(|(i, w)| TxOp::Write {
                path: w.target.clone(),
                staged: i.to_string(),
                pre: w.pre,
                post: ContentHash::of(&w.bytes),
            })
            .collect();
        // Every directory from a target's parent up to `assets/`, as the commit syncs.
        let mut touched = BTreeSet::new();
        for write in &writes {
            let mut dir = write.target.parent();
            while let Some(current) = dir {
                dir = current.parent();
                touched.insert(current);
            }
        }
        let mut touched: Vec<WsPath> = touched.into_iter().collect();
        touched.sort_by_key(|d| std::cmp::Reverse(d.segments().count()));
        FloorCommit {
            writes,
            intent: Intent { ops }.to_bytes(),
            touched,
        }
    }

    /// Lock, look for transactions to recover, check preconditions, stage and sync,
    /// commit point, apply, sync the touched directories, clean up: as `commit.rs` does.
    pub(super) fn run(&self, assets: &Path, serial: usize) -> anyhow::Result<()> {
        let at = |p: &WsPath| assets.join(p.as_str());
        let prometeu = assets.join(".prometeu");
        let tx = prometeu.join(TX_DIR);
        let lock = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(prometeu.join("lock"))?;
        lock.lock()?;
        match fs::read_dir(&tx) {
            Ok(entries) => {
                if let Some(entry) = entries.into_iter().next() {
                    bail!(
                        "the floor found a transaction to recover: {:?}",
                        entry?.path()
                    );
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        for write in &self.writes {
            let target = at(&write.target);
            match write.pre {
                None => match fs::symlink_metadata(&target) {
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Ok(_) => bail!("{} exists", target.display()),
                    Err(e) => return Err(e.into()),
                },
                Some(hash) => {
                    let bytes = fs::read(&target)?;
                    ensure!(
                        ContentHash::of(&bytes) == hash,
                        "{} changed",
                        target.display()
                    );
                }
            }
        }
        let dir = tx.join(format!("{:020}-{serial}", wall_clock_ns()));
        fs::create_dir_all(&dir)?;
        for (i, write) in self.writes.iter().enumerate() {
            write_synced(&dir.join(i.to_string()), &write.bytes)?;
        }
        write_synced(&dir.join(INTENT_STAGED), &self.intent)?;
        for synced in [&dir, &tx, &prometeu, assets] {
            sync_dir(synced)?;
        }
        fs::rename(dir.join(INTENT_STAGED), dir.join(INTENT_COMMITTED))?;
        sync_dir(&dir)?;
        for (i, write) in self.writes.iter().enumerate() {
            let target = at(&write.target);
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::rename(dir.join(i.to_string()), &target)?;
        }
        for touched in &self.touched {
            sync_dir(&at(touched))?;
        }
        fs::remove_dir_all(&dir)?;
        // `tx/` goes with its last transaction, as the runtime's cleanup does.
        match fs::remove_dir(&tx) {
            Ok(()) => sync_dir(&prometeu)?,
            Err(_) => sync_dir(&tx)?,
        }
        lock.unlock()?;
        Ok(())
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = File::create(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path)?.sync_all()
}

pub(super) fn wall_clock_ns() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// The floor commits of `create_asset` for each root in turn, on a fresh project: a new
/// `asset.json` and the registry with one more entry, both as the packer writes them.
pub(super) fn create_floor_commits(roots: &[String]) -> anyhow::Result<Vec<FloorCommit>> {
    let input = asset_path(INPUT)?;
    let mut entries = Vec::new();
    let mut previous = Registry::empty().to_bytes();
    let mut commits = Vec::with_capacity(roots.len());
    for (id, root) in (1u64..).zip(roots) {
        let root = asset_path(root)?;
        let asset_uuid = uuid::Uuid::new_v4();
        let declaration = Declaration {
            asset_uuid,
            name: root.file_name().to_owned(),
            kind: AssetKind::Data,
            inputs: vec![input.clone()],
            output: OutputOptions::default_for(AssetKind::Data),
        };
        entries.push(RegistryEntry {
            asset_id: AssetId(id),
            asset_uuid,
            root: root.clone(),
            included_in_build: true,
        });
        let index = Registry::new(id + 1, entries.clone())
            .context("the floor's registry is invalid")?
            .to_bytes();
        commits.push(FloorCommit::new(vec![
            FloorWrite {
                target: root.declaration_path(),
                bytes: declaration.to_bytes().into(),
                pre: None,
            },
            FloorWrite {
                target: registry_path(),
                bytes: index.clone().into(),
                pre: Some(ContentHash::of(&previous)),
            },
        ]));
        previous = index;
    }
    Ok(commits)
}

/// The floor commits of `count` `set_included` toggles of `id`, starting from the
/// registry file `on_disk` (which parses as `registry`).
pub(super) fn toggle_floor_commits(
    on_disk: &[u8],
    registry: &Registry,
    id: AssetId,
    count: usize,
) -> anyhow::Result<Vec<FloorCommit>> {
    let entries = registry
        .assets()
        .iter()
        .map(|e| RegistryEntry {
            included_in_build: e.included_in_build != (e.asset_id == id),
            ..e.clone()
        })
        .collect();
    let toggled: Arc<[u8]> = Registry::new(registry.next_asset_id(), entries)
        .context("the toggled registry is invalid")?
        .to_bytes()
        .into();
    let back: Arc<[u8]> = registry.to_bytes().into();
    let mut pre = ContentHash::of(on_disk);
    let mut commits = Vec::with_capacity(count);
    for i in 0..count {
        let bytes = Arc::clone(if i % 2 == 0 { &toggled } else { &back });
        let post = ContentHash::of(&bytes);
        commits.push(FloorCommit::new(vec![FloorWrite {
            target: registry_path(),
            bytes,
            pre: Some(pre),
        }]));
        pre = post;
    }
    Ok(commits)
}

/// `set_included` toggles of `id` on the floor workspace `assets` without end: the
/// first commit flips the registry as it is on disk now, then the file goes back and
/// forth between the two states. Each call runs the next commit.
pub(super) fn endless_toggles(
    assets: &Path,
    id: AssetId,
) -> anyhow::Result<impl FnMut() -> anyhow::Result<()>> {
    let on_disk = fs::read(assets.join(registry_path().as_str()))?;
    let registry = Registry::parse(&on_disk)
        .map_err(|e| anyhow::anyhow!("the floor registry does not parse: {e:?}"))?;
    // First, flip from what is on disk; then back to the registry's own bytes and
    // forward again, for as long as asked.
    let commits = toggle_floor_commits(&on_disk, &registry, id, 3)?;
    let assets = assets.to_path_buf();
    let mut serial = 0usize;
    Ok(move || {
        let commit = match serial {
            0 => &commits[0],
            n if n % 2 == 1 => &commits[1],
            _ => &commits[2],
        };
        serial += 1;
        commit.run(&assets, serial)
    })
}
