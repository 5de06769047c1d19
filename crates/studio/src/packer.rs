//! The packer inside Studio: [`BusEventPort`], the runtime's `EventPort` that publishes
//! every packer event onto the container's bus, and [`PackerHost`], the only way Studio
//! gets a runtime — bootstrapped from a booted container, with that adapter as its
//! event port, the real disk, the system clock and the observer watching the disk.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use crate::bus::Subscription;

use packer_app::observer::ObserverConfig;
use packer_app::runtime::{Ports, Runtime};
use packer_domain::event::Event;
use packer_domain::ports::EventPort;
use packer_fs::{DiskWatcher, DiskWorkspace, SystemClock};

use crate::bus::EventBus;
use crate::container::BootedContainer;
use crate::error::StudioError;

/// A packer event as it travels on the bus: numbered in publication order, so a
/// consumer that joins late (a page that reconnects) can tell what it has already seen.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PackerEvent {
    /// 1 for the first event the runtime published, then one more per event.
    pub seq: u64,
    pub event: Event,
}

/// The runtime's event port inside Studio: each event goes onto the container's bus as
/// a [`PackerEvent`]. Never blocks (the bus does not), so the writer lane is never held
/// up by a slow page.
#[derive(Debug)]
pub struct BusEventPort {
    bus: EventBus,
    /// The last number issued. Numbering and publishing happen under this lock so that
    /// numbers reach every subscriber in increasing order whichever thread publishes.
    last: Mutex<u64>,
}

impl BusEventPort {
    fn new(bus: &EventBus) -> BusEventPort {
        BusEventPort {
            bus: bus.clone(),
            last: Mutex::new(0),
        }
    }
}

impl EventPort for BusEventPort {
    fn publish(&self, event: Event) {
        // A counter cannot be left half-updated, so a poisoned lock still holds a number.
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        *last += 1;
        self.bus.publish(PackerEvent { seq: *last, event });
    }
}

/// The packer runtime of one project, running inside Studio.
///
/// ```
/// use packer_app::observer::ObserverConfig;
/// use studio::container::{Container, ContainerConfig};
/// use studio::packer::PackerHost;
///
/// let project = tempfile::tempdir()?;
/// std::fs::create_dir_all(project.path().join("assets/.prometeu"))?;
/// std::fs::write(
///     project.path().join("assets/.prometeu/index.json"),
///     r#"{ "schema_version": 1, "next_asset_id": 1, "assets": [] }"#,
/// )?;
/// let container = Container::new(ContainerConfig::default()).boot();
/// let host = PackerHost::bootstrap(&container, project.path(), ObserverConfig::default())?;
/// assert_eq!(host.runtime().view().snapshot.generation(), 1);
/// host.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// There is no runtime without a booted container: the bare container, before boot,
/// is refused at compile time.
///
/// ```compile_fail,E0308
/// use packer_app::observer::ObserverConfig;
/// use studio::container::{Container, ContainerConfig};
/// use studio::packer::PackerHost;
///
/// let container = Container::new(ContainerConfig::default());
/// let game = std::path::Path::new("game");
/// let host = PackerHost::bootstrap(&container, game, ObserverConfig::default());
/// ```
#[derive(Debug)]
pub struct PackerHost {
    runtime: Arc<Runtime>,
    project: PathBuf,
    /// Subscribed before the runtime opened, so it holds the events of the open itself
    /// (`recovery_performed`, `runtime_started`) until a service takes it.
    first_events: Mutex<Option<Subscription<PackerEvent>>>,
}

impl PackerHost {
    /// Opens the project at `project` (the directory holding
    /// `assets/.prometeu/index.json`): recovers any interrupted commit, loads the first
    /// generation, starts the writer lane and the observer (paced by `observer`), every
    /// event going onto `container`'s bus.
    pub fn bootstrap(
        container: &BootedContainer,
        project: &Path,
        observer: ObserverConfig,
    ) -> Result<PackerHost, StudioError> {
        let assets = project.join("assets");
        if !assets.join(".prometeu").is_dir() {
            return Err(StudioError::NotAProject {
                path: project.to_path_buf(),
            });
        }
        let workspace = DiskWorkspace::open(&assets).map_err(|error| StudioError::Workspace {
            path: assets.clone(),
            error,
        })?;
        let first_events = container
            .bus()
            .subscribe::<PackerEvent>("event journal", container.config().queue_capacity);
        let ports = Ports {
            workspace: Arc::new(workspace),
            events: Arc::new(BusEventPort::new(container.bus())),
            clock: Arc::new(SystemClock::new()),
        };
        Ok(PackerHost {
            runtime: Arc::new(Runtime::open_observed(
                ports,
                Arc::new(DiskWatcher::new(&assets)),
                observer,
            )),
            project: project.to_path_buf(),
            first_events: Mutex::new(Some(first_events)),
        })
    }

    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// The project directory, as given at bootstrap.
    pub fn project(&self) -> &Path {
        &self.project
    }

    /// A handle on the runtime for a service built from this host.
    pub(crate) fn shared_runtime(&self) -> Arc<Runtime> {
        Arc::clone(&self.runtime)
    }

    /// The packer's events from the runtime's first one on, for the first service that
    /// asks (the workspace's journal); later ones get `None` and subscribe themselves.
    pub(crate) fn take_first_events(&self) -> Option<Subscription<PackerEvent>> {
        // Taking an option cannot leave it half-changed, so a poisoned lock still
        // guards a whole value.
        self.first_events
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Stops the runtime: the writes already queued finish, then its threads are
    /// joined. Services built from this host that still hold the runtime keep it alive
    /// until they are shut down; the last one to let go joins the threads.
    pub fn shutdown(self) {
        if let Ok(runtime) = Arc::try_unwrap(self.runtime) {
            runtime.shutdown();
        }
    }
}
