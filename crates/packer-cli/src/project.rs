//! Finding the project: `--project DIR`, else the nearest directory at or above the
//! current one that holds `assets/.prometeu/index.json`, as git finds `.git`.

use std::path::{Path, PathBuf};

use anyhow::bail;

/// A located project: its root and its `assets/` directory.
#[derive(Debug, Clone)]
pub struct ProjectDir {
    pub root: PathBuf,
    pub assets: PathBuf,
}

impl ProjectDir {
    fn at(root: PathBuf) -> ProjectDir {
        let assets = root.join("assets");
        ProjectDir { root, assets }
    }
}

/// The project whose `assets/` holds `dir` (or is `dir`), if any: the root of the
/// nearest such project (one with `assets/.prometeu/`, its registry readable or not),
/// found from the deepest folder of `dir` that exists, with links and `..` resolved.
pub fn enclosing_project(dir: &Path) -> Option<PathBuf> {
    let existing = dir.ancestors().find(|a| a.exists())?;
    let real = std::fs::canonicalize(existing).ok()?;
    real.ancestors()
        .filter(|a| a.file_name() == Some("assets".as_ref()))
        .find(|a| a.join(".prometeu").is_dir())
        .and_then(Path::parent)
        .map(Path::to_path_buf)
}

/// Locates the project from `explicit` (`--project`) or the current directory.
pub fn locate(explicit: Option<&Path>, cwd: &Path) -> anyhow::Result<ProjectDir> {
    if let Some(dir) = explicit {
        // An explicit project whose registry was deleted is still that project: the
        // load reports the missing registry instead of "not a project".
        if dir.join("assets").join(".prometeu").is_dir() {
            return Ok(ProjectDir::at(dir.to_path_buf()));
        }
        // `--project assets` or `--project assets/.prometeu/index.json`: the project
        // meant is plain, and `init` there (the usual advice) would nest a project.
        if let Some(root) = enclosing_project(dir) {
            bail!(
                "{} is inside the project in {}: --project names the folder that holds assets/ (use --project {})",
                dir.display(),
                root.display(),
                root.display()
            );
        }
        if dir.exists() && !dir.is_dir() {
            bail!(
                "{} is not a Prometeu project: it is not a folder (--project names the folder that holds assets/)",
                dir.display()
            );
        }
        bail!(
            "{} is not a Prometeu project: it has no assets/.prometeu/index.json (create one with `prometeu-packer init {}`)",
            dir.display(),
            dir.display()
        );
    }
    // The binary passes an empty path when it cannot tell its current folder (deleted
    // from under the shell): say that, not "neither `` nor any parent".
    if cwd.as_os_str().is_empty() {
        bail!(
            "the current folder cannot be read (was it deleted?): change to a folder of the project, or use --project DIR"
        );
    }
    let mut dir: Option<&Path> = Some(cwd);
    while let Some(candidate) = dir {
        // Whatever `index.json` is (a file, or by mistake a folder, a FIFO or a broken
        // link), this is the project: the load says what is wrong with it, instead of
        // the search going on to a project further up, or to none.
        if candidate
            .join("assets")
            .join(".prometeu")
            .join("index.json")
            .symlink_metadata()
            .is_ok()
        {
            return Ok(ProjectDir::at(candidate.to_path_buf()));
        }
        dir = candidate.parent();
    }
    bail!(
        "no Prometeu project here: neither {} nor any parent holds assets/.prometeu/index.json (use --project DIR, or `prometeu-packer init`)",
        cwd.display()
    )
}
