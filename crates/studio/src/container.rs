//! Studio's boot container: it owns the one typed event bus, and booting it is the first
//! step of Studio's boot. Every later piece — the packer host, the Assets Workspace —
//! takes a [`BootedContainer`] to be built, so none can exist before the bus does, and
//! none can bring an event system of its own.

use crate::bus::EventBus;

/// How the container is set up before it boots.
#[derive(Debug, Clone)]
pub struct ContainerConfig {
    /// Room in each subscriber's queue unless the subscriber asks for another size.
    pub queue_capacity: usize,
}

impl Default for ContainerConfig {
    fn default() -> ContainerConfig {
        // A burst of a few hundred events (a large reconcile, a build's progress) fits
        // while a page catches up; beyond that the page is told it lagged and re-reads.
        ContainerConfig {
            queue_capacity: 1024,
        }
    }
}

/// The container before boot: configuration only, no bus yet.
#[derive(Debug, Clone, Default)]
pub struct Container {
    config: ContainerConfig,
}

/// The container after boot: it holds the bus. The only way to get one is
/// [`Container::boot`].
#[derive(Debug)]
pub struct BootedContainer {
    bus: EventBus,
    config: ContainerConfig,
}

impl Container {
    pub fn new(config: ContainerConfig) -> Container {
        Container { config }
    }

    /// Creates the container's event bus. Nothing in Studio can obtain a bus but
    /// through the container this returns.
    pub fn boot(self) -> BootedContainer {
        BootedContainer {
            bus: EventBus::new(),
            config: self.config,
        }
    }
}

impl BootedContainer {
    /// The container's bus: the one event system of this Studio.
    pub fn bus(&self) -> &EventBus {
        &self.bus
    }

    pub fn config(&self) -> &ContainerConfig {
        &self.config
    }
}
