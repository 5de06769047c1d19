//! Integration tests of Prometeu Packer, one binary. Every `.rs` file in this folder is
//! a module and must be registered below; `every_module_is_registered` checks that.

// This whole binary is test code, helpers included: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod build;
mod build_cache;
mod build_cli;
mod build_codecs;
mod build_memory;
mod build_stop;
mod child;
mod cli;
mod cli_concurrent;
mod cli_edges;
mod cli_read_edges;
mod cli_reconcile;
mod cli_recovery;
mod cli_write;
mod cli_write_paths;
mod concurrency;
mod contract;
mod contract_output;
mod delegate;
mod derive;
mod fixture_text;
mod media;
mod merge;
mod model;
mod observe;
mod observe_disk;
mod observe_failed;
mod observe_links;
mod observe_tx;
mod observe_unregistered;
mod observe_watch;
mod pack_format;
mod plan;
mod processes;
mod read_only;
mod reconcile;
mod reconcile_apply;
mod reconcile_damage;
mod reconcile_fixture;
mod reconcile_moves;
mod recovery_reports;
mod registration;
mod runtime;
mod scale;
mod serve;
mod serve_causality;
mod serve_observed;
mod snapshot;
mod studio;
mod studio_edges;
mod watch_cli;
