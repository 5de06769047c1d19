//! The durable commit across real processes on the real disk: a child process running a
//! stream of commits is killed with SIGKILL at random moments and every acknowledged
//! commit must survive the reopen; two processes committing to one project at once are
//! serialised by the project lock and, retrying on `conflict` as a real client does,
//! lose nothing. The children are this test binary itself, re-executed on
//! [`child_entry`].

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command as Process, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use packer_app::error::ErrorCode;
use packer_app::runtime::{Ports, Runtime, WriteRequest};
use packer_domain::command::{Command, CreateAsset, DeclarationChanges};
use packer_domain::declaration::AssetKind;
use packer_domain::event::{Event, RecoveryOutcome};
use packer_domain::path::AssetPath;
use packer_domain::ports::EventPort;
use packer_domain::registry::Registry;
use packer_domain::snapshot::{AssetQuery, DeclarationState, ProjectState};
use packer_fs::{DiskWorkspace, SystemClock};
use packer_memfs::EventLog;

/// Names what a re-executed test binary is to do; unset in every ordinary test run.
const ROLE_VAR: &str = "PACKER_PROCESS_ROLE";
/// The `assets/` directory the child works on.
const ASSETS_VAR: &str = "PACKER_PROCESS_ASSETS";
/// The stream child's commands, encoded by [`Op::encode`] and joined by `;`.
const SCRIPT_VAR: &str = "PACKER_PROCESS_SCRIPT";
/// The concurrent writer's root prefix (`p1`) and number of assets to create.
const PREFIX_VAR: &str = "PACKER_PROCESS_PREFIX";
const COUNT_VAR: &str = "PACKER_PROCESS_COUNT";
/// How many kill iterations to run instead of [`DEFAULT_KILL_ITERATIONS`].
const ITERATIONS_VAR: &str = "PACKER_KILL_ITERATIONS";
/// A seed to replay a failing run with (it is printed in every failure message).
const SEED_VAR: &str = "PACKER_KILL_SEED";

const DEFAULT_KILL_ITERATIONS: u64 = 200;
/// Iterations share a project, so that commits meet a registry with history; a fresh
/// one every so often keeps every commit's rescan of the project short.
const ITERATIONS_PER_PROJECT: u64 = 50;
const DEFAULT_SEED: u64 = 0x5EED_0FC0_FFEE;
/// Every line of the children's protocol starts with this, so that libtest's own output
/// on the same stdout (which may even precede a message on the same line) is skipped.
const MARK: &str = "@packer-child ";
/// The input file every asset of these tests declares, written by the "user" before.
const INPUT: &str = "in.bin";

