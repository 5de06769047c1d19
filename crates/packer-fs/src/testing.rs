//! Fixtures for the unit tests: a project in a temporary directory, with a file and a
//! folder beside `assets/` for links to point out to.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use packer_domain::path::WsPath;
use tempfile::TempDir;

use crate::workspace::DiskWorkspace;

pub(crate) struct Fixture {
    /// Holds the directory alive.
    _project: TempDir,
    pub(crate) assets: PathBuf,
    /// `<project>/secret.txt`, outside the workspace.
    pub(crate) secret: PathBuf,
}

impl Fixture {
    pub(crate) fn new() -> Fixture {
        let project = tempfile::tempdir().unwrap();
        let assets = project.path().join("assets");
        fs::create_dir_all(assets.join(".prometeu")).unwrap();
        let secret = project.path().join("secret.txt");
        fs::write(&secret, b"secret").unwrap();
        fs::create_dir(project.path().join("outside")).unwrap();
        fs::write(project.path().join("outside/file.txt"), b"outside").unwrap();
        Fixture {
            _project: project,
            assets,
            secret,
        }
    }

    pub(crate) fn write(&self, path: &str, bytes: &[u8]) {
        let full = self.assets.join(path);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        fs::write(full, bytes).unwrap();
    }

    pub(crate) fn mkdir(&self, path: &str) {
        fs::create_dir_all(self.assets.join(path)).unwrap();
    }

    pub(crate) fn symlink(&self, link: &str, target: impl AsRef<Path>) {
        let full = self.assets.join(link);
        fs::create_dir_all(full.parent().unwrap()).unwrap();
        symlink(target, full).unwrap();
    }

    pub(crate) fn file(&self, path: &str) -> Vec<u8> {
        fs::read(self.assets.join(path)).unwrap()
    }

    /// The workspace opened both ways: with whatever confinement the kernel allows, and
    /// forced to the user-space fallback.
    pub(crate) fn workspaces(&self) -> [DiskWorkspace; 2] {
        [
            DiskWorkspace::open(&self.assets).unwrap(),
            DiskWorkspace::open_with_user_space_confinement(&self.assets).unwrap(),
        ]
    }
}

pub(crate) fn ws(path: &str) -> WsPath {
    WsPath::new(path).unwrap()
}
