//! Why Studio could not start: the project cannot be opened, or the page cannot be
//! served. Everything after start is reported per request (`AppError`) instead.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StudioError {
    #[error(
        "{} is not a Prometeu project: it has no assets/.prometeu/ (create one with `prometeu-packer init`)",
        path.display()
    )]
    NotAProject { path: PathBuf },
    #[error(
        "no Prometeu project here: neither {} nor any parent holds assets/.prometeu/index.json (use --project DIR)",
        cwd.display()
    )]
    NoProjectFound { cwd: PathBuf },
    #[error("cannot open {}: {source}", path.display())]
    Workspace {
        path: PathBuf,
        #[source]
        source: packer_fs::DiskError,
    },
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Listen {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start a server thread: {0}")]
    Thread(#[source] std::io::Error),
}
