//! The write commands of the CLI (`add`, `adopt`, `move`, `remove`, `include`,
//! `exclude`) driven in-process on real temporary projects: the exact bytes of the
//! registry and declarations they write, user files left untouched byte for byte, the
//! `--json` write-result shape, refusals and usage errors that change nothing. The
//! helpers here are shared with `cli_recovery.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::{Value, json};

use crate::cli::{Project, declaration, registry};
use crate::fixture_text::{U1, U2};

/// Bytes no tool would write by accident, so an untouched input is recognisable.
pub(crate) const HERO: &[u8] = b"\x89PNG\r\n\x1a\n user pixels \x00\xff";

/// An empty project made by `init`.
pub(crate) fn fresh() -> Project {
    let project = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    let init = project.run_in(".", &["init"]);
    assert_eq!(init.code, 0, "{init:?}");
    project
}

/// Two registered blob assets: 1 at `sprites/hero` (input `hero.bin`), 2 at
/// `audio/jump` (input `jump.bin`).
fn two_assets() -> Project {
    let project = Project::new(&[
        (
            ".prometeu/index.json",
            &registry(&[(1, U1, "sprites/hero"), (2, U2, "audio/jump")]),
        ),
        (
            "sprites/hero/asset.json",
            &declaration(U1, "hero", &["hero.bin"]),
        ),
        (
            "audio/jump/asset.json",
            &declaration(U2, "jump", &["jump.bin"]),
        ),
        ("audio/jump/jump.bin", "jump samples"),
    ]);
    project.put("sprites/hero/hero.bin", HERO);
    project
}

/// `index.json` as the packer writes it: `(id, uuid, root, included)` per entry.
pub(crate) fn index(next: u64, entries: &[(u64, &str, &str, bool)]) -> String {
    if entries.is_empty() {
        return format!(
            "{{\n  \"schema_version\": 1,\n  \"next_asset_id\": {next},\n  \"assets\": []\n}}\n"
        );
    }
    let lines: Vec<String> = entries
        .iter()
        .map(|(id, uuid, root, included)| {
            format!(r#"    {{ "asset_id": {id}, "asset_uuid": "{uuid}", "root": "{root}", "included_in_build": {included} }}"#)
        })
        .collect();
    format!(
        "{{\n  \"schema_version\": 1,\n  \"next_asset_id\": {next},\n  \"assets\": [\n{}\n  ]\n}}\n",
        lines.join(",\n")
    )
}

/// The asset shape (SPEC §5.1) of a blob asset in good health.
pub(crate) fn blob_view(
    id: u64,
    uuid: &str,
    root: &str,
    name: &str,
    inputs: &[&str],
    included: bool,
) -> Value {
    json!({
        "asset_id": id, "asset_uuid": uuid, "root": root, "name": name, "kind": "blob",
        "inputs": inputs, "output": {}, "included_in_build": included, "status": "ok"
    })
}

pub(crate) fn path(project: &Project, relative: &str) -> PathBuf {
    project.root().join("assets").join(relative)
}

pub(crate) fn read(project: &Project, relative: &str) -> String {
    std::fs::read_to_string(path(project, relative)).unwrap()
}

/// A file's bytes and mtime: equal before and after means it was not touched.
pub(crate) fn file_state(project: &Project, relative: &str) -> (Vec<u8>, SystemTime) {
    let full = path(project, relative);
    let bytes = std::fs::read(&full).unwrap();
    (bytes, std::fs::metadata(&full).unwrap().modified().unwrap())
}

pub(crate) fn exists(project: &Project, relative: &str) -> bool {
    std::fs::symlink_metadata(path(project, relative)).is_ok()
}

/// The names in `assets/.prometeu/tx/` (transactions in flight or interrupted).
pub(crate) fn transactions(project: &Project) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(path(project, ".prometeu/tx")) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

/// The project's tree without the advisory lock file, which every runtime creates when
/// it opens the project (it is transient and ignored by git), and without the mtime of
/// `.prometeu` itself, which creating the lock file moves.
pub(crate) fn tree_but_lock(project: &Project) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
    let mut tree = project.tree();
    tree.remove(Path::new("assets/.prometeu/lock"));
    tree.remove(Path::new("assets/.prometeu"));
    tree
}

/// The uuid written in a declaration.
pub(crate) fn uuid_of(text: &str) -> String {
    let value: Value = serde_json::from_str(text).unwrap();
    let uuid = value["asset_uuid"].as_str().unwrap().to_owned();
    let parsed = uuid::Uuid::parse_str(&uuid).unwrap();
    assert_eq!(
        parsed.hyphenated().to_string(),
        uuid,
        "not lower-case hyphenated"
    );
    uuid
}

