//! The pure core of Prometeu Packer: the on-disk formats, the snapshot and its loader,
//! drift classification, diagnostics, events, and the ports through which all of it
//! meets the world. Nothing here touches a file, a thread, a clock or the environment.

pub mod chunked;
pub mod command;
pub mod declaration;
pub mod diagnostics;
pub mod drift;
pub mod event;
pub mod json;
pub mod listing;
pub mod location;
pub mod observe;
pub mod path;
pub mod ports;
pub mod reconcile;
pub mod registry;
pub mod snapshot;
pub mod transaction;

mod decode;
mod doctor;
