//! The Prometeu Packer runtime, composed from the domain and the ports a host injects:
//! the views every frontend shows, the parameters every JSON frontend reads, the
//! application error, project initialisation, the runtime with its writer lane, the
//! durable commit and recovery, the observer, reconcile, and the build.

pub mod build;
pub mod commit;
pub mod error;
pub mod init;
pub mod observer;
pub mod params;
pub mod reconcile;
pub mod recovery;
mod refresh;
mod retired;
pub mod runtime;
pub mod views;
mod write;
