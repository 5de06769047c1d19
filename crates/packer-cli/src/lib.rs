//! `prometeu-packer`: the command-line host of the packer. It wires the real file system
//! into the runtime, runs one command and presents the answer: human text by default,
//! JSON with `--json`. Exit codes: 0 success, 1 failure or errors found, 2 usage.
//!
//! The binary is a thin `main` over [`run`], which takes its streams and working
//! directory as arguments so that tests drive the whole CLI in-process.

mod commands;
mod output;
mod project;
mod render;

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

pub use crate::output::Console;
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

/// Runs the CLI on `args` (the first being the program name) and gives the exit code.
pub fn run<I, T>(args: I, mut console: Console<'_>) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version are successes printed on stdout; anything else is usage.
            let (stream, code): (&mut dyn std::io::Write, u8) = if e.use_stderr() {
                (console.stderr, 2)
            } else {
                (console.stdout, 0)
            };
            let _ = write!(stream, "{}", e.render().ansi());
            return code;
        }
    };
    let cwd = console.cwd.clone();
    // Relative `--project` and `init DIR` are relative to the console's directory.
    let project = cli.project.as_ref().map(|p| cwd.join(p));
    console.cwd = cwd;
    let out = Output::new(cli.json, cli.quiet, console);
    let project = project.as_deref();
    let result = match &cli.command {
        Command::Init { dir } => commands::init(&out, dir.as_deref()),
        Command::List => commands::list(&out, project),
        Command::Show { asset } => commands::show(&out, project, asset),
        Command::Status => commands::status(&out, project),
        Command::Doctor => commands::doctor(&out, project),
    };
    match result {
        Ok(outcome) => outcome.exit_code(),
        Err(failure) => failure.report(&out),
    }
}
