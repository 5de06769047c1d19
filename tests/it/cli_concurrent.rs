//! Several write commands of the CLI at once on one project, as scripts run in parallel
//! (`xargs -P`) or a person types beside Studio: each is typed against the project as
//! it is, so one whose commit meets another's fresh registry runs again on a new load
//! instead of failing with a `conflict` nobody caused by hand. Every command goes
//! through, ids are issued once each, and nothing is left in `tx/`.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::cli::Project;
use crate::cli_write::{fresh, transactions};

/// Runs `commands` (each the arguments of one CLI invocation) on `project` at once,
/// one thread each, and expects every one to succeed.
fn check(project: &Project, commands: &[Vec<String>]) -> Vec<Value> {
    let runs = std::thread::scope(|scope| {
        let handles: Vec<_> = commands
            .iter()
            .map(|args| {
                scope.spawn(move || {
                    let mut argv: Vec<&str> = args.iter().map(String::as_str).collect();
                    argv.push("--json");
                    project.run(&argv)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect::<Vec<_>>()
    });
    runs.iter()
        .zip(commands)
        .map(|(run, args)| {
            assert_eq!(run.code, 0, "{args:?}: {run:?}");
            run.json()
        })
        .collect()
}

/// `add r<n>` of a blob whose input is `r<n>/in.bin`.
fn add(n: usize) -> Vec<String> {
    [
        "add",
        &format!("r{n}"),
        "--kind",
        "blob",
        "--input",
        "in.bin",
    ]
    .map(str::to_owned)
    .to_vec()
}

#[test]
fn parallel_adds_all_go_through_with_distinct_ids() {
    const COUNT: usize = 8;
    let project = fresh();
    for n in 0..COUNT {
        project.put(&format!("r{n}/in.bin"), b"user bytes");
    }
    let commands: Vec<Vec<String>> = (0..COUNT).map(add).collect();

    let results = check(&project, &commands);

    let ids: BTreeSet<u64> = results
        .iter()
        .map(|result| result["asset"]["asset_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, (1..=COUNT as u64).collect(), "{results:?}");
    let status = project.run(&["status", "--json"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert_eq!(status.json()["state"], "ready", "{status:?}");
    let list = project.run(&["list", "--json"]).json();
    let roots: BTreeSet<&str> = list["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|asset| asset["root"].as_str().unwrap())
        .collect();
    let expected: BTreeSet<String> = (0..COUNT).map(|n| format!("r{n}")).collect();
    assert_eq!(
        roots,
        expected.iter().map(String::as_str).collect(),
        "{list}"
    );
    assert!(transactions(&project).is_empty());
}

/// Commands on assets already registered — excluding and moving — at once: each lands
/// on the registry the others left, none undoes another.
#[test]
fn parallel_changes_of_different_assets_all_land() {
    const COUNT: usize = 6;
    let project = fresh();
    for n in 0..COUNT {
        project.put(&format!("r{n}/in.bin"), b"user bytes");
        let args = add(n);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let added = project.run(&args);
        assert_eq!(added.code, 0, "{added:?}");
    }
    let commands: Vec<Vec<String>> = (0..COUNT)
        .map(|n| {
            let id = (n + 1).to_string();
            if n % 2 == 0 {
                vec!["exclude".to_owned(), id]
            } else {
                vec!["move".to_owned(), id, format!("moved/r{n}")]
            }
        })
        .collect();

    check(&project, &commands);

    let list = project.run(&["list", "--json"]).json();
    let seen: Vec<(u64, String, bool)> = list["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|asset| {
            (
                asset["asset_id"].as_u64().unwrap(),
                asset["root"].as_str().unwrap().to_owned(),
                asset["included_in_build"].as_bool().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(u64, String, bool)> = (0..COUNT)
        .map(|n| {
            if n % 2 == 0 {
                (n as u64 + 1, format!("r{n}"), false)
            } else {
                (n as u64 + 1, format!("moved/r{n}"), true)
            }
        })
        .collect();
    assert_eq!(seen, expected);
    assert!(transactions(&project).is_empty());
}
