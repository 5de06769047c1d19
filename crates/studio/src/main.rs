//! The `prometeu-studio` binary: finds the project, starts Studio on it, prints the
//! page's address with its token, and runs until interrupted (Ctrl-C, SIGTERM) or
//! asked to stop by the page, then shuts down joining every thread.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use packer_app::observer::ObserverConfig;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;
use studio::container::ContainerConfig;
use studio::server::ServerConfig;
use studio::{Studio, StudioConfig};

/// Prometeu Studio: the Assets Workspace of a project, in your browser.
#[derive(Debug, Parser)]
#[command(name = "prometeu-studio", version)]
struct Args {
    /// The project directory (the one holding assets/.prometeu/index.json). Default: the
    /// nearest such directory at or above the current one.
    #[arg(long, value_name = "DIR")]
    project: Option<PathBuf>,
    /// The port to listen on, on 127.0.0.1 only. Default: any free port.
    #[arg(long, default_value_t = 0)]
    port: u16,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let _ = writeln!(std::io::stderr(), "error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> anyhow::Result<()> {
    let cwd = std::env::current_dir().context("cannot read the current directory")?;
    let project = studio::locate_project(args.project.as_deref(), &cwd)?;
    // Registered before anything starts, so an early Ctrl-C still shuts down cleanly.
    let mut signals = Signals::new([SIGINT, SIGTERM]).context("cannot handle signals")?;
    let signal_handle = signals.handle();
    let studio = Studio::start(StudioConfig {
        project: project.clone(),
        container: ContainerConfig::default(),
        observer: ObserverConfig::default(),
        server: ServerConfig {
            port: args.port,
            ..ServerConfig::default()
        },
    })?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "Prometeu Studio on {}", project.display())?;
        writeln!(out, "open {}", studio.url())?;
        out.flush()?;
    }
    let (interrupted, interrupts) = crossbeam_channel::bounded(1);
    let watcher = std::thread::Builder::new()
        .name("studio-signals".to_owned())
        .spawn(move || {
            if signals.forever().next().is_some() {
                let _ = interrupted.send(());
            }
        })
        .context("cannot start the signal thread")?;
    crossbeam_channel::select! {
        recv(interrupts) -> _ => {}
        recv(studio.stop_requests()) -> _ => {}
    }
    let _ = writeln!(std::io::stderr(), "stopping");
    signal_handle.close();
    let _ = watcher.join();
    studio.shutdown();
    Ok(())
}
