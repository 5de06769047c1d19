//! A generated project held in memory, and the writer that puts it on disk: asset
//! folders in parallel, then `.gitignore` and the registry last, as the packer itself
//! commits `index.json` after the files it lists.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use anyhow::{Context as _, bail};
use packer_domain::declaration::Declaration;
use packer_domain::path::{AssetPath, PROMETEU_DIR};
use packer_domain::registry::{AssetId, Registry, RegistryEntry};

/// The project's authoring workspace, relative to the project directory.
pub const ASSETS_DIR: &str = "assets";
/// What `init` writes to `assets/.prometeu/.gitignore`: the transient files of §2.
pub const GITIGNORE: &str = "tx/\nlock\ncache/\n";

/// One asset: its registry facts, its declaration and the content of each input.
#[derive(Debug, Clone)]
pub struct GeneratedAsset {
    pub asset_id: u64,
    pub root: AssetPath,
    pub included_in_build: bool,
    pub declaration: Declaration,
    /// The content of each of `declaration.inputs`, in the same order. Shared, since the
    /// large generator reuses a pool of encoded files.
    pub contents: Vec<Arc<[u8]>>,
}

/// A whole project: everything under `assets/`.
#[derive(Debug, Clone)]
pub struct GeneratedProject {
    pub next_asset_id: u64,
    pub assets: Vec<GeneratedAsset>,
}

/// What was written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    pub files: u64,
    pub bytes: u64,
}

impl GeneratedAsset {
    /// Every file of the asset folder, as paths relative to the project directory.
    fn files(&self) -> impl Iterator<Item = (String, Cow<'_, [u8]>)> {
        let declaration = (
            format!("{ASSETS_DIR}/{}", self.root.declaration_path()),
            Cow::Owned(self.declaration.to_bytes()),
        );
        let inputs = self
            .declaration
            .inputs
            .iter()
            .zip(&self.contents)
            .map(|(input, bytes)| {
                (
                    format!("{ASSETS_DIR}/{}", self.root.join(input)),
                    Cow::Borrowed(&**bytes),
                )
            });
        std::iter::once(declaration).chain(inputs)
    }
}

impl GeneratedProject {
    /// The registry, checked by the domain's own rules (unique ids, uuids and roots, no
    /// nesting), so a generator bug cannot produce a project the packer would reject.
    pub fn registry(&self) -> anyhow::Result<Registry> {
        if let Some(asset) = self
            .assets
            .iter()
            .find(|a| a.declaration.inputs.len() != a.contents.len())
        {
            bail!(
                "`{}` declares {} inputs but was given {} contents",
                asset.root,
                asset.declaration.inputs.len(),
                asset.contents.len()
            );
        }
        let entries = self
            .assets
            .iter()
            .map(|a| RegistryEntry {
                asset_id: AssetId(a.asset_id),
                asset_uuid: a.declaration.asset_uuid,
                root: a.root.clone(),
                included_in_build: a.included_in_build,
            })
            .collect();
        Registry::new(self.next_asset_id, entries).context("the generated registry is invalid")
    }

    /// Every file of the project with its bytes, keyed by its `/`-separated path
    /// relative to the project directory. Meant for small projects (comparison with a
    /// committed copy); [`write_project`] streams instead.
    pub fn files(&self) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
        let mut files = BTreeMap::new();
        for asset in &self.assets {
            for (path, content) in asset.files() {
                files.insert(path, content.into_owned());
            }
        }
        files.insert(
            format!("{ASSETS_DIR}/{PROMETEU_DIR}/.gitignore"),
            GITIGNORE.as_bytes().to_vec(),
        );
        files.insert(
            format!("{ASSETS_DIR}/{PROMETEU_DIR}/index.json"),
            self.registry()?.to_bytes(),
        );
        Ok(files)
    }
}

/// Makes `dir` ready to receive a project. A non-empty `dir` is refused unless `force`;
/// with `force`, its `assets/` is removed first so that the result is exactly the
/// generated workspace (no stale asset folders left to look like unregistered assets),
/// while anything else in `dir` is left alone.
pub fn prepare_out_dir(dir: &Path, force: bool) -> anyhow::Result<()> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                if !force {
                    bail!(
                        "{} is not empty; pass --force to replace its `{ASSETS_DIR}/` directory",
                        dir.display()
                    );
                }
                let assets = dir.join(ASSETS_DIR);
                if fs::symlink_metadata(&assets).is_ok() {
                    fs::remove_dir_all(&assets)
                        .with_context(|| format!("removing {}", assets.display()))?;
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", dir.display())),
    }
    let internal = dir.join(ASSETS_DIR).join(PROMETEU_DIR);
    fs::create_dir_all(&internal).with_context(|| format!("creating {}", internal.display()))
}