/// Each iteration: a child runs 3 to 5 commits on a project shared with the iterations
/// before it (up to [`ITERATIONS_PER_PROJECT`]) and is killed with SIGKILL after a
/// random delay (the kill moment is the only thing not fixed by the seed). The parent
/// then reopens the project with a fresh runtime, which recovers what the kill
/// interrupted, and checks it: every acknowledged commit is there, the one in flight is
/// there entirely or not at all, ids only grow, the registry parses, `tx/` is empty and
/// the user's files are untouched.
///
/// One iteration in four skips that check, so that the next child's own open has to
/// recover the interrupted commit, and the next kill may land in that recovery.
#[test]
fn acknowledged_commits_survive_sigkill_at_any_moment() {
    let iterations = env_number(ITERATIONS_VAR).unwrap_or(DEFAULT_KILL_ITERATIONS);
    let seed = env_number(SEED_VAR).unwrap_or(DEFAULT_SEED);
    let started = Instant::now();
    let mut rng = SplitMix64(seed);
    let mut project = Project::new();
    project.write_user_file("notes/todo.txt", b"a file no commit may touch\n");
    let mut base = Model::new();
    let mut pending: Vec<Step> = Vec::new();
    let mut next_root = 0;
    let mut timing: Option<Timing> = None;
    let mut tally = Tally::default();
    let mut skipped_last = false;
    for iteration in 0..iterations {
        let label = format!("seed {seed:#x}, iteration {iteration}");
        if iteration > 0 && iteration % ITERATIONS_PER_PROJECT == 0 {
            project = Project::new();
            project.write_user_file("notes/todo.txt", b"a file no commit may touch\n");
            base.clear();
            next_root = 0;
        }
        let script = make_script(&mut rng, &certain(&base, &pending), &mut next_root);
        for op in &script {
            if let Op::Create { root } = op {
                let bytes = random_bytes(&mut rng);
                project.write_user_file(&format!("{root}/{INPUT}"), &bytes);
            }
        }
        // A full run now and then measures how long a child takes, which is what the
        // kill delays are drawn against, and checks the uninterrupted path.
        let kill = match timing {
            Some(timing) if iteration % 50 != 0 => {
                if skipped_last || rng.below(4) == 0 {
                    Kill::AfterSpawn(uniform(&mut rng, timing.total().mul_f64(1.1)))
                } else {
                    Kill::AfterReady(uniform(&mut rng, timing.after_ready.mul_f64(1.2)))
                }
            }
            _ => Kill::Never,
        };
        let run = run_stream_child(&project, &script, kill, &label);
        tally.record(&run);
        if let Some(measured) = run.timing {
            timing = Some(measured);
        }
        pending.extend(steps(&script, &run, &label));
        let last_on_project =
            (iteration + 1) % ITERATIONS_PER_PROJECT == 0 || iteration + 1 == iterations;
        let skip = !skipped_last && !last_on_project && rng.below(4) == 0;
        if skip {
            skipped_last = true;
            continue;
        }
        skipped_last = false;
        let reopened = check_project(&project, &label);
        tally.recovered(&reopened.recoveries);
        base = matching_candidate(&base, &pending, &reopened.assets, &mut tally, &label);
        check_ids(&reopened, &label);
        pending.clear();
    }
    let timing = timing.map_or_else(String::new, |t| {
        format!(
            "; a whole child took {:.1?} to be ready, then {:.1?}",
            t.to_ready, t.after_ready
        )
    });
    report(&format!(
        "sigkill: {iterations} iterations in {:.1?} (seed {seed:#x}); {tally}{timing}",
        started.elapsed()
    ));
}

/// Two children create 250 assets each in the same project at once. Each commit takes
/// the project lock; a child whose snapshot was overtaken by the other's commit gets
/// `conflict`, reopens and retries. In the end all 500 assets are there with the ids
/// their creators were told, unique and growing.
#[test]
fn two_processes_committing_at_once_lose_nothing() {
    const PER_WRITER: usize = 250;
    let started = Instant::now();
    let mut project = Project::new();
    let prefixes = ["p1", "p2"];
    let mut rng = SplitMix64(DEFAULT_SEED);
    for prefix in prefixes {
        for n in 0..PER_WRITER {
            let bytes = random_bytes(&mut rng);
            project.write_user_file(&format!("{prefix}/n{n}/{INPUT}"), &bytes);
        }
    }
    let mut writers: Vec<ChildProcess> = prefixes
        .iter()
        .map(|prefix| {
            ChildProcess::spawn(
                "writer",
                &project.assets,
                &[(PREFIX_VAR, prefix), (COUNT_VAR, &PER_WRITER.to_string())],
                true,
            )
        })
        .collect();
    // Both are open before either writes, so that their commits really overlap.
    for writer in &mut writers {
        let message = writer.next_message();
        if message.as_deref() != Some("ready") {
            // Its stderr is complete only once it is gone.
            writer.kill();
            panic!("a writer said {message:?} first\n{}", writer.stderr());
        }
    }
    for writer in &mut writers {
        writer.send("go");
    }
    let mut acked: BTreeMap<String, u64> = BTreeMap::new();
    let mut retries = Vec::new();
    // Read one child to its end, then the other: a writer's whole output (about 8 KiB)
    // fits in a pipe's buffer, so the one not being read never blocks on it.
    for (writer, prefix) in writers.iter_mut().zip(prefixes) {
        let mut last_id = 0;
        let mut done = None;
        while let Some(message) = writer.next_message() {
            match words(&message).as_slice() {
                ["ack", root, id] => {
                    let id = parse_number(id);
                    assert!(id > last_id, "{prefix}: id {id} after {last_id}");
                    last_id = id;
                    assert!(acked.insert((*root).to_owned(), id).is_none(), "{root}");
                }
                ["done", count] => done = Some(parse_number(count)),
                _ => panic!("{prefix}: unexpected message `{message}`"),
            }
        }
        let (status, stderr) = writer.finish();
        assert!(status.success(), "{prefix} failed: {status}\n{stderr}");
        retries.push(done.unwrap_or_else(|| panic!("{prefix} never said done\n{stderr}")));
    }
    let label = "two writers";
    let reopened = check_project(&project, label);
    assert_eq!(reopened.assets.len(), 2 * PER_WRITER);
    assert_eq!(acked.len(), 2 * PER_WRITER);
    for (root, id) in &acked {
        let asset = reopened.assets.get(root.as_str());
        assert_eq!(asset.and_then(|a| a.id), Some(*id), "{root}");
    }
    check_ids(&reopened, label);
    let ids: BTreeSet<u64> = acked.values().copied().collect();
    assert_eq!(ids.len(), acked.len(), "an id was issued twice");
    report(&format!(
        "two writers: {} assets in {:.1?}; conflict retries: p1 {}, p2 {}",
        acked.len(),
        started.elapsed(),
        retries[0],
        retries[1]
    ));
}

