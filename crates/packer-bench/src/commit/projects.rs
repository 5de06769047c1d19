//! The projects the write benchmarks change, all in the scratch directory: fresh ones
//! made with `init`, copies of the shared benchmark workspaces, and the registry-only
//! mirror the `set_included` floor works on.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use packer_domain::snapshot::registry_path;
use packer_fs::DiskWorkspace;

use crate::commit::INPUT;

/// A new project in `dir` (`init`, then each root with its input file but no
/// `asset.json`), replacing what an earlier run left there. Returns its `assets/`.
pub(super) fn fresh_project(dir: &Path, roots: &[String]) -> anyhow::Result<PathBuf> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    }
    let assets = dir.join("assets");
    fs::create_dir_all(&assets)?;
    let port = DiskWorkspace::open(&assets)
        .with_context(|| format!("cannot open the workspace {}", assets.display()))?;
    packer_app::init::init_workspace(&port).context("init failed")?;
    add_roots(&assets, roots)?;
    Ok(assets)
}

/// Makes each root's folder with its input file, as a person would before creating
/// the asset.
pub(super) fn add_roots(assets: &Path, roots: &[String]) -> anyhow::Result<()> {
    for root in roots {
        let root = assets.join(root);
        fs::create_dir_all(&root)?;
        fs::write(
            root.join(INPUT),
            format!("{{ \"root\": \"{}\" }}\n", root.display()),
        )?;
    }
    Ok(())
}

/// A copy of the benchmark workspace `source` (an `assets/` directory) at
/// `dest/assets` for commits to change, so the shared one stays as generated. Input
/// files are hard links: the packer never writes them, and a commit replaces a file by
/// renaming a new one over it, which leaves a linked original alone. Declarations and
/// `.prometeu` are real copies.
///
/// The copy is kept between runs: making and removing 100k folders takes tens of
/// seconds. Only `set_included` commits run on it, which change `.prometeu` alone, so
/// that is copied afresh every time.
pub(crate) fn scratch_copy(source: &Path, dest: &Path) -> anyhow::Result<PathBuf> {
    let index = source.join(".prometeu").join("index.json");
    let meta = fs::metadata(&index).with_context(|| format!("cannot stat {}", index.display()))?;
    let stamp = format!(
        "scheme=1 source={} index_len={} index_mtime={:?}\n",
        fs::canonicalize(source)?.display(),
        meta.len(),
        meta.modified()?
    );
    let stamp_path = dest.join("copy-stamp");
    let assets = dest.join("assets");
    if fs::read_to_string(&stamp_path).ok().as_deref() != Some(stamp.as_str()) {
        if dest.exists() {
            fs::remove_dir_all(dest)
                .with_context(|| format!("cannot remove {}", dest.display()))?;
        }
        fs::create_dir_all(&assets)?;
        copy_tree(source, &assets, false)?;
        fs::write(&stamp_path, &stamp)?;
    }
    let prometeu = assets.join(".prometeu");
    if prometeu.exists() {
        fs::remove_dir_all(&prometeu)?;
    }
    fs::create_dir(&prometeu)?;
    copy_tree(&source.join(".prometeu"), &prometeu, true)?;
    Ok(assets)
}

/// Copies the directory tree `from` into the existing directory `to`: directories made,
/// `asset.json` and everything under `.prometeu` (or everything, with `copy_all`)
/// copied, other files hard-linked where the file system allows.
fn copy_tree(from: &Path, to: &Path, copy_all: bool) -> anyhow::Result<()> {
    let entries = fs::read_dir(from).with_context(|| format!("cannot list {}", from.display()))?;
    for entry in entries {
        let entry = entry?;
        let kind = entry.file_type()?;
        let name = entry.file_name();
        let (source, dest) = (entry.path(), to.join(&name));
        let failed = || format!("cannot copy {} to {}", source.display(), dest.display());
        if kind.is_dir() {
            fs::create_dir(&dest).with_context(failed)?;
            copy_tree(&source, &dest, copy_all || name == ".prometeu")?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&source)?, &dest).with_context(failed)?;
        } else if copy_all || name == "asset.json" || fs::hard_link(&source, &dest).is_err() {
            fs::copy(&source, &dest).with_context(failed)?;
        }
    }
    Ok(())
}

/// A project holding only `source`'s `.prometeu/index.json`, for the floor of
/// `set_included`, which touches nothing else.
pub(super) fn registry_mirror(source: &Path, dest: &Path) -> anyhow::Result<PathBuf> {
    if dest.exists() {
        fs::remove_dir_all(dest)?;
    }
    let assets = dest.join("assets");
    fs::create_dir_all(assets.join(".prometeu"))?;
    let index = registry_path();
    fs::copy(source.join(index.as_str()), assets.join(index.as_str()))?;
    Ok(assets)
}

/// Writes back everything dirty on the scratch file system, so that preparing a
/// benchmark does not slow the fsyncs it times.
pub(super) fn settle(dir: &Path) -> anyhow::Result<()> {
    let handle = File::open(dir)?;
    rustix::fs::syncfs(&handle).with_context(|| format!("syncfs on {} failed", dir.display()))
}

/// Refuses a RAM-backed scratch directory: its fsync costs nothing, which would make
/// every durability measurement meaningless.
pub(crate) fn ensure_real_disk(dir: &Path) -> anyhow::Result<()> {
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    const RAMFS_MAGIC: i64 = 0x8584_58f6;
    let stat = rustix::fs::statfs(dir).with_context(|| format!("statfs {}", dir.display()))?;
    // `f_type` is `i64` on some architectures and narrower on others.
    #[allow(clippy::useless_conversion)]
    let kind = i64::from(stat.f_type);
    if kind == TMPFS_MAGIC || kind == RAMFS_MAGIC {
        bail!(
            "{} is on tmpfs/ramfs, where fsync is free; pass --scratch on a real disk",
            dir.display()
        );
    }
    Ok(())
}
