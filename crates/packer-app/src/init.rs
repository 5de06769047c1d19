//! `init`: turn a directory into a project by writing an empty registry and the
//! `.gitignore` for the packer's transient files. Refuses to touch an existing registry.

use packer_domain::path::{PROMETEU_DIR, PathError, WsPath};
use packer_domain::ports::WorkspacePort;
use packer_domain::registry::Registry;
use packer_domain::snapshot::registry_path;

use crate::error::{AppError, ErrorCode};

/// What `init` writes to `assets/.prometeu/.gitignore`: everything the packer keeps
/// there except the registry itself is transient or derived.
pub const GITIGNORE: &str =
    "# Written by prometeu-packer: transient and derived files.\ntx/\nlock\ncache/\n";

/// What `init` did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct InitReport {
    /// Files written, relative to the project root.
    pub created: Vec<String>,
    /// Files that were already there and were left as they were.
    pub kept: Vec<String>,
}

/// Creates `.prometeu/index.json` (an empty registry) and `.prometeu/.gitignore` in the
/// workspace, durably. Fails with `conflict` if a registry already exists.
pub fn init_workspace(port: &dyn WorkspacePort) -> Result<InitReport, AppError> {
    let registry = registry_path();
    if port.stat(&registry)?.is_some() {
        return Err(AppError::new(
            ErrorCode::Conflict,
            format!(
                "{} already exists; this is already a project",
                registry.display_in_project()
            ),
        ));
    }
    let dir = internal_path(WsPath::new(PROMETEU_DIR))?;
    port.create_dir_all(&dir)?;
    let mut report = InitReport {
        created: Vec::new(),
        kept: Vec::new(),
    };
    let gitignore = internal_path(WsPath::internal(".gitignore"))?;
    if port.stat(&gitignore)?.is_some() {
        report.kept.push(gitignore.display_in_project());
    } else {
        write_durably(port, &gitignore, GITIGNORE.as_bytes())?;
        report.created.push(gitignore.display_in_project());
    }
    write_durably(port, &registry, &Registry::empty().to_bytes())?;
    report.created.push(registry.display_in_project());
    port.sync_dir(&dir)?;
    port.sync_dir(&WsPath::root())?;
    Ok(report)
}

/// Writes a staged copy, syncs it and renames it into place, so the file is either
/// absent or complete whatever happens.
fn write_durably(port: &dyn WorkspacePort, path: &WsPath, bytes: &[u8]) -> Result<(), AppError> {
    let staged = internal_path(WsPath::internal(&format!("{}.init", path.file_name())))?;
    port.write_file(&staged, bytes)?;
    port.sync_file(&staged)?;
    port.rename(&staged, path)?;
    Ok(())
}

/// A path under `.prometeu` built from constant names: a failure is a bug, reported
/// rather than panicking.
fn internal_path(path: Result<WsPath, PathError>) -> Result<WsPath, AppError> {
    path.map_err(|e| {
        AppError::new(
            ErrorCode::Invalid,
            format!("an internal path is invalid: {e}"),
        )
    })
}
