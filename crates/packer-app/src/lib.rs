//! The Prometeu Packer runtime, composed from the domain and the ports a host injects:
//! the views every frontend shows, the application error, project initialisation.

pub mod error;
pub mod init;
pub mod views;
