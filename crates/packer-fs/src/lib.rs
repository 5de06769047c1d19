//! The adapters over the real disk: [`DiskWorkspace`] implements the domain's
//! [`WorkspacePort`](packer_domain::ports::WorkspacePort) on a project's `assets/`
//! directory, [`DiskOutput`] its `PackOutput` on the build folder, [`DiskWatcher`] its
//! `WatchPort`, [`SystemClock`] its `ClockPort`.
//!
//! Confinement is the rule everything here serves: no operation touches anything outside
//! `assets/`, following symbolic links included (see `confine.rs`). Linux only.

mod clock;
mod confine;
mod error;
mod list;
mod lock;
mod output;
mod read;
mod scan;
mod watch;
mod workspace;
mod write;

pub use crate::clock::SystemClock;
pub use crate::error::DiskError;
pub use crate::lock::DiskLock;
pub use crate::output::DiskOutput;
pub use crate::watch::DiskWatcher;
pub use crate::workspace::DiskWorkspace;

#[cfg(test)]
mod testing;
