//! Loading workspaces described as fixtures into snapshots: project state, asset
//! statuses, drift and diagnostics, each checked against the exact expected rendering.

use packer_domain::snapshot::Snapshot;
use packer_memfs::MemFs;

use crate::fixture_text::{self, U1, U2, U3};

/// The registry as a fixture entry: `(id, uuid, root, included)`, the next id one past
/// the highest.
fn registry(entries: &[(u64, &str, &str, bool)]) -> String {
    let next = entries.iter().map(|e| e.0).max().unwrap_or(0) + 1;
    format!(
        "//- .prometeu/index.json\n{}",
        fixture_text::registry(next, entries)
    )
}

/// An `asset.json` fixture entry of kind `blob` with the given inputs.
fn declaration(root: &str, uuid: &str, inputs: &[&str]) -> String {
    let inputs: Vec<String> = inputs.iter().map(|i| format!("\"{i}\"")).collect();
    format!(
        "//- {root}/asset.json\n{{\n  \"schema_version\": 1,\n  \"asset_uuid\": \"{uuid}\",\n  \"name\": \"{root}\",\n  \"kind\": \"blob\",\n  \"inputs\": [{}]\n}}\n",
        inputs.join(", ")
    )
}

/// Renders what a snapshot says: the state, each asset's status, each drift as JSON and
/// each diagnostic as `severity code file:line:col message`.
fn render(snapshot: &Snapshot) -> String {
    let mut out = format!("state: {}\n", snapshot.state());
    for asset in snapshot.assets() {
        out.push_str(&format!(
            "asset {} {}: {}\n",
            asset.entry.asset_id,
            asset.entry.root,
            serde_json::to_value(asset.status)
                .unwrap()
                .as_str()
                .unwrap()
        ));
    }
    for drift in snapshot.drifts() {
        out.push_str(&format!(
            "drift {}\n",
            serde_json::to_string(drift).unwrap()
        ));
    }
    for d in snapshot.diagnostics() {
        out.push_str(&format!(
            "{} {} {}:{}:{} {}\n",
            d.severity,
            d.code,
            d.file.as_deref().unwrap_or("-"),
            d.line.unwrap_or(0),
            d.column.unwrap_or(0),
            d.message
        ));
    }
    out
}

fn check(fixture: &str, expected: &str) {
    let fs = MemFs::from_fixture(fixture).unwrap();
    let before = fs.dump();
    let snapshot = Snapshot::load(&fs, 7);
    assert_eq!(snapshot.generation(), 7);
    let got = render(&snapshot);
    let expected = expected.replace('\'', "\"");
    assert_eq!(got.trim(), expected.trim(), "\n--- got ---\n{got}");
    // Loading is reading: not a byte, link or folder of the workspace changed.
    assert_eq!(fs.dump(), before);
}