/// Not a test: the entry point of the child processes the tests above start by
/// re-executing this binary with `--exact processes::child_entry --ignored`. It is
/// ignored so that an ordinary test run does not count it, and does nothing unless
/// [`ROLE_VAR`] names a role, so that `--ignored` runs do not either.
#[test]
#[ignore = "the entry point of child processes; does nothing on its own"]
fn child_entry() {
    let Ok(role) = std::env::var(ROLE_VAR) else {
        return;
    };
    let assets = PathBuf::from(env_text(ASSETS_VAR));
    match role.as_str() {
        "stream" => stream_child(&assets, &env_text(SCRIPT_VAR)),
        "writer" => writer_child(
            &assets,
            &env_text(PREFIX_VAR),
            parse_number(&env_text(COUNT_VAR)),
        ),
        other => panic!("unknown child role `{other}`"),
    }
}

/// Runs the script's commands in order, acknowledging each one that committed.
fn stream_child(assets: &Path, script: &str) {
    let ops: Vec<Op> = script.split(';').map(Op::decode).collect();
    let runtime = open_runtime(assets, Arc::new(Reporter));
    say("ready");
    for (index, op) in ops.iter().enumerate() {
        let outcome = runtime
            .submit(write(op.command()))
            .unwrap_or_else(|e| panic!("command {index} ({op:?}) failed: {e:?}"));
        // A create names its new asset; the other commands change exactly one.
        let id = outcome.asset.or(outcome.changed.first().copied());
        let id = id.unwrap_or_else(|| panic!("command {index} changed nothing"));
        say(&format!("ack {index} {id} {}", op.root()));
    }
    runtime.shutdown();
    say("done");
}

/// Creates `prefix/n0`, `prefix/n1`, … once the parent says go, reopening and retrying
/// whenever the other writer's commit overtook this runtime's snapshot.
fn writer_child(assets: &Path, prefix: &str, count: u64) {
    // Plenty: each conflict means the other writer committed, and it commits 250 times.
    const MAX_RETRIES: u64 = 10_000;
    let mut runtime = open_runtime(assets, Arc::new(Reporter));
    say("ready");
    let mut go = String::new();
    // End of input instead of `go`: the parent is gone, so there is nobody to write for.
    if std::io::stdin().read_line(&mut go).unwrap_or(0) == 0 {
        return;
    }
    let mut retries = 0;
    for n in 0..count {
        let root = format!("{prefix}/n{n}");
        let command = Op::Create { root: root.clone() }.command();
        loop {
            match runtime.submit(write(command.clone())) {
                Ok(outcome) => {
                    let id = outcome.asset.unwrap_or_else(|| panic!("{root}: no asset"));
                    say(&format!("ack {root} {id}"));
                    break;
                }
                Err(error) if error.code == ErrorCode::Conflict => {
                    retries += 1;
                    assert!(retries < MAX_RETRIES, "{root}: {error:?}");
                    runtime.shutdown();
                    runtime = open_runtime(assets, Arc::new(Reporter));
                }
                Err(error) => panic!("{root}: {error:?}"),
            }
        }
    }
    runtime.shutdown();
    say(&format!("done {retries}"));
}

