//! The CLI driven as a user would, in-process on real temporary projects: every read
//! command in human and `--json` form, exit codes, project discovery, malformed files
//! reported at file:line:column — and never a byte written by a read command. The
//! harness here (a project in a temp dir, a run with its streams) is shared with the
//! write commands' tests in `cli_write.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::fixture_text::{U1, U2};

/// A project in a temporary directory.
pub(crate) struct Project {
    pub(crate) dir: TempDir,
}

/// What one invocation printed and returned.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) code: u8,
    pub(crate) stdout: String,
    pub(crate) stderr: String,
}

impl Run {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.stdout))
    }
}

impl Project {
    /// A project whose `assets/` holds `files` (path relative to `assets/`, content).
    pub(crate) fn new(files: &[(&str, &str)]) -> Project {
        let project = Project {
            dir: tempfile::tempdir().unwrap(),
        };
        for (path, content) in files {
            project.put(path, content.as_bytes());
        }
        project
    }

    /// The bundled example project, copied.
    pub(crate) fn demo() -> Project {
        let project = Project {
            dir: tempfile::tempdir().unwrap(),
        };
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/demo-project");
        copy_tree(&source, project.dir.path());
        // Only what the repository holds: a build of the demo in the checkout (the
        // README's first command) leaves its output and cache, which git ignores.
        for derived in ["build", "assets/.prometeu/cache"] {
            let path = project.dir.path().join(derived);
            if path.exists() {
                std::fs::remove_dir_all(path).unwrap();
            }
        }
        project
    }

    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn put(&self, path: &str, bytes: &[u8]) {
        let full = self.root().join("assets").join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, bytes).unwrap();
    }

    /// Runs the CLI from `cwd` (relative to the project root).
    pub(crate) fn run_in(&self, cwd: &str, args: &[&str]) -> Run {
        run_cli(self.root().join(cwd), args)
    }

    /// Runs the CLI with `--project` pointing here.
    pub(crate) fn run(&self, args: &[&str]) -> Run {
        let root = self.root().to_str().unwrap().to_owned();
        let mut argv = vec!["--project", &root];
        argv.extend_from_slice(args);
        self.run_in(".", &argv)
    }

    /// Every file, folder and link below the project with its bytes and mtime.
    pub(crate) fn tree(&self) -> BTreeMap<PathBuf, (Vec<u8>, SystemTime)> {
        let mut out = BTreeMap::new();
        collect(self.root(), self.root(), &mut out);
        out
    }
}

fn collect(base: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, (Vec<u8>, SystemTime)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        let relative = path.strip_prefix(base).unwrap().to_path_buf();
        let bytes = if meta.is_file() {
            std::fs::read(&path).unwrap()
        } else if meta.is_symlink() {
            std::fs::read_link(&path)
                .unwrap()
                .into_os_string()
                .into_encoded_bytes()
        } else {
            Vec::new()
        };
        out.insert(relative, (bytes, meta.modified().unwrap()));
        if meta.is_dir() {
            collect(base, &path, out);
        }
    }
}

/// Runs the CLI in-process from the folder `cwd` (empty: a current folder it cannot
/// know) with `args`.
pub(crate) fn run_cli(cwd: PathBuf, args: &[&str]) -> Run {
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    let mut argv = vec!["prometeu-packer"];
    argv.extend_from_slice(args);
    let code = packer_cli::run(
        argv,
        packer_cli::Console {
            stdout: &mut stdout,
            stderr: &mut stderr,
            cwd,
        },
    );
    Run {
        code,
        stdout: String::from_utf8(stdout).unwrap(),
        stderr: String::from_utf8(stderr).unwrap(),
    }
}

pub(crate) fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