#[test]
fn add_on_a_fresh_project_writes_the_declaration_and_registers_it() {
    let project = fresh();
    project.put("sprites/hero/hero.png", HERO);
    let input = file_state(&project, "sprites/hero/hero.png");

    // A root typed with a leading `./` and a trailing `/`, an input with `./`.
    let run = project.run(&[
        "add",
        "./sprites/hero/",
        "--kind",
        "image",
        "--input",
        "./hero.png",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "added asset 1 (sprites/hero) · generation 2\n");
    assert_eq!(run.stderr, "");

    let written = read(&project, "sprites/hero/asset.json");
    let uuid = uuid_of(&written);
    assert_eq!(
        written,
        format!(
            "{{\n  \"schema_version\": 1,\n  \"asset_uuid\": \"{uuid}\",\n  \"name\": \"hero\",\n  \"kind\": \"image\",\n  \"inputs\": [\"hero.png\"],\n  \"output\": {{ \"format\": \"rgba8\" }}\n}}\n"
        )
    );
    assert_eq!(
        read(&project, ".prometeu/index.json"),
        index(2, &[(1, &uuid, "sprites/hero", true)])
    );
    assert_eq!(file_state(&project, "sprites/hero/hero.png"), input);
    // Not even an empty `tx/`: it lives only while a transaction does.
    assert!(!path(&project, ".prometeu/tx").exists());

    // The next process sees it.
    let list = project.run(&["list", "--json"]);
    assert_eq!(list.code, 0, "{list:?}");
    assert_eq!(
        list.json(),
        json!({"generation": 1, "state": "ready", "assets": [{
            "asset_id": 1, "asset_uuid": uuid, "root": "sprites/hero", "name": "hero",
            "kind": "image", "inputs": ["hero.png"], "output": {"format": "rgba8"},
            "included_in_build": true, "status": "ok"
        }]})
    );
    let human = project.run(&["list"]);
    assert!(
        human
            .stdout
            .contains("1   hero  image  sprites/hero  yes    ok"),
        "{human:?}"
    );

    // Name, several inputs and `--exclude`, with `--json`: the write-result shape.
    project.put("audio/jump/a.bin", b"a");
    project.put("audio/jump/b.bin", b"b");
    let run = project.run(&[
        "add",
        "audio/jump",
        "--kind",
        "blob",
        "--input",
        "a.bin",
        "b.bin",
        "--name",
        "Jump!",
        "--exclude",
        "--json",
    ]);
    assert_eq!(run.code, 0, "{run:?}");
    let written = read(&project, "audio/jump/asset.json");
    let jump = uuid_of(&written);
    assert_eq!(
        written,
        format!(
            "{{\n  \"schema_version\": 1,\n  \"asset_uuid\": \"{jump}\",\n  \"name\": \"Jump!\",\n  \"kind\": \"blob\",\n  \"inputs\": [\"a.bin\", \"b.bin\"],\n  \"output\": {{}}\n}}\n"
        )
    );
    assert_eq!(
        run.json(),
        json!({"generation": 2, "command_id": 1,
               "asset": blob_view(2, &jump, "audio/jump", "Jump!", &["a.bin", "b.bin"], false)})
    );
    assert_eq!(
        read(&project, ".prometeu/index.json"),
        index(
            3,
            &[
                (1, &uuid, "sprites/hero", true),
                (2, &jump, "audio/jump", false)
            ]
        )
    );
}

#[test]
fn adopt_registers_an_unregistered_folder_and_keeps_its_file() {
    let project = fresh();
    // Hand-written, with its own formatting: adopting must not rewrite it.
    let hand = format!(
        "{{\"schema_version\":1,\"asset_uuid\":\"{U1}\",\n\t\"name\":\"coin\",\"kind\":\"blob\",\"inputs\":[\"coin.bin\"]}}"
    );
    project.put("sfx/coin/asset.json", hand.as_bytes());
    project.put("sfx/coin/coin.bin", b"coin");
    project.put(
        "sfx/bell/asset.json",
        declaration(U2, "bell", &["bell.bin"]).as_bytes(),
    );
    project.put("sfx/bell/bell.bin", b"bell");
    let coin = file_state(&project, "sfx/coin/asset.json");
    let bell = file_state(&project, "sfx/bell/asset.json");
    assert_eq!(
        project.run(&["status", "--json"]).json()["state"],
        "diverged"
    );

    let run = project.run(&["adopt", "sfx/coin/", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({"generation": 2, "command_id": 1,
               "asset": blob_view(1, U1, "sfx/coin", "coin", &["coin.bin"], true)})
    );
    let human = project.run(&["adopt", "sfx/bell"]);
    assert_eq!(human.code, 0, "{human:?}");
    assert_eq!(human.stdout, "adopted asset 2 (sfx/bell) · generation 2\n");

    assert_eq!(file_state(&project, "sfx/coin/asset.json"), coin);
    assert_eq!(file_state(&project, "sfx/bell/asset.json"), bell);
    assert_eq!(
        read(&project, ".prometeu/index.json"),
        index(3, &[(1, U1, "sfx/coin", true), (2, U2, "sfx/bell", true)])
    );
    assert_eq!(
        project.run(&["status", "--json"]).json(),
        json!({"generation": 1, "state": "ready", "drifts": []})
    );
}

#[test]
fn move_renames_the_folder_and_repoints_the_registry() {
    let project = two_assets();
    let declaration_before = file_state(&project, "sprites/hero/asset.json");
    let input_before = file_state(&project, "sprites/hero/hero.bin");

    let run = project.run(&["move", "sprites/hero", "characters/hero/"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stdout,
        "moved asset 1 (sprites/hero -> characters/hero) · generation 2\n"
    );
    assert!(!exists(&project, "sprites/hero"));
    // Moved by rename: the same files, content and mtime.
    assert_eq!(
        file_state(&project, "characters/hero/asset.json"),
        declaration_before
    );
    assert_eq!(
        file_state(&project, "characters/hero/hero.bin"),
        input_before
    );
    assert_eq!(
        read(&project, ".prometeu/index.json"),
        index(
            3,
            &[
                (1, U1, "characters/hero", true),
                (2, U2, "audio/jump", true)
            ]
        )
    );

    let run = project.run(&["move", U2, "sfx/jump", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({"generation": 2, "command_id": 1,
               "asset": blob_view(2, U2, "sfx/jump", "jump", &["jump.bin"], true)})
    );
    assert!(!exists(&project, "audio/jump"));
    assert_eq!(read(&project, "sfx/jump/jump.bin"), "jump samples");
    assert_eq!(
        read(&project, ".prometeu/index.json"),
        index(
            3,
            &[(1, U1, "characters/hero", true), (2, U2, "sfx/jump", true)]
        )
    );
    assert_eq!(
        project.run(&["status", "--json"]).json(),
        json!({"generation": 1, "state": "ready", "drifts": []})
    );
}

#[test]
fn remove_deletes_the_declaration_and_keeps_the_inputs() {
    let project = two_assets();
    let input = file_state(&project, "sprites/hero/hero.bin");

    let run = project.run(&["remove", "sprites/hero", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.json(), json!({"generation": 2, "command_id": 1}));
    assert!(!exists(&project, "sprites/hero/asset.json"));
    assert_eq!(file_state(&project, "sprites/hero/hero.bin"), input);
    assert_eq!(
        read(&project, ".prometeu/index.json"),
        index(3, &[(2, U2, "audio/jump", true)])
    );

    let run = project.run(&["remove", U2]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout, "removed asset 2 (audio/jump) · generation 2\n");
    assert_eq!(
        run.stderr,
        "its asset.json was deleted; the input files in audio/jump were kept\n"
    );
    assert_eq!(read(&project, "audio/jump/jump.bin"), "jump samples");
    assert_eq!(read(&project, ".prometeu/index.json"), index(3, &[]));

    // Ids are never reused: the next asset is 3.
    let run = project.run(&[
        "add",
        "sprites/hero",
        "--kind",
        "blob",
        "--input",
        "hero.bin",
        "-q",
    ]);
    // `-q`: the exit code is the confirmation.
    assert_eq!(
        (run.code, run.stdout.as_str(), run.stderr.as_str()),
        (0, "", "")
    );
    assert!(read(&project, ".prometeu/index.json").contains("\"asset_id\": 3"));
    assert_eq!(file_state(&project, "sprites/hero/hero.bin"), input);
}

#[test]
fn include_and_exclude_flip_included_in_build() {
    let project = two_assets();
    let original = read(&project, ".prometeu/index.json");
    let declaration_before = file_state(&project, "sprites/hero/asset.json");

    let run = project.run(&["exclude", "1", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({"generation": 2, "command_id": 1,
               "asset": blob_view(1, U1, "sprites/hero", "hero", &["hero.bin"], false)})
    );
    assert_eq!(
        read(&project, ".prometeu/index.json"),
        index(
            3,
            &[(1, U1, "sprites/hero", false), (2, U2, "audio/jump", true)]
        )
    );
    let human = project.run(&["exclude", "./audio/jump/"]);
    assert_eq!(
        human.stdout,
        "excluded asset 2 (audio/jump) from the build · generation 2\n"
    );

    let run = project.run(&["include", U1, "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({"generation": 2, "command_id": 1,
               "asset": blob_view(1, U1, "sprites/hero", "hero", &["hero.bin"], true)})
    );
    let human = project.run(&["include", "2"]);
    assert_eq!(
        human.stdout,
        "included asset 2 (audio/jump) in the build · generation 2\n"
    );
    // Back where it started, byte for byte; the declaration was never touched.
    assert_eq!(read(&project, ".prometeu/index.json"), original);
    assert_eq!(
        file_state(&project, "sprites/hero/asset.json"),
        declaration_before
    );

    // Asking again for what already is: said so, and nothing is written.
    let registry_before = file_state(&project, ".prometeu/index.json");
    let again = project.run(&["include", "2"]);
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (
            0,
            "nothing to change: the asset is already included · generation 1\n"
        )
    );
    let run = project.run(&["include", "1", "--json"]);
    assert_eq!(
        run.json(),
        json!({"generation": 1, "command_id": 1,
               "asset": blob_view(1, U1, "sprites/hero", "hero", &["hero.bin"], true)})
    );
    assert_eq!(
        file_state(&project, ".prometeu/index.json"),
        registry_before
    );
}

#[test]
fn refused_writes_exit_1_with_their_code_and_change_nothing() {
    let project = two_assets();
    project.put("loose/l.bin", b"l");
    let cases: &[(&[&str], &str, &str)] = &[
        (
            &["add", "sprites/hero", "--kind", "blob", "--input", "x.bin"],
            "invalid",
            "`sprites/hero` is already the root of asset 1",
        ),
        (
            &[
                "add",
                "sprites/hero/inner",
                "--kind",
                "blob",
                "--input",
                "x.bin",
            ],
            "invalid",
            "would be nested",
        ),
        (
            &[
                "add", "loose", "--kind", "blob", "--input", "l.bin", "--name", " ",
            ],
            "invalid",
            "the name is empty",
        ),
        (
            &["move", "1", "audio/jump/hero"],
            "invalid",
            "would be nested",
        ),
        (
            &["move", "1", "audio/jump"],
            "invalid",
            "`audio/jump` is already the root of asset 2",
        ),
        (
            &["remove", "9"],
            "not_found",
            "no registered asset has asset id 9",
        ),
        (
            &["include", "no/such/root"],
            "not_found",
            "no registered asset has asset root `no/such/root`",
        ),
        (
            &["adopt", "loose"],
            "not_found",
            "`loose` holds no unregistered asset.json",
        ),
    ];
    // The first write creates the lock file; everything else must stay as it is.
    let before = tree_but_lock(&project);
    for (args, code, message) in cases {
        let mut argv = args.to_vec();
        argv.push("--json");
        let run = project.run(&argv);
        assert_eq!(run.code, 1, "{args:?}: {run:?}");
        let error = run.json();
        assert_eq!(error["error"]["code"], *code, "{args:?}: {run:?}");
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains(message),
            "{args:?}: {run:?}"
        );
        let reason = if *code == "not_found" {
            "invalid"
        } else {
            code
        };
        assert!(
            run.stderr.starts_with(&format!(
                "command 1: write rejected ({reason}); nothing was written\nerror: "
            )),
            "{args:?}: {run:?}"
        );
        assert_eq!(tree_but_lock(&project), before, "{args:?} wrote something");
        assert_eq!(transactions(&project), Vec::<String>::new());
    }
    // Human form: the reason on stderr, nothing on stdout.
    let run = project.run(&["remove", "9"]);
    assert_eq!((run.code, run.stdout.as_str()), (1, ""));
    assert!(
        run.stderr
            .ends_with("error: no registered asset has asset id 9\n")
    );
    // `-q` silences the note, never the error.
    let run = project.run(&["remove", "9", "-q"]);
    assert_eq!(run.stderr, "error: no registered asset has asset id 9\n");
}

/// A command never overwrites an `asset.json` it did not decide on: one that is already
/// in the folder (seen by the snapshot: refused as `invalid`, pointing at `adopt`), or
/// anything that takes its place on disk unseen (refused as `conflict`).
#[test]
fn add_never_overwrites_an_existing_declaration() {
    let project = fresh();
    let hand = format!(
        "{{ \"schema_version\": 1, \"asset_uuid\": \"{U1}\", \"name\": \"mine\", \"kind\": \"data\", \"inputs\": [\"m.json\"] }}\n"
    );
    project.put("data/mine/asset.json", hand.as_bytes());
    project.put("data/mine/m.json", b"{}");
    // Not even valid: still somebody's file.
    project.put("data/broken/asset.json", b"{ \"schema_version\": 1,");
    // A directory where the declaration would go.
    std::fs::create_dir_all(path(&project, "data/odd/asset.json")).unwrap();
    project.put("data/odd/o.bin", b"o");
    let before = tree_but_lock(&project);

    let run = project.run(&[
        "add",
        "data/mine",
        "--kind",
        "blob",
        "--input",
        "m.json",
        "--json",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.json(),
        json!({"error": {"code": "invalid",
            "message": "`data/mine` already holds an asset.json; adopt it instead (`prometeu-packer adopt`)",
            "detail": {"command_id": 1, "generation": 1}}})
    );
    let run = project.run(&[
        "add",
        "data/broken",
        "--kind",
        "blob",
        "--input",
        "b.bin",
        "--json",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.json()["error"]["code"], "invalid");
    let run = project.run(&[
        "add", "data/odd", "--kind", "blob", "--input", "o.bin", "--json",
    ]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(run.json()["error"]["code"], "conflict", "{run:?}");
    assert!(run.stderr.contains("write rejected (conflict)"), "{run:?}");
    // The keys in the order of the protocol's error responses.
    let at = |key: &str| run.stdout.find(&format!("\"{key}\":"));
    assert!(at("detail").is_some(), "{run:?}");
    assert!(
        at("code") < at("message") && at("message") < at("detail"),
        "{run:?}"
    );

    assert_eq!(tree_but_lock(&project), before);
    assert_eq!(read(&project, "data/mine/asset.json"), hand);
    assert_eq!(read(&project, ".prometeu/index.json"), index(1, &[]));
}

#[test]
fn write_usage_errors_exit_2_and_touch_nothing() {
    let project = two_assets();
    let before = project.tree();
    let ours: &[(&[&str], &str)] = &[
        (
            &["add", "../x", "--kind", "blob", "--input", "a"],
            "ROOT `../x` is not a valid asset root: the path has a `..` segment",
        ),
        (
            &["add", "/abs", "--kind", "blob", "--input", "a"],
            "ROOT `/abs` is not a valid asset root: the path is absolute",
        ),
        (
            &["add", ".prometeu/x", "--kind", "blob", "--input", "a"],
            "ROOT `.prometeu/x` is not a valid asset root: the path lies under `.prometeu`",
        ),
        (
            &["add", "x", "--kind", "blob", "--input", "a/"],
            "FILE `a/` is not a valid input path: the path has an empty segment",
        ),
        (
            &["add", "x", "--kind", "blob", "--input", "a\\b"],
            "FILE `a\\b` is not a valid input path: the path contains a backslash",
        ),
        (
            &["adopt", "./"],
            "ROOT `./` is not a valid asset root: the path has a `.` segment",
        ),
        (
            &["move", "1", "../out"],
            "NEW_ROOT `../out` is not a valid asset root",
        ),
        (
            &["move", "../x", "y"],
            "`../x` is neither an asset id, a uuid nor a valid root",
        ),
        (&["remove", "a//b"], "is neither an asset id"),
        (&["exclude", "a/../b"], "is neither an asset id"),
    ];
    for (args, message) in ours {
        let run = project.run(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert!(run.stderr.contains(message), "{args:?}: {run:?}");
        let mut argv = args.to_vec();
        argv.push("--json");
        let run = project.run(&argv);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
        assert_eq!(run.json()["error"]["code"], "invalid_params", "{args:?}");
    }
    let clap: &[&[&str]] = &[
        &["add", "x", "--kind", "blob"],
        &["add", "x", "--input", "a"],
        &["add", "x", "--kind", "sprite", "--input", "a"],
        &["add", "--kind", "blob", "--input", "a"],
        &["move", "1"],
        &["remove"],
        &["include"],
        &["exclude", "1", "2"],
        &["adopt"],
    ];
    for args in clap {
        let run = project.run(args);
        assert_eq!(run.code, 2, "{args:?}: {run:?}");
    }
    let kinds = project.run(&["add", "x", "--kind", "sprite", "--input", "a"]);
    assert!(kinds.stderr.contains("image"), "{kinds:?}");
    // Not even the lock file: a usage error never opens the project.
    assert_eq!(project.tree(), before);
}
