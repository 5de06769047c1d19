//! `cargo xtask ci`: the checks CI runs, in order, stopping at the first failure:
//! formatting, clippy with warnings denied, the API docs with warnings denied (a broken
//! intra-doc link is one), and every test.

use std::process::Command;

use anyhow::{Context, bail};

use crate::workspace_root;

pub fn run() -> anyhow::Result<()> {
    // (name, cargo arguments, RUSTDOCFLAGS if any): rustdoc's warnings are errors for the
    // API docs only, as in `.ci/run`; doctests run as `cargo test` runs them anywhere.
    let steps: [(&str, &[&str], &str); 4] = [
        ("fmt", &["fmt", "--all", "--", "--check"], ""),
        (
            "clippy",
            &[
                "clippy",
                "--workspace",
                "--all-targets",
                "--",
                "-D",
                "warnings",
            ],
            "",
        ),
        ("doc", &["doc", "--workspace", "--no-deps"], "-D warnings"),
        ("test", &["test", "--workspace"], ""),
    ];
    for (name, args, rustdoc_flags) in steps {
        eprintln!("== {name}: cargo {}", args.join(" "));
        let mut command = Command::new(cargo());
        command.args(args).current_dir(workspace_root());
        if !rustdoc_flags.is_empty() {
            command.env("RUSTDOCFLAGS", rustdoc_flags);
        }
        let status = command
            .status()
            .with_context(|| format!("cannot run cargo {name}"))?;
        if !status.success() {
            bail!("`cargo {}` failed ({status})", args.join(" "));
        }
    }
    eprintln!("== ci: all checks passed");
    Ok(())
}

/// The cargo that runs this xtask, so the pinned toolchain is used throughout.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
}