pub(crate) fn registry(entries: &[(u64, &str, &str)]) -> String {
    let next = entries.iter().map(|e| e.0).max().unwrap_or(0) + 1;
    let lines: Vec<String> = entries
        .iter()
        .map(|(id, uuid, root)| {
            format!(r#"    {{ "asset_id": {id}, "asset_uuid": "{uuid}", "root": "{root}", "included_in_build": true }}"#)
        })
        .collect();
    format!(
        "{{\n  \"schema_version\": 1,\n  \"next_asset_id\": {next},\n  \"assets\": [\n{}\n  ]\n}}\n",
        lines.join(",\n")
    )
}

pub(crate) fn declaration(uuid: &str, name: &str, inputs: &[&str]) -> String {
    let inputs: Vec<String> = inputs.iter().map(|i| format!("\"{i}\"")).collect();
    format!(
        "{{\n  \"schema_version\": 1,\n  \"asset_uuid\": \"{uuid}\",\n  \"name\": \"{name}\",\n  \"kind\": \"blob\",\n  \"inputs\": [{}]\n}}\n",
        inputs.join(", ")
    )
}

/// Two registered blob assets in good health, 1 `sprites/hero` (input `hero.bin`) and 2
/// `audio/jump` (input `jump.bin`), with `extra` files beside them. Asset 1's files are
/// at `hero_root`: anywhere but `sprites/hero`, it was moved by hand.
pub(crate) fn hero_and_jump(hero_root: &str, extra: &[(&str, &str)]) -> Project {
    let registry = registry(&[(1, U1, "sprites/hero"), (2, U2, "audio/jump")]);
    let hero = declaration(U1, "hero", &["hero.bin"]);
    let jump = declaration(U2, "jump", &["jump.bin"]);
    let hero_declaration = format!("{hero_root}/asset.json");
    let hero_input = format!("{hero_root}/hero.bin");
    let mut files = vec![
        (".prometeu/index.json", registry.as_str()),
        (hero_declaration.as_str(), hero.as_str()),
        (hero_input.as_str(), "hero"),
        ("audio/jump/asset.json", jump.as_str()),
        ("audio/jump/jump.bin", "jump"),
    ];
    files.extend_from_slice(extra);
    Project::new(&files)
}

/// Every read command, human and JSON, on `project`; asserts that none wrote anything.
pub(crate) fn read_everything(project: &Project) -> Vec<Run> {
    let before = project.tree();
    let runs: Vec<Run> = [
        &["list"][..],
        &["list", "--json"],
        &["status"],
        &["status", "--json"],
        &["doctor"],
        &["doctor", "--json"],
        &["show", "1"],
        &["show", "1", "--json"],
    ]
    .iter()
    .map(|args| project.run(args))
    .collect();
    assert_eq!(project.tree(), before, "a read command changed the project");
    runs
}

#[test]
fn init_creates_a_project_and_refuses_to_overwrite_it() {
    let dir = tempfile::tempdir().unwrap();
    let project = Project { dir };
    let run = project.run_in(".", &["init", "game", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.json(),
        json!({"created": ["assets/.prometeu/.gitignore", "assets/.prometeu/index.json"], "kept": []})
    );
    let prometeu = project.root().join("game/assets/.prometeu");
    assert_eq!(
        std::fs::read_to_string(prometeu.join("index.json")).unwrap(),
        "{\n  \"schema_version\": 1,\n  \"next_asset_id\": 1,\n  \"assets\": []\n}\n"
    );
    let gitignore = std::fs::read_to_string(prometeu.join(".gitignore")).unwrap();
    for line in ["tx/", "lock", "cache/"] {
        assert!(gitignore.lines().any(|l| l == line), "{gitignore}");
    }
    // Nothing staged is left beside the files.
    let mut names: Vec<String> = std::fs::read_dir(&prometeu)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, [".gitignore", "index.json"]);

    let before = project.tree();
    let again = project.run_in(".", &["init", "game"]);
    assert_eq!(again.code, 1, "{again:?}");
    assert!(again.stderr.contains("already exists"), "{again:?}");
    assert_eq!(project.tree(), before);

    // The new project is found by walking up from a folder inside it.
    std::fs::create_dir_all(project.root().join("game/assets/sprites")).unwrap();
    let status = project.run_in("game/assets/sprites", &["status", "--json"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert_eq!(
        status.json(),
        json!({"generation": 1, "state": "ready", "drifts": []})
    );
}

/// `--project DIR` names the project for every command, `init` included: it creates
/// the project there, never in the current folder. Two different folders are a usage
/// error, and nothing is created.
#[test]
fn init_creates_the_project_that_project_names() {
    let project = Project {
        dir: tempfile::tempdir().unwrap(),
    };
    std::fs::create_dir(project.root().join("here")).unwrap();
    let run = project.run_in("here", &["--project", "../game", "init"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        project
            .root()
            .join("game/assets/.prometeu/index.json")
            .is_file()
    );
    assert!(!project.root().join("here/assets").exists(), "{run:?}");
    // The same folder given both ways is that folder.
    let again = project.run_in("here", &["--project", "../again", "init", "../again"]);
    assert_eq!(again.code, 0, "{again:?}");
    assert!(
        project
            .root()
            .join("again/assets/.prometeu/index.json")
            .is_file()
    );

    let before = project.tree();
    let both = project.run_in("here", &["--project", "../one", "init", "../two", "--json"]);
    assert_eq!(both.code, 2, "{both:?}");
    assert_eq!(both.json()["error"]["code"], "invalid_params", "{both:?}");
    assert_eq!(project.tree(), before, "a refused init wrote");
}

#[test]
fn outside_a_project_it_says_so() {
    let project = Project::new(&[]);
    let run = project.run_in(".", &["list"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no Prometeu project here"), "{run:?}");
    let run = project.run(&["status", "--json"]);
    assert_eq!(run.code, 1);
    assert_eq!(run.json()["error"]["code"], "io");
}

#[test]
fn usage_errors_exit_2() {
    let project = Project::new(&[]);
    assert_eq!(project.run_in(".", &["frobnicate"]).code, 2);
    assert_eq!(project.run_in(".", &["show"]).code, 2);
    let bad_asset = project.run(&["show", "../x"]);
    assert_eq!(bad_asset.code, 2, "{bad_asset:?}");
    let help = project.run_in(".", &["--help"]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.contains("doctor"));
}

#[test]
fn the_demo_project_is_clean() {
    let project = Project::demo();
    let runs = read_everything(&project);
    for run in &runs {
        assert_eq!(run.code, 0, "{run:?}");
    }
    let list = project.run(&["list", "--json"]).json();
    assert_eq!(list["state"], "ready");
    let assets = list["assets"].as_array().unwrap();
    assert!(assets.len() >= 12);
    let kinds: std::collections::BTreeSet<&str> =
        assets.iter().map(|a| a["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["audio", "blob", "data", "image"]
    );
    assert_eq!(
        assets
            .iter()
            .filter(|a| a["included_in_build"] == false)
            .count(),
        1
    );
    assert!(assets.iter().all(|a| a["status"] == "ok"));
    assert!(
        project
            .run(&["doctor"])
            .stdout
            .contains("no problems found")
    );
}

#[test]
fn show_finds_an_asset_by_id_uuid_or_root() {
    let project = Project::new(&[
        (
            ".prometeu/index.json",
            &registry(&[(1, U1, "sprites/hero")]),
        ),
        (
            "sprites/hero/asset.json",
            &declaration(U1, "hero", &["hero.bin"]),
        ),
        ("sprites/hero/hero.bin", "x"),
    ]);
    let expected = json!({
        "generation": 1,
        "asset": {
            "asset_id": 1, "asset_uuid": U1, "root": "sprites/hero", "name": "hero",
            "kind": "blob", "inputs": ["hero.bin"], "output": {}, "included_in_build": true,
            "status": "ok"
        }
    });
    for name in ["1", U1, "sprites/hero", "sprites/hero/"] {
        let run = project.run(&["show", name, "--json"]);
        assert_eq!(run.code, 0, "{run:?}");
        assert_eq!(run.json(), expected, "{name}");
    }
    let missing = project.run(&["show", "9", "--json"]);
    assert_eq!(missing.code, 1);
    assert_eq!(missing.json()["error"]["code"], "not_found");
    let human = project.run(&["show", "sprites/hero"]);
    assert!(human.stdout.contains("asset 1: hero"), "{human:?}");
}

/// An asset with no declaration at its root says why in `show`'s first line: moved
/// elsewhere, gone, or a file that cannot be read.
#[test]
fn show_says_why_an_asset_has_no_declaration() {
    let project = Project::new(&[
        (
            ".prometeu/index.json",
            &registry(&[(1, U1, "sprites/hero"), (2, U2, "sprites/gone")]),
        ),
        (
            "moved/hero/asset.json",
            &declaration(U1, "hero", &["hero.bin"]),
        ),
        ("moved/hero/hero.bin", "x"),
    ]);
    let first_line = |asset: &str| {
        let run = project.run(&["show", asset]);
        assert_eq!(run.code, 0, "{run:?}");
        run.stdout.lines().next().unwrap_or_default().to_owned()
    };
    assert_eq!(
        first_line("1"),
        "asset 1: (its folder moved: see the drift below)"
    );
    assert_eq!(first_line("2"), "asset 2: (its folder is gone)");
    project.put("sprites/gone/asset.json", b"{ not json");
    assert_eq!(first_line("2"), "asset 2: (declaration unreadable)");
}

#[test]
fn every_drift_kind_is_reported_without_writing() {
    let project = Project::new(&[
        (
            ".prometeu/index.json",
            &registry(&[
                (1, U1, "moved_from"),
                (2, U2, "gone"),
                (3, "33333333-3333-4333-8333-333333333333", "broken"),
            ]),
        ),
        (
            "elsewhere/moved/asset.json",
            &declaration(U1, "moved", &["a.bin"]),
        ),
        ("elsewhere/moved/a.bin", "a"),
        (
            "broken/asset.json",
            "{ \"schema_version\": 1, \"asset_uuid\": 7 }\n",
        ),
        (
            "fresh/asset.json",
            &declaration("44444444-4444-4444-8444-444444444444", "fresh", &["f.bin"]),
        ),
        ("fresh/f.bin", "f"),
    ]);
    let runs = read_everything(&project);
    let status = project.run(&["status", "--json"]).json();
    assert_eq!(status["state"], "diverged");
    let kinds: Vec<&str> = status["drifts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "root_moved",
            "root_missing",
            "declaration_invalid",
            "unregistered_asset"
        ]
    );
    assert_eq!(
        status["drifts"][2]["error"],
        json!({"file": "assets/broken/asset.json", "line": 1, "column": 38,
               "message": "`asset_uuid` must be a string, not a number"})
    );
    // doctor: exit 1, each error with its place and the offending line under a caret.
    let doctor = &runs[4];
    assert_eq!(doctor.code, 1, "{doctor:?}");
    assert!(
        doctor.stdout.contains(
            "error[wrong_type]: `asset_uuid` must be a string, not a number\n  --> assets/broken/asset.json:1:38\n   |\n 1 | { \"schema_version\": 1, \"asset_uuid\": 7 }\n   |                                      ^\n"
        ),
        "{}",
        doctor.stdout
    );
    let list = project.run(&["list", "--json"]).json();
    let statuses: Vec<&str> = list["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["moved", "missing", "invalid"]);
    assert_eq!(list["assets"][2]["name"], Value::Null);
    assert_eq!(list["assets"][2]["inputs"], Value::Null);
}

/// Malformed registries: the project is `failed`, every command says where, nothing is
/// written, nothing panics.
#[test]
fn malformed_registries_are_reported_at_their_place() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "{\n  \"schema_version\": 1,\n  \"next_asset_id\": 1,\n  \"assets\": [",
            "index.json:4:14",
            "json_syntax",
        ),
        (
            "{\"schema_version\": 1, \"next_asset_id\": 1, \"assets\": [], \"extra\": true}",
            "index.json:1:57",
            "unknown_key",
        ),
        (
            "{\"schema_version\": 9, \"next_asset_id\": 1, \"assets\": []}",
            "index.json:1:20",
            "schema_too_new",
        ),
        (
            "{\"schema_version\": 1, \"next_asset_id\": true, \"assets\": []}",
            "index.json:1:40",
            "wrong_type",
        ),
        (
            "{\"schema_version\": 1, \"schema_version\": 1}",
            "index.json:1:23",
            "json_syntax",
        ),
        ("\u{feff}[", "index.json:1:2", "json_syntax"),
        ("{\"a\": \"\u{7f}\u{0}\"}", "index.json:1:9", "json_syntax"),
    ];
    for (text, place, code) in cases {
        let project = Project::new(&[(".prometeu/index.json", text)]);
        let runs = read_everything(&project);
        let status = project.run(&["status", "--json"]);
        assert_eq!(status.code, 1, "{text}: {status:?}");
        assert_eq!(status.json()["state"], "failed");
        let doctor = project.run(&["doctor", "--json"]).json();
        let first = &doctor["diagnostics"][0];
        let got = format!(
            "{}:{}:{}",
            first["file"].as_str().unwrap().rsplit('/').next().unwrap(),
            first["line"],
            first["column"]
        );
        assert_eq!(
            (got.as_str(), first["code"].as_str().unwrap()),
            (*place, *code),
            "{text}"
        );
        // `list` and `show` refuse plainly; `doctor` exits 1.
        for run in &runs[..2] {
            assert_eq!(run.code, 1, "{run:?}");
            assert!(run.stderr.contains("registry cannot be read"), "{run:?}");
        }
        assert_eq!(runs[4].code, 1);
    }
}

#[test]
fn hostile_inputs_never_panic_or_escape() {
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let huge = format!(
        "{{\"schema_version\": 1, \"pad\": \"{}\"}}",
        "x".repeat(2 << 20)
    );
    let project = Project::new(&[
        (
            ".prometeu/index.json",
            &registry(&[
                (1, U1, "deep"),
                (2, U2, "huge"),
                (3, "33333333-3333-4333-8333-333333333333", "escape"),
            ]),
        ),
        ("deep/asset.json", &deep),
        ("huge/asset.json", &huge),
        (
            "escape/asset.json",
            &declaration(
                "33333333-3333-4333-8333-333333333333",
                "escape",
                &["../deep/asset.json"],
            ),
        ),
    ]);
    project.put("bad/asset.json", b"{\"name\": \"\xff\xfe\"}");
    // A symlinked input pointing outside the project, and one to a secret file.
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "secret").unwrap();
    project.put(
        "linked/asset.json",
        declaration(
            "55555555-5555-4555-8555-555555555555",
            "linked",
            &["secret.txt"],
        )
        .as_bytes(),
    );
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        project.root().join("assets/linked/secret.txt"),
    )
    .unwrap();
    let runs = read_everything(&project);
    let doctor = project.run(&["doctor", "--json"]).json();
    let codes: Vec<String> = doctor["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            format!(
                "{} {}",
                d["code"].as_str().unwrap(),
                d["file"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        codes,
        [
            "json_syntax assets/deep/asset.json",
            "file_too_large assets/huge/asset.json",
            "invalid_path assets/escape/asset.json",
            "unregistered_asset assets/bad/asset.json",
            "json_syntax assets/bad/asset.json",
            "unregistered_asset assets/linked/asset.json",
            "input_not_confined assets/linked/asset.json",
        ]
        .map(String::from)
    );
    assert_eq!(runs[4].code, 1);
    // The secret never appears in any output.
    for run in &runs {
        assert!(!run.stdout.contains("secret\n") && !run.stderr.contains("secret\n"));
    }
}