/// Writes a fixture in the subset of the memfs format these tests use (text files,
/// empty folders, links, FIFOs) below `assets`.
fn write_to_disk(fixture: &str, assets: &std::path::Path) {
    std::fs::create_dir_all(assets).unwrap();
    let mut file: Option<(String, Vec<String>)> = None;
    let flush = |file: &mut Option<(String, Vec<String>)>| {
        if let Some((path, mut lines)) = file.take() {
            while lines.last().is_some_and(|l| l.is_empty()) {
                lines.pop();
            }
            let full = assets.join(&path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
            std::fs::write(full, text).unwrap();
        }
    };
    for line in fixture.lines() {
        let Some(header) = line.strip_prefix("//- ") else {
            if let Some((_, lines)) = &mut file {
                lines.push(line.to_owned());
            }
            continue;
        };
        flush(&mut file);
        if let Some(fifo) = header.strip_suffix(" <fifo>") {
            let full = assets.join(fifo);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            make_fifo(&full);
        } else if let Some((link, target)) = header.split_once(" -> ") {
            let full = assets.join(link);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::os::unix::fs::symlink(target, full).unwrap();
        } else if let Some(dir) = header.strip_suffix('/') {
            std::fs::create_dir_all(assets.join(dir)).unwrap();
        } else {
            file = Some((header.to_owned(), Vec::new()));
        }
    }
    flush(&mut file);
}

/// As [`check`], and the same workspace on the real disk loads the same: the disk
/// adapter reads declarations during its walk, memfs after its scan.
fn check_both(fixture: &str, expected: &str) {
    check(fixture, expected);
    let project = tempfile::tempdir().unwrap();
    let assets = project.path().join("assets");
    write_to_disk(fixture, &assets);
    let port = packer_fs::DiskWorkspace::open(&assets).unwrap();
    let got = render(&Snapshot::load(&port, 7));
    let expected = expected.replace('\'', "\"");
    assert_eq!(got.trim(), expected.trim(), "\n--- got on disk ---\n{got}");
}

#[test]
fn a_clean_project_is_ready() {
    let fixture = format!(
        "{}{}//- a/x.bin\n1\n{}//- b/y.bin\n2\n",
        registry(&[(1, U1, "a", true), (2, U2, "b", false)]),
        declaration("a", U1, &["x.bin"]),
        declaration("b", U2, &["y.bin"]),
    );
    check(&fixture, "state: ready\nasset 1 a: ok\nasset 2 b: ok");
}

#[test]
fn an_empty_project_is_ready() {
    check(&registry(&[]), "state: ready");
}

#[test]
fn a_moved_folder_is_root_moved() {
    let fixture = format!(
        "{}{}//- chars/a/x.bin\n1\n",
        registry(&[(1, U1, "a", true)]),
        declaration("chars/a", U1, &["x.bin"]),
    );
    check(
        &fixture,
        "
state: diverged
asset 1 a: moved
drift {'kind':'root_moved','asset_id':1,'from':'a','to':'chars/a'}
warning root_moved assets/.prometeu/index.json:2:1 asset 1: its folder moved from `a` to `chars/a`",
    );
}

#[test]
fn a_deleted_folder_is_root_missing() {
    check(
        &registry(&[(1, U1, "a", true)]),
        "
state: diverged
asset 1 a: missing
drift {'kind':'root_missing','asset_id':1,'root':'a'}
error root_missing assets/.prometeu/index.json:2:1 asset 1: its folder `a` has no asset.json and no moved copy was found",
    );
}

#[test]
fn an_unknown_asset_json_is_unregistered() {
    let fixture = format!(
        "{}{}//- new/x.bin\n1\n",
        registry(&[]),
        declaration("new", U3, &["x.bin"])
    );
    check(
        &fixture,
        &format!(
            "
state: diverged
drift {{'kind':'unregistered_asset','root':'new','asset_uuid':'{U3}'}}
warning unregistered_asset assets/new/asset.json:1:1 `new` holds an asset.json that the registry does not list"
        ),
    );
}

#[test]
fn a_copied_folder_is_a_duplicate_uuid() {
    let fixture = format!(
        "{}{}//- a/x.bin\n1\n{}//- a_copy/x.bin\n1\n",
        registry(&[(1, U1, "a", true)]),
        declaration("a", U1, &["x.bin"]),
        declaration("a_copy", U1, &["x.bin"]),
    );
    check(
        &fixture,
        &format!(
            "
state: diverged
asset 1 a: conflict
drift {{'kind':'duplicate_uuid','asset_id':1,'asset_uuid':'{U1}','roots':['a','a_copy']}}
error duplicate_uuid assets/a_copy/asset.json:1:1 uuid {U1} is declared by `a` and `a_copy`"
        ),
    );
}

/// The diagnostic points at the copy, not at the registered folder, even when the
/// copy's path sorts first.
#[test]
fn a_duplicate_uuid_points_at_the_copy() {
    let fixture = format!(
        "{}{}//- b/x.bin\n1\n{}//- a/x.bin\n1\n",
        registry(&[(1, U1, "b", true)]),
        declaration("b", U1, &["x.bin"]),
        declaration("a", U1, &["x.bin"]),
    );
    check(
        &fixture,
        &format!(
            "
state: diverged
asset 1 b: conflict
drift {{'kind':'duplicate_uuid','asset_id':1,'asset_uuid':'{U1}','roots':['a','b']}}
error duplicate_uuid assets/a/asset.json:1:1 uuid {U1} is declared by `a` and `b`"
        ),
    );
}

#[test]
fn an_edited_uuid_is_a_mismatch() {
    let fixture = format!(
        "{}{}//- a/x.bin\n1\n",
        registry(&[(1, U1, "a", true)]),
        declaration("a", U2, &["x.bin"]),
    );
    check(
        &fixture,
        &format!(
            "
state: diverged
asset 1 a: conflict
drift {{'kind':'uuid_mismatch','asset_id':1,'root':'a','registered_uuid':'{U1}','declared_uuid':'{U2}'}}
error uuid_mismatch assets/a/asset.json:3:17 asset 1: asset.json declares uuid {U2} but the registry has {U1}"
        ),
    );
}

#[test]
fn a_broken_declaration_is_flagged_where_it_breaks() {
    let fixture = format!(
        "{}//- a/asset.json\n{{\n  \"schema_version\": 1,\n  \"asset_uuid\": \"{U1}\",\n  \"name\": \"a\",\n  \"kind\": \"blob\",\n  \"inputs\": [\"x.bin\"],\n  \"colour\": 3\n}}\n//- a/x.bin\n1\n",
        registry(&[(1, U1, "a", true)]),
    );
    check(
        &fixture,
        "
state: ready
asset 1 a: invalid
drift {'kind':'declaration_invalid','asset_id':1,'error':{'file':'assets/a/asset.json','line':7,'column':3,'message':'unknown key `colour` in the declaration'}}
error unknown_key assets/a/asset.json:7:3 unknown key `colour` in the declaration",
    );
}

#[test]
fn a_truncated_declaration_keeps_its_asset_registered() {
    let fixture = format!(
        "{}//- a/asset.json\n{{ \"schema_version\": 1, \"asset_uuid\": \"{U1}\", \"na\n",
        registry(&[(1, U1, "a", true)]),
    );
    check(
        &fixture,
        "
state: ready
asset 1 a: invalid
drift {'kind':'declaration_invalid','asset_id':1,'error':{'file':'assets/a/asset.json','line':1,'column':81,'message':'unterminated string: the line ends inside it'}}
error json_syntax assets/a/asset.json:1:81 unterminated string: the line ends inside it",
    );
}

#[test]
fn a_missing_input_is_flagged_at_its_entry() {
    let fixture = format!(
        "{}{}//- a/x.bin\n1\n",
        registry(&[(1, U1, "a", true)]),
        declaration("a", U1, &["x.bin", "gone.bin"]),
    );
    check(
        &fixture,
        "
state: ready
asset 1 a: invalid
drift {'kind':'input_missing','asset_id':1,'path':'a/gone.bin'}
error input_missing assets/a/asset.json:6:23 the input `gone.bin` does not exist in `a`",
    );
}

#[test]
fn inputs_through_links_must_stay_in_the_root() {
    let fixture = format!(
        "{}{}//- a/real.bin\n1\n//- a/inside.bin -> real.bin\n//- a/sub -> ../b\n//- a/out.bin -> /etc/passwd\n//- a/dangling.bin -> nothing.bin\n//- a/loop.bin -> loop2.bin\n//- a/loop2.bin -> loop.bin\n//- b/x.bin\n2\n",
        registry(&[(1, U1, "a", true)]),
        declaration(
            "a",
            U1,
            &[
                "real.bin",
                "inside.bin",
                "sub/x.bin",
                "out.bin",
                "dangling.bin",
                // A loop of links leads nowhere either.
                "loop.bin"
            ]
        ),
    );
    check(
        &fixture,
        "
state: ready
asset 1 a: invalid
drift {'kind':'declaration_invalid','asset_id':1,'error':{'file':'assets/a/asset.json','line':6,'column':40,'message':'the input `sub/x.bin` is not usable: `a/sub` is a symbolic link that leads outside the asset folder'}}
drift {'kind':'declaration_invalid','asset_id':1,'error':{'file':'assets/a/asset.json','line':6,'column':53,'message':'the input `out.bin` is not usable: it is a symbolic link that leads outside the asset folder'}}
drift {'kind':'input_missing','asset_id':1,'path':'a/dangling.bin'}
drift {'kind':'input_missing','asset_id':1,'path':'a/loop.bin'}
error input_not_confined assets/a/asset.json:6:40 the input `sub/x.bin` is not usable: `a/sub` is a symbolic link that leads outside the asset folder
error input_not_confined assets/a/asset.json:6:53 the input `out.bin` is not usable: it is a symbolic link that leads outside the asset folder
error input_missing assets/a/asset.json:6:64 the input `dangling.bin` does not exist in `a`
error input_missing assets/a/asset.json:6:80 the input `loop.bin` does not exist in `a`",
    );
}

#[test]
fn an_unreadable_registry_fails_the_project() {
    check(
        "//- .prometeu/index.json\n{ \"schema_version\": 1, \"next_asset_id\": \"1\", \"assets\": [] }\n",
        "
state: failed
drift {'kind':'registry_invalid','error':{'file':'assets/.prometeu/index.json','line':1,'column':41,'message':'`next_asset_id` must be a whole number, not a string'}}
error wrong_type assets/.prometeu/index.json:1:41 `next_asset_id` must be a whole number, not a string",
    );
    check(
        "//- a/\n",
        "
state: failed
drift {'kind':'registry_invalid','error':{'file':'assets/.prometeu/index.json','line':1,'column':1,'message':'cannot read assets/.prometeu/index.json: not found'}}
error read_failed assets/.prometeu/index.json:1:1 cannot read assets/.prometeu/index.json: not found",
    );
}

#[test]
fn a_registry_root_escaping_the_workspace_is_refused() {
    check(
        &format!(
            "//- .prometeu/index.json\n{{ \"schema_version\": 1, \"next_asset_id\": 2, \"assets\": [\n{{ \"asset_id\": 1, \"asset_uuid\": \"{U1}\", \"root\": \"../../etc\", \"included_in_build\": true }}\n] }}\n"
        ),
        "
state: failed
drift {'kind':'registry_invalid','error':{'file':'assets/.prometeu/index.json','line':2,'column':80,'message':'the root `../../etc` is not allowed: the path has a `..` segment; it may not leave its base'}}
error invalid_path assets/.prometeu/index.json:2:80 the root `../../etc` is not allowed: the path has a `..` segment; it may not leave its base",
    );
}

#[test]
fn inputs_in_subfolders_and_through_links_inside_resolve() {
    let fixture = format!(
        "{}{}//- a/frames/0.bin\n0\n//- a/sub/x.bin\nx\n//- a/alias.bin -> sub/x.bin\n//- a/linked -> sub\n//- a/deep/one/two.bin\n2\n//- a/up.bin -> ../b/y.bin\n//- b/y.bin\ny\n",
        registry(&[(1, U1, "a", true)]),
        declaration(
            "a",
            U1,
            &[
                "frames/0.bin",
                "frames/9.bin",
                "alias.bin",
                "linked/x.bin",
                "frames",
                "deep/one/two.bin",
                "up.bin"
            ]
        ),
    );
    check_both(
        &fixture,
        "
state: ready
asset 1 a: invalid
drift {'kind':'declaration_invalid','asset_id':1,'error':{'file':'assets/a/asset.json','line':6,'column':75,'message':'the input `frames` is not usable: it is a directory, not a file'}}
drift {'kind':'declaration_invalid','asset_id':1,'error':{'file':'assets/a/asset.json','line':6,'column':105,'message':'the input `up.bin` is not usable: it is a symbolic link that leads outside the asset folder'}}
drift {'kind':'input_missing','asset_id':1,'path':'a/frames/9.bin'}
error input_missing assets/a/asset.json:6:30 the input `frames/9.bin` does not exist in `a`
error input_not_confined assets/a/asset.json:6:75 the input `frames` is not usable: it is a directory, not a file
error input_not_confined assets/a/asset.json:6:105 the input `up.bin` is not usable: it is a symbolic link that leads outside the asset folder",
    );
}

#[test]
fn an_asset_json_is_read_where_its_link_leads_and_only_below_assets() {
    let shared = declaration("shared", U1, &["x.bin"])
        .replace("//- shared/asset.json", "//- shared/decl.json");
    let fixture = format!(
        "{}{shared}//- a/asset.json -> ../shared/decl.json\n//- a/x.bin\n1\n//- asset.json\n{{}}\n//- c/asset.json/\n{}//- d/e/f.bin\nf\n",
        registry(&[(1, U1, "a", true)]),
        declaration("d/e", U3, &["f.bin"]),
    );
    check_both(
        &fixture,
        &format!(
            "
state: diverged
asset 1 a: ok
drift {{'kind':'unregistered_asset','root':'d/e','asset_uuid':'{U3}'}}
warning unregistered_asset assets/d/e/asset.json:1:1 `d/e` holds an asset.json that the registry does not list"
        ),
    );
}

#[test]
fn an_asset_json_linking_out_of_the_workspace_is_not_read() {
    let fixture = format!(
        "{}//- b/asset.json -> ../../outside.json\n",
        registry(&[(2, U2, "b", true)]),
    );
    check(
        &fixture,
        "
state: ready
asset 2 b: invalid
drift {'kind':'declaration_invalid','asset_id':2,'error':{'file':'assets/b/asset.json','line':1,'column':1,'message':'cannot read assets/b/asset.json: leads outside the workspace (a symbolic link on the way leads outside the workspace, or between it and .prometeu)'}}
error input_not_confined assets/b/asset.json:1:1 cannot read assets/b/asset.json: leads outside the workspace (a symbolic link on the way leads outside the workspace, or between it and .prometeu)",
    );
}

/// The code and hint of the one diagnostic of `fixture`, on memfs and on the real disk.
fn only_hint_both(fixture: &str) -> Vec<(String, String)> {
    let fs = MemFs::from_fixture(fixture).unwrap();
    let project = tempfile::tempdir().unwrap();
    let assets = project.path().join("assets");
    write_to_disk(fixture, &assets);
    let port = packer_fs::DiskWorkspace::open(&assets).unwrap();
    [Snapshot::load(&fs, 1), Snapshot::load(&port, 1)]
        .iter()
        .map(|snapshot| {
            let diagnostics = snapshot.diagnostics();
            assert_eq!(diagnostics.len(), 1, "{diagnostics:?}");
            let d = &diagnostics[0];
            (d.code.to_string(), d.hint.clone().unwrap_or_default())
        })
        .collect()
}

#[test]
fn a_link_to_nothing_or_out_of_prometeu_is_not_called_a_permission_problem() {
    // An `asset.json` that is a link to nothing: the scan saw its name, the read found
    // nothing behind it. Permissions have nothing to do with it.
    let dangling = format!(
        "{}//- a/asset.json -> nothing.json\n",
        registry(&[(1, U1, "a", true)])
    );
    let expected = (
        "read_failed".to_owned(),
        "the file is gone or is a symbolic link to nothing; restore it from version control"
            .to_owned(),
    );
    assert_eq!(only_hint_both(&dangling), vec![expected.clone(), expected]);

    // An `index.json` that is a link leading out of `.prometeu`.
    let outside = format!(
        "//- .prometeu/index.json -> ../registry.json\n//- registry.json\n{}",
        fixture_text::registry(1, &[])
    );
    let expected = (
        "read_failed".to_owned(),
        "index.json must be a file inside .prometeu, not a symbolic link out of it".to_owned(),
    );
    assert_eq!(only_hint_both(&outside), vec![expected.clone(), expected]);
}

/// `fixture` written to a temporary project's `assets/`, with a FIFO at `fifo`.
fn on_disk_with_fifo(fixture: &str, fifo: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let project = tempfile::tempdir().unwrap();
    let assets = project.path().join("assets");
    write_to_disk(fixture, &assets);
    make_fifo(&assets.join(fifo));
    (project, assets)
}

/// Makes a FIFO at `path`.
pub(crate) fn make_fifo(path: &std::path::Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .unwrap();
}

/// A FIFO given as an input (directly, or through a link inside the root) is said to be
/// one, not reported missing; it is never opened, which could block the load.
#[test]
fn an_input_that_is_a_fifo_is_not_usable_and_not_missing() {
    let fixture = format!(
        "{}{}//- a/alias -> pipe\n//- a/pipe <fifo>\n",
        registry(&[(1, U1, "a", true)]),
        declaration("a", U1, &["pipe", "alias"]),
    );
    check_both(
        &fixture,
        "
state: ready
asset 1 a: invalid
drift {'kind':'declaration_invalid','asset_id':1,'error':{'file':'assets/a/asset.json','line':6,'column':14,'message':'the input `pipe` is not usable: it is a FIFO, socket or device, not a file'}}
drift {'kind':'declaration_invalid','asset_id':1,'error':{'file':'assets/a/asset.json','line':6,'column':22,'message':'the input `alias` is not usable: it is a FIFO, socket or device, not a file'}}
error input_not_confined assets/a/asset.json:6:14 the input `pipe` is not usable: it is a FIFO, socket or device, not a file
error input_not_confined assets/a/asset.json:6:22 the input `alias` is not usable: it is a FIFO, socket or device, not a file",
    );
}

/// The same FIFO, made an input by a command: the generation derived from the commit
/// says what a fresh load says.
#[test]
fn a_fifo_made_an_input_by_a_commit_is_told_as_a_fresh_load_tells_it() {
    use packer_app::runtime::{Ports, Runtime, WriteRequest};
    use packer_domain::command::{Command, DeclarationChanges};
    use packer_domain::path::AssetPath;
    use packer_domain::registry::AssetId;
    use packer_domain::snapshot::AssetQuery;
    use std::sync::Arc;

    let fixture = format!(
        "{}{}//- a/x.bin\nx\n",
        registry(&[(1, U1, "a", true)]),
        declaration("a", U1, &["x.bin"]),
    );
    let (_project, assets) = on_disk_with_fifo(&fixture, "a/pipe");
    let port = Arc::new(packer_fs::DiskWorkspace::open(&assets).unwrap());
    // Observed, so that the commit derives the next generation instead of loading it.
    let runtime = Runtime::open_observed(
        Ports {
            workspace: port.clone(),
            events: Arc::new(packer_memfs::EventLog::new()),
            clock: Arc::new(packer_fs::SystemClock::new()),
        },
        Arc::new(packer_memfs::ScriptedWatcher::new()),
        crate::observe::config(),
    );
    assert!(runtime.wait_observing(crate::observe::DEADLINE));
    runtime
        .submit(WriteRequest {
            command: Command::UpdateDeclaration {
                asset: AssetQuery::Id(AssetId(1)),
                changes: DeclarationChanges {
                    inputs: Some(vec![AssetPath::new("pipe").unwrap()]),
                    ..DeclarationChanges::default()
                },
            },
            expected_generation: None,
        })
        .unwrap();
    let committed = render(&runtime.snapshot());
    assert!(
        committed.contains("the input `pipe` is not usable: it is a FIFO, socket or device"),
        "{committed}"
    );
    assert_eq!(committed, render(&Snapshot::load(port.as_ref(), 7)));
    runtime.shutdown();
}
