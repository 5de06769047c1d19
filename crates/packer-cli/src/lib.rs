//! `prometeu-packer`: the command-line host of the packer. It wires the real file system
//! into the runtime, runs one command and presents the answer: human text by default,
//! JSON with `--json`. Exit codes: 0 success, 1 failure or errors found, 2 usage.
//!
//! The binary is a thin `main` over [`run`], which takes its streams and working
//! directory as arguments so that tests drive the whole CLI in-process.

mod commands;
mod events;
mod lines;
mod output;
mod project;
mod render;
mod serve;
mod watch;

use std::ffi::OsString;
use std::io::IsTerminal as _;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};
use packer_app::error::{AppError, ErrorCode};
use packer_domain::declaration::AssetKind;

use crate::commands::reconcile::{self, Apply};
use crate::commands::write::AddArgs;
use crate::commands::{build, inspect, read, write};

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
    /// Make DIR (default: the `--project` folder, else the current one) a project: write an
    /// empty registry.
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
    /// Create an asset: write ROOT/asset.json with a fresh uuid and register it.
    Add {
        /// The asset folder, relative to assets/.
        #[arg(value_name = "ROOT")]
        root: String,
        /// What the asset is.
        #[arg(long, value_enum)]
        kind: KindArg,
        /// Its input files, relative to ROOT: repeat the option or list several files.
        #[arg(long = "input", value_name = "FILE", num_args = 1.., required = true)]
        inputs: Vec<String>,
        /// Its name. Default: the last segment of ROOT.
        #[arg(long, value_name = "NAME")]
        name: Option<String>,
        /// Register it excluded from the build (default: included).
        #[arg(long)]
        exclude: bool,
    },
    /// Register an asset.json that is on disk but not in the registry.
    Adopt {
        /// The asset folder, relative to assets/.
        #[arg(value_name = "ROOT")]
        root: String,
    },
    /// Rename an asset's folder and point the registry at the new place, in one commit.
    Move {
        /// The asset: an id, a uuid or its root.
        #[arg(value_name = "ASSET")]
        asset: String,
        /// Where its folder goes, relative to assets/; nothing may be there yet.
        #[arg(value_name = "NEW_ROOT")]
        new_root: String,
    },
    /// Unregister an asset and delete its asset.json; its input files stay.
    Remove {
        #[arg(value_name = "ASSET")]
        asset: String,
    },
    /// Pack the asset in builds.
    Include {
        #[arg(value_name = "ASSET")]
        asset: String,
    },
    /// Leave the asset out of builds.
    Exclude {
        #[arg(value_name = "ASSET")]
        asset: String,
    },
    /// Print the plan that resolves structural drift; apply actions of it.
    Reconcile {
        /// Apply these actions of the plan (their numbers as printed), in one commit.
        #[arg(long, value_name = "ID", num_args = 1.., conflicts_with = "apply_all")]
        apply: Vec<u32>,
        /// Apply every action of the plan, in one commit.
        #[arg(long)]
        apply_all: bool,
    },
    /// Pack every included asset into DIR/assets.pak, with DIR/assets.manifest.json.
    Build {
        /// The output folder, outside assets/. Default: build/ in the project.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Verify a pack file and list what it holds; exits 1 when it is not valid.
    Inspect {
        #[arg(value_name = "PACK")]
        pack: PathBuf,
    },
    /// Run the runtime with its observer and print every event until Ctrl-C.
    Watch,
    /// Speak the stdio protocol: JSON requests on stdin, responses and events on stdout.
    Serve {
        /// Use stdin and stdout (the only transport).
        #[arg(long, required = true)]
        stdio: bool,
    },
}

/// The asset kinds as `--kind` takes them.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum KindArg {
    /// PNG input, decoded to pixels.
    Image,
    /// WAV input, decoded to PCM.
    Audio,
    /// JSON input, checked and minified.
    Data,
    /// Any bytes, copied.
    Blob,
}

