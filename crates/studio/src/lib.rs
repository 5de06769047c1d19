//! Prometeu Studio's shell: the boot [`container`] that owns Studio's one typed event
//! [`bus`], the [`packer`] runtime bootstrapped onto that bus, the Assets
//! [`workspace`] service built from both, and the [`server`] that shows it as a page.
//!
//! Boot order is carried by the types: [`container::Container::boot`] gives the
//! [`container::BootedContainer`] that [`packer::PackerHost::bootstrap`] needs, and the
//! [`workspace::AssetsWorkspace`] needs both. [`Studio::start`] walks that order.

pub mod bus;
pub mod container;
pub mod error;
pub mod guard;
mod http;
pub mod packer;
mod page;
mod routes;
pub mod server;
mod sse;
pub mod workspace;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crossbeam_channel::Receiver;
use packer_app::observer::ObserverConfig;

use crate::bus::EventBus;
use crate::container::{BootedContainer, Container, ContainerConfig};
use crate::error::StudioError;
use crate::guard::Token;
use crate::packer::PackerHost;
use crate::server::{Server, ServerConfig};
use crate::workspace::AssetsWorkspace;

/// What to open and where to serve it.
#[derive(Debug, Clone)]
pub struct StudioConfig {
    /// The project directory (the one holding `assets/.prometeu/`).
    pub project: PathBuf,
    pub container: ContainerConfig,
    pub observer: ObserverConfig,
    pub server: ServerConfig,
}

/// A running Studio: container, packer, workspace and server, in boot order.
#[derive(Debug)]
pub struct Studio {
    server: Server,
    workspace: Arc<AssetsWorkspace>,
    host: PackerHost,
    container: BootedContainer,
}

impl Studio {
    /// Boots the container, bootstraps the packer on its bus, builds the Assets
    /// Workspace and starts serving it with a fresh token.
    pub fn start(config: StudioConfig) -> Result<Studio, StudioError> {
        let container = Container::new(config.container).boot();
        let host = PackerHost::bootstrap(&container, &config.project, config.observer)?;
        let workspace = Arc::new(AssetsWorkspace::new(&container, &host)?);
        let server = Server::start(Arc::clone(&workspace), Token::generate(), &config.server)?;
        Ok(Studio {
            server,
            workspace,
            host,
            container,
        })
    }

    /// The page's address with its token: what a person opens.
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }

    pub fn token(&self) -> &Token {
        self.server.token()
    }

    pub fn bus(&self) -> &EventBus {
        self.container.bus()
    }

    pub fn host(&self) -> &PackerHost {
        &self.host
    }

    /// Receives once when a client asked Studio to stop.
    pub fn stop_requests(&self) -> &Receiver<()> {
        self.server.stop_requests()
    }

    /// Stops in reverse boot order, joining every thread: the server and its
    /// connections (a running build first told to stop at its next asset), the
    /// workspace's journal, the packer's writer lane.
    pub fn shutdown(self) {
        self.workspace.stop_builds();
        self.server.shutdown();
        if let Ok(workspace) = Arc::try_unwrap(self.workspace) {
            workspace.shutdown();
        }
        self.host.shutdown();
    }
}

/// The project to open: `explicit` if given, else the nearest directory at or above
/// `cwd` that holds `assets/.prometeu/index.json`, as git finds `.git`.
pub fn locate_project(explicit: Option<&Path>, cwd: &Path) -> Result<PathBuf, StudioError> {
    if let Some(dir) = explicit {
        return Ok(cwd.join(dir));
    }
    cwd.ancestors()
        .find(|dir| dir.join("assets/.prometeu/index.json").is_file())
        .map(Path::to_path_buf)
        .ok_or_else(|| StudioError::NoProjectFound {
            cwd: cwd.to_path_buf(),
        })
}
