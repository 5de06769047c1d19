//! `cargo xtask`: the project's automation, one module per subcommand; this file only
//! parses the command line and dispatches.

// xtask is a console tool: printing its progress and summaries is its job.
#![allow(clippy::print_stdout, clippy::print_stderr)]

mod bench;
mod ci;
mod gen_demo;
mod gen_workspace;
mod json_text;
mod media;
mod prng;
mod project;
#[cfg(test)]
mod testing;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Project automation for Prometeu Packer.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run what CI runs: fmt check, clippy and docs with warnings denied, every test.
    Ci,
    /// Run the benchmarks in release mode; writes target/bench/report.json.
    Bench(bench::Args),
    /// Write a large synthetic project (registry, declarations and real PNG, WAV, JSON
    /// and blob inputs), deterministic for a given seed.
    GenWorkspace(gen_workspace::Args),
    /// Write the small hand-designed demo project kept in `examples/demo-project`.
    GenDemo(gen_demo::Args),
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Ci => ci::run(),
        Command::Bench(args) => bench::run(&args),
        Command::GenWorkspace(args) => gen_workspace::run(&args),
        Command::GenDemo(args) => gen_demo::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line with the whole context chain; a backtrace helps nobody running a
            // task, whatever RUST_BACKTRACE says.
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// The repository root: the parent of this crate's folder.
fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map_or(manifest.clone(), PathBuf::from)
}
