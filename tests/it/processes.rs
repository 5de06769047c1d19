//! The durable commit across real processes on the real disk: a child process running a
//! stream of commits is killed with SIGKILL at random moments and every acknowledged
//! commit must survive the reopen; two processes committing to one project at once are
//! serialised by the project lock and, retrying on `conflict` as a real client does,
//! lose nothing. The children are this test binary itself, re-executed on
//! [`child_entry`].
//!
//! The scenarios and the child's entry point are here; what a child does is in
//! `processes/child.rs`, how the parent starts, reads and kills one in
//! `processes/driver.rs`, and what the parent expects of the project afterwards in
//! `processes/expect.rs`.

mod child;
mod driver;
mod expect;
mod observed;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use packer_domain::event::RecoveryOutcome;

use child::{Op, halting_child, stream_child, writer_child};
use driver::{ChildProcess, Kill, StreamRun, Timing, run_stream_child};
use expect::{
    Model, Project, Step, certain, check_ids, check_project, make_script, matching_candidate, steps,
};

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
        "halting" => halting_child(&assets, &env_text(PREFIX_VAR)),
        other => panic!("unknown child role `{other}`"),
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