/// Writes `project` under `dir` (prepared by [`prepare_out_dir`]) with `threads`
/// writers.
pub fn write_project(
    dir: &Path,
    project: &GeneratedProject,
    threads: usize,
) -> anyhow::Result<WriteStats> {
    // Validate before the first write: a rejected registry leaves no half project.
    let registry = project.registry()?.to_bytes();
    // Writers take small batches from a shared cursor, so a slow disk region or a
    // thread that got descheduled does not leave the others idle at the end.
    const BATCH: usize = 64;
    let cursor = AtomicUsize::new(0);
    // After one writer fails (a full disk, say) the others stop instead of trying
    // every remaining file.
    let failed = AtomicBool::new(false);
    let results: Vec<anyhow::Result<WriteStats>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                scope.spawn(|| {
                    let mut stats = WriteStats::default();
                    loop {
                        let start = cursor.fetch_add(BATCH, Ordering::Relaxed);
                        if start >= project.assets.len() || failed.load(Ordering::Relaxed) {
                            return Ok(stats);
                        }
                        let end = (start + BATCH).min(project.assets.len());
                        for asset in &project.assets[start..end] {
                            if let Err(e) = write_asset(dir, asset, &mut stats) {
                                failed.store(true, Ordering::Relaxed);
                                return Err(e);
                            }
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a writer thread panicked")))
            })
            .collect()
    });
    let mut total = WriteStats::default();
    for result in results {
        let stats = result?;
        total.files += stats.files;
        total.bytes += stats.bytes;
    }
    let internal = dir.join(ASSETS_DIR).join(PROMETEU_DIR);
    for (name, bytes) in [
        (".gitignore", GITIGNORE.as_bytes()),
        ("index.json", &registry),
    ] {
        write_file(&internal.join(name), bytes, &mut total)?;
    }
    Ok(total)
}

/// What the packer writes into a project besides its sources, and git ignores: the
/// build's output and cache, the writer lock, transactions in flight.
const TRANSIENT: [&str; 4] = [
    "build",
    "assets/.prometeu/cache",
    "assets/.prometeu/lock",
    "assets/.prometeu/tx",
];

/// Every file under `dir`, keyed by its `/`-separated path relative to `dir`, leaving out
/// what is transient.
pub fn read_tree(dir: &Path) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    let mut files = BTreeMap::new();
    let mut pending = vec![(dir.to_path_buf(), String::new())];
    while let Some((path, relative)) = pending.pop() {
        let entries = fs::read_dir(&path).with_context(|| format!("reading {}", path.display()))?;
        for entry in entries {
            let entry = entry.with_context(|| format!("reading {}", path.display()))?;
            let name = entry.file_name();
            let name = name.to_str().with_context(|| {
                format!("{} has a name that is not UTF-8", entry.path().display())
            })?;
            let child = if relative.is_empty() {
                name.to_owned()
            } else {
                format!("{relative}/{name}")
            };
            if TRANSIENT.contains(&child.as_str()) {
                continue;
            }
            if entry.file_type()?.is_dir() {
                pending.push((entry.path(), child));
            } else {
                let bytes = fs::read(entry.path())
                    .with_context(|| format!("reading {}", entry.path().display()))?;
                files.insert(child, bytes);
            }
        }
    }
    Ok(files)
}

/// How `dir` differs from `expected` (paths relative to `dir`): one line per missing,
/// changed or unexpected file, in path order; empty when they are the same.
pub fn compare_with_dir(
    dir: &Path,
    expected: &BTreeMap<String, Vec<u8>>,
) -> anyhow::Result<Vec<String>> {
    let actual = read_tree(dir)?;
    let mut differences: Vec<(&str, &str)> = Vec::new();
    for (path, bytes) in expected {
        match actual.get(path) {
            None => differences.push((path, "missing")),
            Some(found) if found != bytes => differences.push((path, "differs")),
            Some(_) => {}
        }
    }
    for path in actual.keys().filter(|p| !expected.contains_key(*p)) {
        differences.push((path, "unexpected"));
    }
    differences.sort_unstable();
    Ok(differences
        .into_iter()
        .map(|(path, what)| format!("{what}: {path}"))
        .collect())
}

/// How many writer threads to use: file creation waits on the kernel more than on the
/// CPU, so a few more threads than cores keep the cores busy.
pub fn writer_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get() * 2)
}

fn write_asset(dir: &Path, asset: &GeneratedAsset, stats: &mut WriteStats) -> anyhow::Result<()> {
    let root = dir.join(ASSETS_DIR).join(asset.root.as_str());
    fs::create_dir_all(&root).with_context(|| format!("creating {}", root.display()))?;
    for (relative, content) in asset.files() {
        let path = dir.join(&relative);
        // Inputs may sit in sub-folders of the root (`frames/0.png`).
        if let Some(parent) = path.parent()
            && parent != root
        {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        write_file(&path, &content, stats)?;
    }
    Ok(())
}

fn write_file(path: &Path, bytes: &[u8], stats: &mut WriteStats) -> anyhow::Result<()> {
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    stats.files += 1;
    stats.bytes += bytes.len() as u64;
    Ok(())
}
