//! The build through the runtime on memfs: what is packed and in which order, every
//! refusal (failed project, broken included assets, undecodable inputs) naming the asset,
//! the file and the reason, the events, and the incremental cache observed through the
//! `reused` counts and the port operations: a no-op rebuild reads no input and writes
//! nothing, a changed input rebuilds that asset alone, a deleted or damaged cache only
//! costs time, and none of it changes a byte of the pack.

use std::sync::Arc;
use std::time::Duration;

use packer_app::build::{BuildReport, BuildRequest};
use packer_app::error::AppError;
use packer_app::runtime::{Ports, Runtime, WriteRequest};
use packer_domain::command::{Command, DeclarationChanges};
use packer_domain::event::Event;
use packer_domain::ports::{ClockPort, PortErrorKind, PortOp};
use packer_domain::snapshot::AssetQuery;
use packer_memfs::{EventLog, Fault, ManualClock, MemFs, MemOutput};
use packer_pack::codec::PartInfo;
use packer_pack::pack::{self, MANIFEST_FILE, PACK_FILE};

use crate::fixture_text::{U1, U2, U3, U4, U5, U6};
use crate::media::{Samples, rgba_png, wav};

/// A project on memfs with a running runtime and an in-memory output folder.
pub(crate) struct Project {
    pub(crate) fs: MemFs,
    clock: ManualClock,
    pub(crate) events: EventLog,
    pub(crate) out: MemOutput,
    pub(crate) runtime: Runtime,
}

impl Project {
    /// The workspace `fixture`, plus binary files, opened.
    fn new(fixture: &str, files: &[(&str, Vec<u8>)]) -> Project {
        let fs = MemFs::from_fixture(fixture).unwrap();
        for (path, bytes) in files {
            fs.write(path, bytes);
        }
        let clock = ManualClock::new();
        let events = EventLog::new();
        let runtime = open(&fs, &clock, &events);
        Project {
            fs,
            clock,
            events,
            out: MemOutput::new(),
            runtime,
        }
    }

    /// A fresh runtime on the same disk, after edits the snapshot must see.
    fn reopen(&mut self) {
        self.runtime = open(&self.fs, &self.clock, &self.events);
    }

    pub(crate) fn build(&self) -> Result<BuildReport, AppError> {
        self.build_into(&self.out, 2)
    }

    fn build_into(&self, out: &MemOutput, threads: usize) -> Result<BuildReport, AppError> {
        self.runtime.build(
            &BuildRequest {
                threads,
                ..BuildRequest::new(Arc::new(out.clone()))
            },
            &|_| {},
        )
    }

    /// Lets time pass, so files written so far are old enough for their stat data to
    /// vouch for their content.
    pub(crate) fn settle(&self) {
        self.pass(Duration::from_secs(10));
    }

    /// Lets `time` pass on the runtime's clock.
    pub(crate) fn pass(&self, time: Duration) {
        self.clock.advance(time);
    }

    /// The runtime's wall clock now.
    pub(crate) fn now_ns(&self) -> i64 {
        self.clock.wall_clock_ns()
    }

    pub(crate) fn pack(&self) -> Vec<u8> {
        self.out.file(PACK_FILE).unwrap()
    }

    /// The workspace files read since the log was cleared (inputs, not `.prometeu`).
    fn inputs_read(&self) -> Vec<String> {
        self.fs
            .ops()
            .into_iter()
            .filter(|(op, path)| *op == PortOp::Read && !path.starts_with(".prometeu"))
            .map(|(_, path)| path)
            .collect()
    }
}

fn open(fs: &MemFs, clock: &ManualClock, events: &EventLog) -> Runtime {
    Runtime::open(Ports {
        workspace: Arc::new(fs.clone()),
        events: Arc::new(events.clone()),
        clock: Arc::new(clock.clone()),
    })
}

