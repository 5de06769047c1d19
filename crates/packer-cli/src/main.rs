//! The `prometeu-packer` binary: the process's real streams and directory handed to the
//! CLI library.

use std::process::ExitCode;

use packer_cli::Console;

fn main() -> ExitCode {
    // Empty when the current folder is gone: the commands that need it say so.
    let cwd = std::env::current_dir().unwrap_or_default();
    // The streams are not locked for the whole run: `serve` and `watch` write from
    // several threads (events come from the runtime's), each line under its own lock.
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    let code = packer_cli::run(
        std::env::args_os(),
        Console {
            stdout: &mut stdout,
            stderr: &mut stderr,
            cwd,
        },
    );
    ExitCode::from(code)
}