fn open_runtime(assets: &Path, events: Arc<dyn EventPort>) -> Runtime {
    let workspace = DiskWorkspace::open(assets)
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", assets.display()));
    Runtime::open(Ports {
        workspace: Arc::new(workspace),
        events,
        clock: Arc::new(SystemClock::new()),
    })
}

fn write(command: Command) -> WriteRequest {
    WriteRequest {
        command,
        expected_generation: None,
    }
}

/// Writes one protocol line to stdout and flushes it, so the parent sees an
/// acknowledgement the moment it is made. A parent that stopped reading is gone, so a
/// failed write is nothing to report.
fn say(message: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{MARK}{message}");
    let _ = out.flush();
}

/// The child's event port: tells the parent what recovery did when the child opened
/// (or committed), so the test can report how often a kill left work for recovery.
#[derive(Debug)]
struct Reporter;

impl EventPort for Reporter {
    fn publish(&self, event: Event) {
        if let Event::RecoveryPerformed { outcome, .. } = event {
            say(&format!("recovered {}", outcome_name(outcome)));
        }
    }
}

fn outcome_name(outcome: RecoveryOutcome) -> &'static str {
    match outcome {
        RecoveryOutcome::RolledForward => "rolled_forward",
        RecoveryOutcome::Discarded => "discarded",
        RecoveryOutcome::Refused => "refused",
    }
}

/// One command of a stream child, small enough to pass in an environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Op {
    Create { root: String },
    SetIncluded { root: String, included: bool },
    Rename { root: String, name: String },
}

impl Op {
    fn encode(&self) -> String {
        match self {
            Op::Create { root } => format!("create {root}"),
            Op::SetIncluded { root, included } => format!("include {root} {included}"),
            Op::Rename { root, name } => format!("rename {root} {name}"),
        }
    }

    fn decode(text: &str) -> Op {
        match words(text).as_slice() {
            ["create", root] => Op::Create {
                root: (*root).to_owned(),
            },
            ["include", root, included] => Op::SetIncluded {
                root: (*root).to_owned(),
                included: *included == "true",
            },
            ["rename", root, name] => Op::Rename {
                root: (*root).to_owned(),
                name: (*name).to_owned(),
            },
            _ => panic!("not a command: `{text}`"),
        }
    }

    fn root(&self) -> &str {
        match self {
            Op::Create { root } | Op::SetIncluded { root, .. } | Op::Rename { root, .. } => root,
        }
    }

    fn command(&self) -> Command {
        let query = || AssetQuery::Root(asset_path(self.root()));
        match self {
            Op::Create { root } => Command::CreateAsset(CreateAsset {
                root: asset_path(root),
                kind: AssetKind::Blob,
                inputs: vec![asset_path(INPUT)],
                name: None,
                output: None,
                included_in_build: true,
            }),
            Op::SetIncluded { included, .. } => Command::SetIncluded {
                asset: query(),
                included: *included,
            },
            Op::Rename { name, .. } => Command::UpdateDeclaration {
                asset: query(),
                changes: DeclarationChanges {
                    name: Some(name.clone()),
                    ..DeclarationChanges::default()
                },
            },
        }
    }

    /// The op's effect on the expected project; `id` is the created asset's, when known.
    fn apply(&self, model: &mut Model, id: Option<u64>) {
        match self {
            Op::Create { root } => {
                let name = root.rsplit('/').next().unwrap_or(root).to_owned();
                let asset = Asset {
                    id,
                    included: true,
                    name,
                };
                model.insert(root.clone(), asset);
            }
            Op::SetIncluded { root, included } => {
                if let Some(asset) = model.get_mut(root) {
                    asset.included = *included;
                }
            }
            Op::Rename { root, name } => {
                if let Some(asset) = model.get_mut(root) {
                    asset.name = name.clone();
                }
            }
        }
    }
}

fn asset_path(text: &str) -> AssetPath {
    AssetPath::new(text).unwrap_or_else(|e| panic!("`{text}`: {e}"))
}

/// What the registry and the declarations must say of one asset.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Asset {
    /// `None`: created by a commit whose acknowledgement was lost, so any fresh id.
    id: Option<u64>,
    included: bool,
    name: String,
}

/// The expected project, by root.
type Model = BTreeMap<String, Asset>;