/// The build's outcome as text: the report's counts and the pack's table of contents
/// as the verifying reader sees it, or the error's code and message.
fn outcome(project: &Project, result: Result<BuildReport, AppError>) -> String {
    let report = match result {
        Ok(report) => report,
        Err(error) => return format!("{}: {}", error.code, error.message),
    };
    let pack = pack::read(&project.pack()).unwrap();
    assert_eq!(report.bytes, pack.len);
    let mut out = format!("assets={} reused={}\n", report.assets, report.reused);
    for entry in &pack.entries {
        let format = pack::format_name(&entry.output).map_or(String::new(), |f| format!("/{f}"));
        let parts: Vec<String> = entry
            .parts
            .iter()
            .map(|part| match part.info {
                PartInfo::Image {
                    width,
                    height,
                    palette_len: 0,
                } => format!("{width}x{height}"),
                PartInfo::Image {
                    width,
                    height,
                    palette_len,
                } => format!("{width}x{height}p{palette_len}"),
                PartInfo::Audio {
                    channels,
                    sample_rate,
                    frames,
                } => format!("{channels}ch {sample_rate}Hz {frames}f"),
                PartInfo::Bytes => format!("{}B", part.length),
            })
            .collect();
        out.push_str(&format!(
            "{} {}{format} {}\n",
            entry.asset_id,
            entry.kind(),
            parts.join(" ")
        ));
    }
    out
}

/// Builds `project` once and compares the outcome.
fn check(project: &Project, expected: &str) {
    let got = outcome(project, project.build());
    assert_eq!(got.trim(), expected.trim(), "\n--- got ---\n{got}");
}

fn entry(id: u64, uuid: &str, root: &str, included: bool) -> String {
    format!(
        r#"{{ "asset_id": {id}, "asset_uuid": "{uuid}", "root": "{root}", "included_in_build": {included} }}"#
    )
}

fn declaration(uuid: &str, name: &str, kind: &str, inputs: &[&str], output: &str) -> String {
    let inputs: Vec<String> = inputs.iter().map(|i| format!("\"{i}\"")).collect();
    format!(
        r#"{{ "schema_version": 1, "asset_uuid": "{uuid}", "name": "{name}", "kind": "{kind}", "inputs": [{}], "output": {output} }}"#,
        inputs.join(", ")
    )
}

/// A registry of `entries` and the files given, as fixture text.
fn fixture(entries: &[String], files: &[(&str, String)]) -> String {
    let mut text = format!(
        "//- .prometeu/index.json\n{{ \"schema_version\": 1, \"next_asset_id\": 99, \"assets\": [\n{}\n] }}\n",
        entries.join(",\n")
    );
    for (path, content) in files {
        text.push_str(&format!("//- {path}\n{content}\n"));
    }
    text
}

fn hero_png() -> Vec<u8> {
    rgba_png(2, 1, &[[255, 0, 0, 255], [0, 0, 255, 128]])
}

fn jump_wav() -> Vec<u8> {
    wav(
        1,
        8000,
        &Samples::Int {
            bits: 16,
            values: vec![0, 1000, -1000],
        },
    )
}

/// Four included assets of every kind, and two excluded ones that are broken.
pub(crate) fn demo() -> Project {
    let files = [
        (
            "art/hero/asset.json",
            declaration(
                U1,
                "hero",
                "image",
                &["hero.png"],
                r#"{ "format": "rgba8" }"#,
            ),
        ),
        (
            "sfx/jump/asset.json",
            declaration(U2, "jump", "audio", &["jump.wav"], "{}"),
        ),
        (
            "data/items/asset.json",
            declaration(U3, "items", "data", &["items.json"], "{}"),
        ),
        ("data/items/items.json", "{ \"sword\": [1, 2] }".to_owned()),
        (
            "blobs/two/asset.json",
            declaration(U4, "two", "blob", &["a.bin", "b/c.bin"], "{}"),
        ),
        ("blobs/two/a.bin", "abc".to_owned()),
        ("blobs/two/b/c.bin", "defgh".to_owned()),
        (
            "broken/asset.json",
            "{ \"schema_version\": 1, oops".to_owned(),
        ),
        (
            "gone/asset.json",
            declaration(U6, "gone", "image", &["missing.png"], "{}"),
        ),
    ];
    let entries = [
        entry(1, U1, "art/hero", true),
        entry(2, U2, "sfx/jump", true),
        entry(3, U3, "data/items", true),
        entry(4, U4, "blobs/two", true),
        entry(5, U5, "broken", false),
        entry(6, U6, "gone", false),
    ];
    let files: Vec<(&str, String)> = files.iter().map(|(p, c)| (*p, c.clone())).collect();
    Project::new(
        &fixture(&entries, &files),
        &[
            ("art/hero/hero.png", hero_png()),
            ("sfx/jump/jump.wav", jump_wav()),
        ],
    )
}

