//! Integration tests of Prometeu Packer, one binary. Every `.rs` file in this folder is
//! a module and must be registered below; `every_module_is_registered` checks that.

// This whole binary is test code, helpers included: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod cli;
mod cli_recovery;
mod cli_write;
mod concurrency;
mod contract;
mod model;
mod observe;
mod plan;
mod processes;
mod reconcile;
mod reconcile_apply;
mod reconcile_damage;
mod registration;
mod runtime;
mod snapshot;
mod studio;