/// A command a child was given since the project was last checked.
#[derive(Debug, Clone)]
struct Step {
    op: Op,
    /// `Some(id)`: acknowledged, so it must be on disk. `None`: in flight when the child
    /// died, so on disk entirely or not at all.
    acked: Option<u64>,
}

/// The steps of one child's run: its acknowledged commands, then the one it may have
/// been running when it died. Commands after that one never started.
fn steps(script: &[Op], run: &StreamRun, label: &str) -> Vec<Step> {
    let mut steps = Vec::new();
    for (index, op) in script.iter().enumerate() {
        match run.acks.get(&index) {
            Some(id) => steps.push(Step {
                op: op.clone(),
                acked: Some(*id),
            }),
            None => {
                assert!(!run.done, "{label}: command {index} was never acknowledged");
                steps.push(Step {
                    op: op.clone(),
                    acked: None,
                });
                break;
            }
        }
    }
    let acked_in_order = run.acks.keys().copied().eq(0..run.acks.len());
    assert!(acked_in_order, "{label}: acknowledgements {:?}", run.acks);
    steps
}

/// The project as it is certain to be: only acknowledged commands applied. New
/// commands refer only to assets that are there in every possible outcome.
fn certain(base: &Model, pending: &[Step]) -> Model {
    let mut model = base.clone();
    for step in pending {
        if let Some(id) = step.acked {
            step.op.apply(&mut model, Some(id));
        }
    }
    model
}

/// 3 to 5 commands: new assets (`a/n<k>`, numbered on from every root used so far, so
/// a root whose creation may have been lost is never reused) and changes to assets
/// that certainly exist.
fn make_script(rng: &mut SplitMix64, certain: &Model, next_root: &mut u64) -> Vec<Op> {
    let count = 3 + rng.below(3);
    let mut known: Vec<String> = certain.keys().cloned().collect();
    let mut script = Vec::new();
    for _ in 0..count {
        let choice = rng.below(4);
        if known.is_empty() || choice < 2 {
            let root = format!("a/n{next_root}");
            *next_root += 1;
            known.push(root.clone());
            script.push(Op::Create { root });
            continue;
        }
        let root = known[index_below(rng, known.len())].clone();
        script.push(if choice == 2 {
            Op::SetIncluded {
                root,
                included: rng.below(2) == 0,
            }
        } else {
            Op::Rename {
                root,
                name: format!("name-{:x}", rng.next() & 0xFFFF),
            }
        });
    }
    script
}

/// The project the disk must hold is `base` with every acknowledged step applied and
/// each step in flight either applied or not. Returns the one the disk holds, with the
/// ids the disk gave to assets whose creation was not acknowledged.
fn matching_candidate(
    base: &Model,
    pending: &[Step],
    disk: &Model,
    tally: &mut Tally,
    label: &str,
) -> Model {
    let in_flight = pending.iter().filter(|s| s.acked.is_none()).count();
    let in_flight_count = u32::try_from(in_flight).unwrap();
    let mut tried = Vec::new();
    for mask in 0..1u32 << in_flight_count {
        let mut model = base.clone();
        let mut k = 0;
        for step in pending {
            match step.acked {
                Some(id) => step.op.apply(&mut model, Some(id)),
                None => {
                    if mask & (1 << k) != 0 {
                        step.op.apply(&mut model, None);
                    }
                    k += 1;
                }
            }
        }
        if same_project(&model, disk) {
            tally.in_flight_applied += u64::from(mask.count_ones());
            tally.in_flight_lost += u64::from(in_flight_count - mask.count_ones());
            return disk.clone();
        }
        tried.push(model);
    }
    panic!(
        "{label}: the project on disk is none of the possible outcomes\n\
         pending: {pending:#?}\n\
         on disk: {disk:#?}\n\
         possible: {tried:#?}"
    );
}

/// Equal, except that an unknown id matches any.
fn same_project(expected: &Model, disk: &Model) -> bool {
    expected.len() == disk.len()
        && expected
            .iter()
            .zip(disk)
            .all(|((root, want), (disk_root, got))| {
                root == disk_root
                    && want.included == got.included
                    && want.name == got.name
                    && want.id.is_none_or(|id| Some(id) == got.id)
            })
}