const DEMO: &str = "
assets=4 reused=0
1 image/rgba8 2x1
2 audio/pcm16 1ch 8000Hz 3f
3 data 15B
4 blob 4B 6B
";

#[test]
fn packs_included_assets_in_id_order_and_never_an_excluded_one() {
    let project = demo();
    check(&project, DEMO);
    let pack = pack::read(&project.pack()).unwrap();
    let payload = |id: u64| {
        let e = pack.entries.iter().find(|e| e.asset_id == id).unwrap();
        project.pack()[e.offset as usize..(e.offset + e.length) as usize].to_vec()
    };
    assert_eq!(payload(1), [255, 0, 0, 255, 0, 0, 255, 128]);
    assert_eq!(payload(2), [0, 0, 0xe8, 0x03, 0x18, 0xfc]);
    assert_eq!(payload(3), br#"{"sword":[1,2]}"#);
    // Fixture files end with a line break.
    let mut two = b"abc\n".to_vec();
    two.resize(16, 0);
    two.extend_from_slice(b"defgh\n");
    assert_eq!(payload(4), two);
    let manifest: serde_json::Value =
        serde_json::from_slice(&project.out.file(MANIFEST_FILE).unwrap()).unwrap();
    let roots: Vec<&str> = manifest["assets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["root"].as_str().unwrap())
        .collect();
    assert_eq!(roots, ["art/hero", "sfx/jump", "data/items", "blobs/two"]);
    assert_eq!(manifest["assets"][3]["parts"][1]["input"], "b/c.bin");
    assert_eq!(manifest["assets"][0]["name"], "hero");
}

#[test]
fn refuses_a_failed_project_and_writes_nothing() {
    let project = Project::new("//- .prometeu/index.json\n{ \"schema_version\": 1,\n", &[]);
    check(
        &project,
        "failed_state: the project is failed, so nothing is built: assets/.prometeu/index.json:2:1: expected a string key in the object",
    );
    assert!(project.out.names().is_empty());
    assert!(
        !project
            .events
            .events()
            .iter()
            .any(|e| matches!(e, Event::BuildStarted { .. }))
    );
}

#[test]
fn refuses_included_assets_with_errors_naming_asset_file_and_reason() {
    let entries = [
        entry(1, U1, "bad", true),
        entry(2, U2, "lost", true),
        entry(3, U3, "escape", true),
        entry(4, U4, "fine", true),
        entry(5, U5, "ignored", false),
    ];
    let files = [
        (
            "bad/asset.json",
            format!(
                "{{ \"schema_version\": 1, \"asset_uuid\": \"{U1}\",\n  \"name\": 5, \"kind\": \"blob\", \"inputs\": [\"x\"] }}"
            ),
        ),
        ("bad/x", "x".to_owned()),
        (
            "lost/asset.json",
            declaration(U2, "lost", "blob", &["gone.bin"], "{}"),
        ),
        (
            "escape/asset.json",
            declaration(U3, "escape", "blob", &["secret"], "{}"),
        ),
        (
            "fine/asset.json",
            declaration(U4, "fine", "blob", &["f"], "{}"),
        ),
        ("fine/f", "f".to_owned()),
        ("ignored/asset.json", "not json".to_owned()),
    ];
    let mut text = fixture(&entries, &files);
    text.push_str("//- escape/secret -> /etc/passwd\n");
    let project = Project::new(&text, &[]);
    check(
        &project,
        "invalid: the build is refused: 3 problems in included assets
  asset 1 (bad): assets/bad/asset.json:2:11: `name` must be a string, not a number
  asset 2 (lost): assets/lost/asset.json:1:121: the input `gone.bin` does not exist in `lost`
  asset 3 (escape): assets/escape/asset.json:1:123: the input `secret` is not usable: it is a symbolic link that leads outside the asset folder",
    );
    assert!(project.out.names().is_empty());
    let error = project.build().unwrap_err();
    assert_eq!(error.detail["errors"][1]["file"], "assets/lost/asset.json");
    assert_eq!(error.detail["errors"][1]["asset_id"], 2);
}

#[test]
fn refuses_assets_with_structural_drift_naming_where_and_what_to_do() {
    // A moved root, a vanished root, a copied folder and a changed uuid: each is a
    // warning in `doctor`, and the refusal names it as `doctor` does, in the registry.
    let entries = [
        entry(1, U1, "old", true),
        entry(2, U2, "gone", true),
        entry(3, U3, "orig", true),
        entry(4, U4, "mine", true),
    ];
    let files = [
        ("new/asset.json", declaration(U1, "a", "blob", &["x"], "{}")),
        ("new/x", "x".to_owned()),
        (
            "orig/asset.json",
            declaration(U3, "c", "blob", &["x"], "{}"),
        ),
        ("orig/x", "x".to_owned()),
        (
            "copy/asset.json",
            declaration(U3, "c", "blob", &["x"], "{}"),
        ),
        ("copy/x", "x".to_owned()),
        (
            "mine/asset.json",
            declaration(U5, "d", "blob", &["x"], "{}"),
        ),
        ("mine/x", "x".to_owned()),
    ];
    let project = Project::new(&fixture(&entries, &files), &[]);
    let error = project.build().unwrap_err();
    let got = error.to_string();
    for (line, expected) in [
        (
            1,
            "asset 1 (old): assets/.prometeu/index.json:2:1: asset 1: its folder moved from `old` to `new`",
        ),
        (
            2,
            "asset 2 (gone): assets/.prometeu/index.json:3:1: asset 2: its folder `gone` has no asset.json",
        ),
        (
            3,
            "asset 3 (orig): assets/copy/asset.json:1:1: uuid 33333333",
        ),
        (
            4,
            "asset 4 (mine): assets/mine/asset.json:1:38: asset 4: asset.json declares uuid 5555",
        ),
    ] {
        let shown = got.lines().nth(line).unwrap_or_default().trim();
        assert!(shown.starts_with(expected), "line {line}: {shown}\n{got}");
        assert!(!shown.contains("status is"), "line {line}: {shown}\n{got}");
    }
    assert_eq!(
        error.detail["errors"][0]["hint"],
        "record the move with `prometeu-packer reconcile`"
    );
    assert!(project.out.names().is_empty());
}

#[test]
fn refuses_undecodable_inputs_naming_each_file() {
    let mut truncated = hero_png();
    truncated.truncate(truncated.len() - 20);
    let mut bad_crc = hero_png();
    bad_crc[32] ^= 1;
    let entries = [
        entry(1, U1, "a", true),
        entry(2, U2, "b", true),
        entry(3, U3, "c", true),
        entry(4, U4, "d", true),
        entry(5, U5, "e", true),
    ];
    let files = [
        (
            "a/asset.json",
            declaration(U1, "a", "image", &["t.png"], "{}"),
        ),
        (
            "b/asset.json",
            declaration(U2, "b", "image", &["ok.png", "crc.png"], "{}"),
        ),
        (
            "c/asset.json",
            declaration(U3, "c", "audio", &["s.wav"], "{}"),
        ),
        (
            "d/asset.json",
            declaration(U4, "d", "data", &["d.json"], "{}"),
        ),
        ("d/d.json", "{\n  \"a\": [1,\n}".to_owned()),
        ("e/asset.json", declaration(U5, "e", "blob", &["e"], "{}")),
        ("e/e", "fine".to_owned()),
    ];
    let project = Project::new(
        &fixture(&entries, &files),
        &[
            ("a/t.png", truncated),
            ("b/ok.png", hero_png()),
            ("b/crc.png", bad_crc),
            ("c/s.wav", crate::media::wav_with_format(2, 4)),
        ],
    );
    let got = outcome(&project, project.build());
    let lines: Vec<&str> = got.lines().collect();
    assert_eq!(
        lines[0],
        "invalid: the build is refused: 4 problems in included assets"
    );
    assert_eq!(
        lines[1],
        "  asset 1 (a): assets/a/t.png: the PNG ends early: the file is truncated"
    );
    assert!(
        lines[2].starts_with("  asset 2 (b): assets/b/crc.png: not a valid PNG: "),
        "{got}"
    );
    assert!(lines[2].to_lowercase().contains("crc"), "{got}");
    assert_eq!(
        lines[3],
        "  asset 3 (c): assets/c/s.wav: unsupported WAV format: format tag 2 (Microsoft ADPCM) with 4 bits per sample"
    );
    assert_eq!(
        lines[4],
        "  asset 4 (d): assets/d/d.json:3:1: expected a JSON value"
    );
    assert_eq!(lines.len(), 5);
    // It had started, so it says so; it never completed, and wrote no output.
    let names: Vec<&str> = project.events.events().iter().map(Event::name).collect();
    assert!(names.contains(&"build_started"));
    assert!(!names.contains(&"build_completed"));
    assert!(project.out.names().is_empty());
}

#[test]
fn events_report_one_build_from_start_to_end() {
    let project = demo();
    project.events.clear();
    let report = project.build().unwrap();
    let events = project.events.events();
    let generation = project.runtime.view().snapshot.generation();
    let Event::BuildStarted {
        command_id, assets, ..
    } = events[0]
    else {
        panic!("{events:?}")
    };
    assert_eq!(assets, 4);
    for event in &events {
        assert_eq!(event.generation(), generation);
        assert_eq!(event.command_id(), Some(command_id));
    }
    let progress: Vec<(u64, u64)> = events
        .iter()
        .filter_map(|e| match e {
            Event::BuildProgress { done, total, .. } => Some((*done, *total)),
            _ => None,
        })
        .collect();
    assert_eq!(progress.first(), Some(&(0, 4)));
    assert_eq!(progress.last(), Some(&(4, 4)));
    assert!(progress.windows(2).all(|w| w[0].0 < w[1].0), "{progress:?}");
    assert_eq!(
        events.last(),
        Some(&Event::BuildCompleted {
            generation,
            command_id,
            assets: 4,
            reused: 0,
            bytes: report.bytes,
        })
    );
    // The caller's progress sees every step, on its own thread.
    let seen = std::sync::Mutex::new(Vec::new());
    project
        .runtime
        .build(&BuildRequest::new(Arc::new(MemOutput::at("other"))), &|p| {
            seen.lock().unwrap().push((p.done, p.total));
        })
        .unwrap();
    assert_eq!(seen.into_inner().unwrap().last(), Some(&(4, 4)));
}

#[test]
fn a_rebuild_with_nothing_changed_reads_no_input_and_writes_nothing() {
    let project = demo();
    project.build().unwrap();
    let first = project.pack();
    // The inputs were written just now: their stat data cannot vouch for them yet, so
    // the next build reads them again, finds them unchanged and writes nothing.
    project.fs.clear_ops();
    check(&project, &DEMO.replace("reused=0", "reused=4"));
    assert_eq!(project.inputs_read().len(), 5);
    // Once their times are old enough, a rebuild only looks at them.
    project.settle();
    project.build().unwrap();
    project.fs.clear_ops();
    let out_ops = project.out.ops().len();
    check(&project, &DEMO.replace("reused=0", "reused=4"));
    assert_eq!(project.inputs_read(), Vec::<String>::new());
    let stats = project
        .fs
        .ops()
        .iter()
        .filter(|(op, _)| *op == PortOp::Stat)
        .count();
    assert_eq!(stats, 5, "{:?}", project.fs.ops());
    assert!(
        !project
            .fs
            .ops()
            .iter()
            .any(|(op, _)| matches!(op, PortOp::Write | PortOp::Rename)),
        "{:?}",
        project.fs.ops()
    );
    let outputs: Vec<PortOp> = project.out.ops()[out_ops..]
        .iter()
        .map(|(op, _)| *op)
        .collect();
    assert_eq!(outputs, [PortOp::Stat, PortOp::Stat]);
    assert_eq!(project.pack(), first);
}

#[test]
fn a_changed_input_rebuilds_that_asset_alone() {
    let project = demo();
    project.build().unwrap();
    project.settle();
    project.build().unwrap();
    project
        .fs
        .write("data/items/items.json", "{ \"sword\": [1, 2, 3] }");
    project.settle();
    project.fs.clear_ops();
    check(
        &project,
        &DEMO
            .replace("reused=0", "reused=3")
            .replace("3 data 15B", "3 data 17B"),
    );
    assert_eq!(project.inputs_read(), ["data/items/items.json"]);
    // The same bytes as a first build of the changed project.
    let fresh = demo();
    fresh
        .fs
        .write("data/items/items.json", "{ \"sword\": [1, 2, 3] }");
    fresh.build().unwrap();
    assert_eq!(fresh.pack(), project.pack());
}

#[test]
fn deleting_the_cache_only_costs_time() {
    let project = demo();
    project.build().unwrap();
    let first = project.pack();
    project.fs.remove(".prometeu/cache");
    project.out.remove(PACK_FILE);
    check(&project, DEMO);
    assert_eq!(project.pack(), first);
}

#[test]
fn a_damaged_cache_entry_is_rebuilt_never_packed() {
    let project = demo();
    project.build().unwrap();
    let first = project.pack();
    let entries: Vec<(String, Vec<u8>)> = project
        .fs
        .files()
        .into_iter()
        .filter(|(path, _)| path.starts_with(".prometeu/cache/objects/"))
        .collect();
    assert_eq!(entries.len(), 4);
    // Damage one entry's payload, and the index too.
    let (path, mut bytes) = entries[0].clone();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    project.fs.write(&path, &bytes);
    project.fs.write(".prometeu/cache/index", "garbage");
    project.out.remove(PACK_FILE);
    check(&project, &DEMO.replace("reused=0", "reused=3"));
    assert_eq!(project.pack(), first);
    // The entry was written again, whole.
    assert_eq!(project.fs.read(&path).unwrap(), entries[0].1);
}

#[test]
fn an_output_changed_behind_the_build_is_written_again() {
    let project = demo();
    project.build().unwrap();
    let first = project.pack();
    project.settle();
    project.build().unwrap();
    project.out.write(PACK_FILE, "tampered");
    check(&project, &DEMO.replace("reused=0", "reused=4"));
    assert_eq!(project.pack(), first);
    project.out.remove(MANIFEST_FILE);
    project.build().unwrap();
    assert!(project.out.file(MANIFEST_FILE).is_some());
}

#[test]
fn the_pack_depends_on_the_workspace_only() {
    let project = demo();
    let one = MemOutput::at("one");
    let four = MemOutput::at("four");
    project.build_into(&one, 1).unwrap();
    project.build_into(&four, 4).unwrap();
    assert_eq!(one.file(PACK_FILE), four.file(PACK_FILE));
    assert_eq!(one.file(MANIFEST_FILE), four.file(MANIFEST_FILE));
    // The same files written in another order, at other times.
    let other = demo();
    other.clock.advance(Duration::from_secs(3600));
    other.fs.write("blobs/two/a.bin", "abc\n");
    other.fs.write("art/hero/hero.png", hero_png());
    other.build().unwrap();
    assert_eq!(other.pack(), one.file(PACK_FILE).unwrap());
}

#[test]
fn a_new_name_or_a_new_root_reuses_every_payload() {
    let mut project = demo();
    project.build().unwrap();
    let first = project.pack();
    let request = WriteRequest {
        command: Command::UpdateDeclaration {
            asset: AssetQuery::Id(packer_domain::registry::AssetId(3)),
            changes: DeclarationChanges {
                name: Some("all items".to_owned()),
                ..DeclarationChanges::default()
            },
        },
        expected_generation: None,
    };
    project.runtime.submit(request).unwrap();
    check(&project, &DEMO.replace("reused=0", "reused=4"));
    assert_eq!(project.pack(), first);
    let manifest = String::from_utf8(project.out.file(MANIFEST_FILE).unwrap()).unwrap();
    assert!(manifest.contains("\"name\": \"all items\""), "{manifest}");
    // Excluding an asset drops it from the pack.
    project
        .runtime
        .submit(WriteRequest {
            command: Command::SetIncluded {
                asset: AssetQuery::Id(packer_domain::registry::AssetId(2)),
                included: false,
            },
            expected_generation: None,
        })
        .unwrap();
    project.reopen();
    check(
        &project,
        "assets=3 reused=3\n1 image/rgba8 2x1\n3 data 15B\n4 blob 4B 6B",
    );
}

#[test]
fn a_failed_output_write_leaves_the_old_pack() {
    let project = demo();
    project.build().unwrap();
    let first = project.pack();
    project.fs.write("blobs/two/a.bin", "xyz");
    project.out.inject(Fault::once(1, PortErrorKind::DiskFull));
    let error = project.build().unwrap_err();
    assert_eq!(
        error.message,
        "cannot write build/assets.pak: no space left on device (injected fault)"
    );
    assert_eq!(project.pack(), first);
    // The cache kept the new payload: the next build reuses it.
    check(
        &project,
        &DEMO
            .replace("reused=0", "reused=4")
            .replace("4 blob 4B 6B", "4 blob 3B 6B"),
    );
    assert_ne!(project.pack(), first);
}

/// The pack and its manifest change together: a manifest that cannot be written leaves
/// the old pack too, not a new pack beside the old manifest.
#[test]
fn a_manifest_that_cannot_be_written_leaves_the_old_pack_too() {
    let project = demo();
    project.build().unwrap();
    let (pack, manifest) = (project.pack(), project.out.file(MANIFEST_FILE));
    project.fs.write("blobs/two/a.bin", "xyz");
    project.out.inject(Fault::once(2, PortErrorKind::DiskFull));
    let error = project.build().unwrap_err();
    assert_eq!(
        error.message,
        "cannot write build/assets.manifest.json: no space left on device (injected fault)"
    );
    assert_eq!(
        (project.pack(), project.out.file(MANIFEST_FILE)),
        (pack, manifest)
    );
}

#[test]
fn a_cache_that_cannot_be_written_does_not_stop_the_build() {
    let mut project = demo();
    project
        .fs
        .write(".prometeu/cache", "a file where the folder should be");
    project.reopen();
    check(&project, DEMO);
    check(&project, DEMO);
}

#[test]
fn inputs_changed_after_the_snapshot_are_still_confined() {
    let project = demo();
    // The snapshot saw plain files; now one is a link out of the workspace and another
    // is gone. The build reads through the port, which refuses to follow the link.
    project.fs.remove("blobs/two/a.bin");
    project.fs.symlink("blobs/two/a.bin", "/etc/passwd");
    project.fs.remove("data/items/items.json");
    check(
        &project,
        "invalid: the build is refused: 2 problems in included assets
  asset 3 (data/items): assets/data/items/items.json: the input is missing
  asset 4 (blobs/two): assets/blobs/two/a.bin: the input leads outside the workspace through a symbolic link",
    );
    assert!(project.out.names().is_empty());
    assert!(
        !project
            .fs
            .ops()
            .iter()
            .any(|(op, path)| *op == PortOp::Read && path == "blobs/two/a.bin"),
        "{:?}",
        project.fs.ops()
    );
}
