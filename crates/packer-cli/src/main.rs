//! `prometeu-packer`: the command-line host of the packer. It wires the real file system
//! and clock into the runtime at boot, runs one command and presents the answer: human
//! text by default, JSON with `--json`. Exit codes: 0 success, 1 failure or errors
//! found, 2 usage.

mod commands;
mod output;
mod project;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::output::Output;

#[derive(Debug, Parser)]
#[command(
    name = "prometeu-packer",
    version,
    about = "Filesystem-first asset packer for Prometeu game projects",
    propagate_version = true
)]
struct Cli {
    /// The project directory (the one holding assets/.prometeu/index.json). Default: the
    /// nearest such directory at or above the current one.
    #[arg(long, global = true, value_name = "DIR")]
    project: Option<PathBuf>,
    /// Machine-readable output on stdout; human text goes to stderr.
    #[arg(long, global = true)]
    json: bool,
    /// Print nothing but results and errors.
    #[arg(short, long, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make DIR (default: the current directory) a project: write an empty registry.
    Init {
        /// Where to create the project.
        dir: Option<PathBuf>,
    },
    /// List the registered assets with their status.
    List,
    /// Show one asset in full. ASSET is an asset id, an asset uuid or a root path.
    Show {
        #[arg(value_name = "ASSET")]
        asset: String,
    },
    /// Show the project state, its generation and every drift.
    Status,
    /// Report every diagnostic; exits 1 when there are errors.
    Doctor,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let out = Output {
        json: cli.json,
        quiet: cli.quiet,
    };
    let result = match &cli.command {
        Command::Init { dir } => commands::init(out, dir.as_deref()),
        Command::List => commands::list(out, cli.project.as_deref()),
        Command::Show { asset } => commands::show(out, cli.project.as_deref(), asset),
        Command::Status => commands::status(out, cli.project.as_deref()),
        Command::Doctor => commands::doctor(out, cli.project.as_deref()),
    };
    match result {
        Ok(outcome) => outcome.exit_code(),
        Err(failure) => failure.report(out),
    }
}