/// Ids are unique, grow with the order the assets were created in (the number in
/// their root), and stay below `next_asset_id`.
fn check_ids(reopened: &Reopened, label: &str) {
    let mut by_creation: BTreeMap<(String, u64), u64> = BTreeMap::new();
    for (root, asset) in &reopened.assets {
        let (prefix, number) = root
            .rsplit_once("/n")
            .unwrap_or_else(|| panic!("{label}: unexpected root {root}"));
        let id = asset
            .id
            .unwrap_or_else(|| panic!("{label}: {root} has no id"));
        by_creation.insert((prefix.to_owned(), parse_number(number)), id);
        assert!(
            id < reopened.next_asset_id,
            "{label}: {root} has id {id}, next_asset_id is {}",
            reopened.next_asset_id
        );
    }
    let mut last: BTreeMap<&str, u64> = BTreeMap::new();
    for ((prefix, number), id) in &by_creation {
        let previous = last.insert(prefix, *id).unwrap_or(0);
        assert!(
            *id > previous,
            "{label}: {prefix}/n{number} has id {id}, not above {previous}"
        );
    }
    let unique: BTreeSet<u64> = by_creation.values().copied().collect();
    assert_eq!(unique.len(), by_creation.len(), "{label}: an id is reused");
}

/// A project in a temporary directory, with the files its "user" wrote.
struct Project {
    _dir: tempfile::TempDir,
    assets: PathBuf,
    user_files: BTreeMap<PathBuf, Vec<u8>>,
}

impl Project {
    fn new() -> Project {
        let dir = tempfile::tempdir().unwrap();
        let assets = dir.path().join("assets");
        std::fs::create_dir_all(&assets).unwrap();
        packer_app::init::init_workspace(&DiskWorkspace::open(&assets).unwrap()).unwrap();
        Project {
            _dir: dir,
            assets,
            user_files: BTreeMap::new(),
        }
    }

    /// Writes a file as a person would (no packer involved), for the checks to compare
    /// byte for byte later.
    fn write_user_file(&mut self, relative: &str, bytes: &[u8]) {
        let path = self.assets.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&path, bytes).unwrap();
        self.user_files.insert(path, bytes.to_vec());
    }
}

/// What a reopened project holds.
#[derive(Debug)]
struct Reopened {
    assets: Model,
    next_asset_id: u64,
    recoveries: Vec<RecoveryOutcome>,
}

/// Reopens the project in this process, as the next session would, and checks what
/// must hold whatever the children did: the project is ready, recovery left nothing in
/// `tx/`, the registry on disk parses and is what the snapshot holds, every declaration
/// is valid and carries its registry uuid, and every user file is as written.
fn check_project(project: &Project, label: &str) -> Reopened {
    let events = EventLog::new();
    let runtime = open_runtime(&project.assets, Arc::new(events.clone()));
    let view = runtime.view();
    assert_eq!(
        view.state,
        ProjectState::Ready,
        "{label}: {:?}\n{:#?}",
        view.condition,
        view.snapshot.diagnostics()
    );
    let tx = project.assets.join(".prometeu/tx");
    let left: Vec<String> = match std::fs::read_dir(&tx) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => panic!("{label}: cannot list {}: {e}", tx.display()),
    };
    assert!(left.is_empty(), "{label}: transactions left: {left:?}");
    let bytes = std::fs::read(project.assets.join(".prometeu/index.json")).unwrap();
    let registry = Registry::parse(&bytes)
        .unwrap_or_else(|e| panic!("{label}: the registry does not parse: {e:?}"));
    assert_eq!(Some(&registry), view.snapshot.registry(), "{label}");
    let mut assets = Model::new();
    for record in view.snapshot.assets() {
        let root = record.entry.root.as_str();
        let DeclarationState::Valid(valid) = &record.declaration else {
            panic!("{label}: {root}: {:?}", record.declaration);
        };
        let declaration = &valid.declaration;
        assert_eq!(declaration.asset_uuid, record.entry.asset_uuid, "{label}");
        assert_eq!(declaration.kind, AssetKind::Blob, "{label}: {root}");
        assert_eq!(declaration.inputs, [asset_path(INPUT)], "{label}: {root}");
        let asset = Asset {
            id: Some(record.entry.asset_id.0),
            included: record.entry.included_in_build,
            name: declaration.name.clone(),
        };
        assets.insert(root.to_owned(), asset);
    }
    for (path, written) in &project.user_files {
        let now = std::fs::read(path).unwrap();
        assert!(now == *written, "{label}: {} changed", path.display());
    }
    runtime.shutdown();
    let recoveries = events
        .events()
        .into_iter()
        .filter_map(|e| match e {
            Event::RecoveryPerformed { outcome, .. } => Some(outcome),
            _ => None,
        })
        .collect();
    Reopened {
        assets,
        next_asset_id: registry.next_asset_id(),
        recoveries,
    }
}

