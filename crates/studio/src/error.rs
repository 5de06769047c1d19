//! Why Studio could not start: the project cannot be opened, or the page cannot be
//! served. Everything after start is reported per request (`AppError`) instead.
//!
//! Each message says its cause itself, so the cause is not also given as the error's
//! `source` (nor kept in a field of that name, which `thiserror` takes for one): the
//! binary prints the whole chain, which would say each cause twice.

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
    #[error("cannot open {}: {error}", path.display())]
    Workspace {
        path: PathBuf,
        error: packer_fs::DiskError,
    },
    #[error("cannot listen on 127.0.0.1:{port}: {error}")]
    Listen { port: u16, error: std::io::Error },
    #[error("cannot start a server thread: {0}")]
    Thread(std::io::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cause_is_said_once_in_the_chain_printed_at_exit() {
        let error = anyhow::Error::from(StudioError::Listen {
            port: 4321,
            error: std::io::Error::from(std::io::ErrorKind::AddrInUse),
        });
        let printed = format!("{error:#}");
        assert_eq!(printed.matches("in use").count(), 1, "{printed}");
        assert!(
            printed.starts_with("cannot listen on 127.0.0.1:4321: "),
            "{printed}"
        );
    }
}