impl KindArg {
    fn kind(self) -> AssetKind {
        match self {
            KindArg::Image => AssetKind::Image,
            KindArg::Audio => AssetKind::Audio,
            KindArg::Data => AssetKind::Data,
            KindArg::Blob => AssetKind::Blob,
        }
    }
}

/// Runs the CLI on `args` (the first being the program name) and gives the exit code.
pub fn run<I, T>(args: I, mut console: Console<'_>) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return usage(&e, &args, &mut console),
    };
    let cwd = console.cwd.clone();
    // Relative `--project` and `init DIR` are relative to the console's directory.
    let project = cli.project.as_ref().map(|p| cwd.join(p));
    console.cwd = cwd;
    let out = Output::new(cli.json, cli.quiet, console);
    let project = project.as_deref();
    let result = match &cli.command {
        Command::Init { dir } => commands::init(&out, dir.as_deref(), project),
        Command::List => read::list(&out, project),
        Command::Show { asset } => read::show(&out, project, asset),
        Command::Status => read::status(&out, project),
        Command::Doctor => read::doctor(&out, project),
        Command::Add {
            root,
            kind,
            inputs,
            name,
            exclude,
        } => write::add(
            &out,
            project,
            &AddArgs {
                root,
                kind: kind.kind(),
                inputs,
                name: name.as_deref(),
                exclude: *exclude,
            },
        ),
        Command::Adopt { root } => write::adopt(&out, project, root),
        Command::Move { asset, new_root } => write::move_asset(&out, project, asset, new_root),
        Command::Remove { asset } => write::remove(&out, project, asset),
        Command::Include { asset } => write::set_included(&out, project, asset, true),
        Command::Exclude { asset } => write::set_included(&out, project, asset, false),
        Command::Reconcile { apply, apply_all } => {
            let apply = match (apply.as_slice(), apply_all) {
                (_, true) => Apply::All,
                ([], false) => Apply::Nothing,
                (ids, false) => Apply::Chosen(ids.to_vec()),
            };
            reconcile::reconcile(&out, project, &apply)
        }
        Command::Build { out: dir } => build::build(&out, project, dir.as_deref()),
        Command::Inspect { pack } => inspect::inspect(&out, pack),
        Command::Watch => watch::watch(&out, project),
        Command::Serve { stdio: _ } => serve::serve(&out, project),
    };
    match result {
        Ok(outcome) => outcome.exit_code(),
        Err(failure) => failure.report(&out),
    }
}

/// Reports what the parser refused (or the help and version it was asked for) and gives
/// the exit code. Colours only for a terminal, so that a pipe or a file gets plain text;
/// under `--json` a usage error is also the protocol's error object on stdout.
fn usage(e: &clap::Error, args: &[OsString], console: &mut Console<'_>) -> u8 {
    // Help and version are successes printed on stdout; anything else is usage.
    let (stream, terminal, code): (&mut dyn std::io::Write, bool, u8) = if e.use_stderr() {
        (console.stderr, std::io::stderr().is_terminal(), 2)
    } else {
        (console.stdout, std::io::stdout().is_terminal(), 0)
    };
    let text = e.render();
    if terminal {
        let _ = write!(stream, "{}", text.ansi());
    } else {
        let _ = write!(stream, "{text}");
    }
    let json = args
        .iter()
        .skip(1)
        .take_while(|arg| *arg != "--")
        // `--json=true` asks for JSON too, however wrongly.
        .any(|arg| arg == "--json" || arg.to_str().is_some_and(|a| a.starts_with("--json=")));
    if code == 2 && json {
        // The error is the first paragraph (a list of missing arguments follows on
        // lines of its own); the usage after it is for people.
        let text = text.to_string();
        let first = text.split("\n\n").next().unwrap_or_default();
        let first = first.strip_prefix("error: ").unwrap_or(first);
        let message = first.split_whitespace().collect::<Vec<_>>().join(" ");
        let error = AppError::new(ErrorCode::InvalidParams, message);
        if let Ok(line) = output::json_line(&commands::ErrorOutput { error: &error }) {
            let _ = writeln!(console.stdout, "{line}");
        }
    }
    code
}