/// When to kill a stream child.
#[derive(Debug, Clone, Copy)]
enum Kill {
    /// Let it finish: a calibration run.
    Never,
    /// This long after it was started: the kill may land in its opening recovery.
    AfterSpawn(Duration),
    /// This long after it said it is ready: the kill lands among its commits.
    AfterReady(Duration),
}

/// How long a child that was let finish took.
#[derive(Debug, Clone, Copy)]
struct Timing {
    to_ready: Duration,
    after_ready: Duration,
}

impl Timing {
    fn total(self) -> Duration {
        self.to_ready + self.after_ready
    }
}

/// What the parent learned from one stream child.
#[derive(Debug, Default)]
struct StreamRun {
    /// The asset id of each acknowledged command, by its index in the script.
    acks: BTreeMap<usize, u64>,
    done: bool,
    killed: bool,
    ready: bool,
    recoveries: Vec<RecoveryOutcome>,
    /// Set by a run that was let finish.
    timing: Option<Timing>,
}

fn run_stream_child(project: &Project, script: &[Op], kill: Kill, label: &str) -> StreamRun {
    let encoded: Vec<String> = script.iter().map(Op::encode).collect();
    let spawned = Instant::now();
    let mut child = ChildProcess::spawn(
        "stream",
        &project.assets,
        &[(SCRIPT_VAR, &encoded.join(";"))],
        false,
    );
    let mut run = StreamRun::default();
    let mut messages = Vec::new();
    let mut ready_at = None;
    match kill {
        Kill::Never => {}
        Kill::AfterSpawn(delay) => {
            // The delay is the disturbance itself, the moment to pull the plug; nothing
            // is waited for.
            std::thread::sleep(delay);
            child.kill();
        }
        Kill::AfterReady(delay) => {
            while let Some(message) = child.next_message() {
                let ready = message == "ready";
                messages.push(message);
                if ready {
                    break;
                }
            }
            std::thread::sleep(delay);
            child.kill();
        }
    }
    while let Some(message) = child.next_message() {
        if message == "ready" {
            ready_at = Some(Instant::now());
        }
        messages.push(message);
    }
    let finished_at = Instant::now();
    let (status, stderr) = child.finish();
    run.killed = status.signal() == Some(9);
    assert!(
        status.success() || run.killed,
        "{label}: the child failed: {status}\nscript: {encoded:?}\n{stderr}"
    );
    for message in &messages {
        match words(message).as_slice() {
            ["ready"] => run.ready = true,
            ["done"] => run.done = true,
            ["ack", index, id, root] => {
                let index = usize::try_from(parse_number(index)).unwrap();
                assert_eq!(*root, script[index].root(), "{label}");
                run.acks.insert(index, parse_number(id));
            }
            ["recovered", outcome] => run.recoveries.push(match *outcome {
                "rolled_forward" => RecoveryOutcome::RolledForward,
                "discarded" => RecoveryOutcome::Discarded,
                _ => RecoveryOutcome::Refused,
            }),
            _ => panic!("{label}: unexpected message `{message}`"),
        }
    }
    assert!(
        !run.recoveries.contains(&RecoveryOutcome::Refused),
        "{label}: the child's recovery refused a transaction\n{stderr}"
    );
    if matches!(kill, Kill::Never) {
        assert!(
            run.done,
            "{label}: a child let run did not finish\n{stderr}"
        );
        if let Some(ready_at) = ready_at {
            run.timing = Some(Timing {
                to_ready: ready_at - spawned,
                after_ready: finished_at - ready_at,
            });
        }
    }
    run
}

/// A child process running this test binary's [`child_entry`]. Dropping it kills and
/// reaps the child, so no child outlives its test, whether the test passes or panics.
struct ChildProcess {
    child: Child,
    stdout: BufReader<ChildStdout>,
}

