//! `cargo xtask ci`: the checks CI runs, in order, stopping at the first failure:
//! formatting, clippy with warnings denied, the API docs with warnings denied (a broken
//! intra-doc link is one), and every test.

use std::process::Command;

use anyhow::{Context, bail};

use crate::workspace_root;

pub fn run() -> anyhow::Result<()> {
    let steps: [(&str, &[&str]); 4] = [
        ("fmt", &["fmt", "--all", "--", "--check"]),
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
        ),
        ("doc", &["doc", "--workspace", "--no-deps"]),
        ("test", &["test", "--workspace"]),
    ];
    for (name, args) in steps {
        eprintln!("== {name}: cargo {}", args.join(" "));
        let status = Command::new(cargo())
            .args(args)
            // Read by `cargo doc` alone: rustdoc's warnings are errors too.
            .env("RUSTDOCFLAGS", "-D warnings")
            .current_dir(workspace_root())
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