impl ChildProcess {
    fn spawn(role: &str, assets: &Path, vars: &[(&str, &str)], stdin: bool) -> ChildProcess {
        let exe = std::env::current_exe().unwrap();
        let mut command = Process::new(exe);
        command
            .args([
                "--exact",
                "processes::child_entry",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ROLE_VAR, role)
            .env(ASSETS_VAR, assets)
            .stdin(if stdin { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in vars {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        ChildProcess { child, stdout }
    }

    /// The next protocol message, without its mark; `None` once the child's stdout is
    /// closed (it exited or was killed). Blocks until a line arrives.
    fn next_message(&mut self) -> Option<String> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.stdout.read_line(&mut line).unwrap_or(0) == 0 {
                return None;
            }
            if let Some(at) = line.find(MARK) {
                return Some(line[at + MARK.len()..].trim_end().to_owned());
            }
        }
    }

    fn send(&mut self, line: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    /// Sends SIGKILL (`Child::kill` does that on Unix). Killing a child that already
    /// exited does nothing; its exit status says how it ended.
    fn kill(&mut self) {
        let _ = self.child.kill();
    }

    /// Reaps the child, which must have closed its stdout (read to the end first), and
    /// returns how it ended and what it wrote to stderr.
    fn finish(&mut self) -> (ExitStatus, String) {
        let status = self.child.wait().unwrap();
        (status, self.stderr())
    }

    /// What the child wrote to stderr; waits for the child to close it.
    fn stderr(&mut self) -> String {
        let mut text = String::new();
        if let Some(stderr) = self.child.stderr.as_mut() {
            let _ = stderr.read_to_string(&mut text);
        }
        text
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Counts for the report, showing where the kills landed.
#[derive(Debug, Default)]
struct Tally {
    runs: u64,
    killed: u64,
    killed_before_ready: u64,
    acked: u64,
    in_flight_applied: u64,
    in_flight_lost: u64,
    rolled_forward: u64,
    discarded: u64,
}

impl Tally {
    fn record(&mut self, run: &StreamRun) {
        self.runs += 1;
        self.killed += u64::from(run.killed);
        self.killed_before_ready += u64::from(run.killed && !run.ready);
        self.acked += run.acks.len() as u64;
        self.recovered(&run.recoveries);
    }

    fn recovered(&mut self, outcomes: &[RecoveryOutcome]) {
        for outcome in outcomes {
            match outcome {
                RecoveryOutcome::RolledForward => self.rolled_forward += 1,
                RecoveryOutcome::Discarded => self.discarded += 1,
                RecoveryOutcome::Refused => {}
            }
        }
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} children, {} killed ({} before they were ready), {} commits acknowledged; \
             commands in flight at the kill: {} found done, {} found not done; recovery: \
             {} rolled forward, {} discarded",
            self.runs,
            self.killed,
            self.killed_before_ready,
            self.acked,
            self.in_flight_applied,
            self.in_flight_lost,
            self.rolled_forward,
            self.discarded
        )
    }
}

/// SplitMix64: a tiny deterministic generator, enough to vary scripts and delays.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// In `0..n`; the modulo bias is irrelevant at these sizes.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn index_below(rng: &mut SplitMix64, n: usize) -> usize {
    usize::try_from(rng.below(n as u64)).unwrap()
}

fn uniform(rng: &mut SplitMix64, span: Duration) -> Duration {
    let nanos = u64::try_from(span.as_nanos()).unwrap_or(u64::MAX);
    Duration::from_nanos(rng.below(nanos.saturating_add(1)))
}

fn random_bytes(rng: &mut SplitMix64) -> Vec<u8> {
    let len = 16 + rng.below(200);
    (0..len).map(|_| rng.next().to_le_bytes()[0]).collect()
}

fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

fn parse_number(text: &str) -> u64 {
    text.parse()
        .unwrap_or_else(|e| panic!("`{text}` is not a number: {e}"))
}

fn env_text(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// A number from the environment, decimal or `0x` hexadecimal.
fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    Some(parsed.unwrap_or_else(|e| panic!("{name}=`{text}`: {e}")))
}

/// Test output, shown with `--nocapture` or when the test fails.
#[allow(clippy::print_stderr)]
fn report(text: &str) {
    eprintln!("{text}");
}
