//! A commit interrupted after its commit point, as the CLI meets it: read commands report
//! the project `failed` with the transaction named and write nothing; the next write
//! command's runtime rolls the transaction forward, then does its own work; one that
//! recovery refuses is reported once and the write is refused. The
//! interruption is real: a workspace on the real disk whose directory sync fails right
//! after the commit point, as a failing disk would.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use packer_app::error::ErrorCode;
use packer_app::runtime::{Ports, Runtime, WriteRequest};
use packer_domain::command::{Command, CreateAsset};
use packer_domain::declaration::AssetKind;
use packer_domain::event::Event;
use packer_domain::path::{AssetPath, WsPath};
use packer_domain::ports::{PortError, PortErrorKind, PortOp, WorkspacePort};
use packer_domain::snapshot::ProjectState;
use packer_domain::transaction::INTENT_COMMITTED;
use packer_fs::{DiskWorkspace, SystemClock};
use packer_memfs::EventLog;
use serde_json::json;

use crate::cli_write::{
    HERO, blob_view, exists, file_state, fresh, index, read, transactions, tree_but_lock, uuid_of,
};
use crate::delegate::delegate;

/// A workspace on the real disk whose first directory sync after a commit point fails,
/// as a full or failing disk would: the commit is interrupted and its transaction left
/// in `.prometeu/tx/`, exactly as a crash at that moment would leave it.
#[derive(Debug)]
struct SyncFailsAfterCommitPoint {
    disk: DiskWorkspace,
    committed: AtomicBool,
    failed: AtomicBool,
}

impl WorkspacePort for SyncFailsAfterCommitPoint {
    fn sync_dir(&self, path: &WsPath) -> Result<(), PortError> {
        if self.committed.swap(false, Ordering::SeqCst) {
            self.failed.store(true, Ordering::SeqCst);
            return Err(PortError::new(PortErrorKind::Io, PortOp::SyncDir, path)
                .with_detail("injected by the test"));
        }
        self.disk.sync_dir(path)
    }
    fn rename(&self, from: &WsPath, to: &WsPath) -> Result<(), PortError> {
        self.disk.rename(from, to)?;
        if to.file_name() == INTENT_COMMITTED && !self.failed.load(Ordering::SeqCst) {
            self.committed.store(true, Ordering::SeqCst);
        }
        Ok(())
    }
    delegate!(disk: scan, scan_reusing, scan_and_read, read, read_many, list_dir, stat);
    delegate!(disk: check_writable, create_dir_all, write_file, sync_file, sync_all);
    delegate!(disk: remove_file, remove_dir_all, remove_empty_dir, lock, lock_if_in_use);
}

#[test]
fn an_interrupted_commit_shows_as_failed_and_the_next_write_recovers_it() {
    let project = fresh();
    project.put("sprites/hero/hero.bin", HERO);
    let input = file_state(&project, "sprites/hero/hero.bin");
    let empty_registry = read(&project, ".prometeu/index.json");

    // Another host (say Studio) runs `create_asset`, and its disk fails right after the
    // commit point.
    let events = EventLog::new();
    let runtime = Runtime::open(Ports {
        workspace: Arc::new(SyncFailsAfterCommitPoint {
            disk: DiskWorkspace::open(project.root().join("assets")).unwrap(),
            committed: AtomicBool::new(false),
            failed: AtomicBool::new(false),
        }),
        events: Arc::new(events.clone()),
        clock: Arc::new(SystemClock::new()),
    });
    let error = runtime
        .submit(WriteRequest {
            command: Command::CreateAsset(CreateAsset {
                root: AssetPath::new("sprites/hero").unwrap(),
                kind: AssetKind::Blob,
                inputs: vec![AssetPath::new("hero.bin").unwrap()],
                name: None,
                output: None,
                included_in_build: true,
            }),
            expected_generation: None,
        })
        .unwrap_err();
    assert_eq!(error.code, ErrorCode::Io, "{error:?}");
    assert_eq!(runtime.view().state, ProjectState::Failed);
    runtime.shutdown();
    assert!(
        events
            .events()
            .iter()
            .any(|e| matches!(e, Event::CommitFailed { .. }))
    );
    let pending = transactions(&project);
    assert_eq!(pending.len(), 1, "{pending:?}");
    let tx = &pending[0];
    // A program is told what failed, where, and which transaction waits, as the
    // protocol documents for every `io` error.
    assert_eq!(
        error.detail,
        json!({
            "path": format!("assets/.prometeu/tx/{tx}"),
            "operation": "sync_dir",
            "kind": "io",
            "step": "commit_point",
            "transaction": tx,
        }),
        "{error:?}"
    );
    assert!(exists(
        &project,
        &format!(".prometeu/tx/{tx}/{INTENT_COMMITTED}")
    ));
    // Nothing the user sees has changed yet.
    assert!(!exists(&project, "sprites/hero/asset.json"));
    assert_eq!(read(&project, ".prometeu/index.json"), empty_registry);

    let condition = format!(
        "an interrupted commit waits for recovery (transaction {tx}); the next write command finishes it"
    );
    // With no lock file no process can be finishing the commit, and a read makes none.
    let lock = project.root().join("assets/.prometeu/lock");
    let kept_lock = std::fs::read(&lock).unwrap();
    std::fs::remove_file(&lock).unwrap();
    let status = project.run(&["status", "--json"]);
    assert_eq!(status.json()["condition"], json!(condition), "{status:?}");
    assert!(!lock.exists());
    std::fs::write(&lock, kept_lock).unwrap();

    // Read commands say `failed`, name the transaction, and write nothing.
    let before = project.tree();
    let status = project.run(&["status"]);
    assert_eq!(status.code, 1, "{status:?}");
    assert_eq!(
        status.stdout,
        format!(
            "project failed · generation 1\nfailed: {condition}\nno drift: the registry and the disk agree\n"
        )
    );
    let status = project.run(&["status", "--json"]);
    assert_eq!(status.code, 1, "{status:?}");
    assert_eq!(
        status.json(),
        json!({"generation": 1, "state": "failed", "drifts": [], "condition": condition})
    );
    assert!(status.stderr.contains(&condition), "{status:?}");
    let list = project.run(&["list", "--json"]);
    assert_eq!(list.code, 1, "{list:?}");
    assert_eq!(
        list.json(),
        json!({"generation": 1, "state": "failed", "assets": []})
    );
    assert_eq!(
        list.stderr,
        format!("error: the project is failed: {condition}\n")
    );
    let doctor = project.run(&["doctor"]);
    assert_eq!(doctor.code, 1, "{doctor:?}");
    assert!(
        doctor.stdout.starts_with(&format!(
            "error[project_failed]: the project is failed: {condition}\n"
        )),
        "{doctor:?}"
    );
    assert!(
        doctor.stdout.ends_with("1 error, 0 warnings\n"),
        "{doctor:?}"
    );
    // Tools see the same reason among the diagnostics.
    let doctor = project.run(&["doctor", "--json"]);
    assert_eq!(doctor.code, 1, "{doctor:?}");
    let diagnostics = &doctor.json()["diagnostics"];
    assert_eq!(diagnostics[0]["code"], "project_failed", "{doctor:?}");
    assert_eq!(
        diagnostics[0]["message"],
        format!("the project is failed: {condition}")
    );
    assert_eq!(project.tree(), before, "a read command wrote");

    // The next write rolls the transaction forward first, then does its own work on the
    // asset the interrupted commit created.
    let run = project.run(&["exclude", "sprites/hero", "--json"]);
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(
        run.stderr,
        format!("recovered an interrupted commit: transaction {tx} was rolled forward\n")
    );
    let written = read(&project, "sprites/hero/asset.json");
    let uuid = uuid_of(&written);
    assert_eq!(
        run.json(),
        json!({"generation": 2, "command_id": 1,
               "asset": blob_view(1, &uuid, "sprites/hero", "hero", &["hero.bin"], false)})
    );
    assert_eq!(written, declaration_bytes(&uuid, "hero", "hero.bin"));
    assert_eq!(
        read(&project, ".prometeu/index.json"),
        index(2, &[(1, &uuid, "sprites/hero", false)])
    );
    assert_eq!(file_state(&project, "sprites/hero/hero.bin"), input);
    assert_eq!(transactions(&project), Vec::<String>::new());
    let status = project.run(&["status", "--json"]);
    assert_eq!(status.code, 0, "{status:?}");
    assert_eq!(
        status.json(),
        json!({"generation": 1, "state": "ready", "drifts": []})
    );
}

/// A blob declaration as the packer writes it.
fn declaration_bytes(uuid: &str, name: &str, input: &str) -> String {
    format!(
        "{{\n  \"schema_version\": 1,\n  \"asset_uuid\": \"{uuid}\",\n  \"name\": \"{name}\",\n  \"kind\": \"blob\",\n  \"inputs\": [\"{input}\"],\n  \"output\": {{}}\n}}\n"
    )
}

/// A transaction recovery refuses is refused again before the command's own commit: the
/// person reads it once, with the refusal of the command.
#[test]
fn a_write_on_a_refused_recovery_says_so_once() {
    let project = fresh();
    let tx = "00000000000000000001-1";
    project.put(&format!(".prometeu/tx/{tx}/{INTENT_COMMITTED}"), b"garbage");
    let before = tree_but_lock(&project);
    let run = project.run(&["add", "a", "--kind", "blob", "--input", "a.bin"]);
    assert_eq!(run.code, 1, "{run:?}");
    assert_eq!(
        run.stderr.lines().next(),
        Some(format!("recovery refused: transaction {tx} cannot be finished safely; the project is failed until a person decides (`prometeu-packer doctor` says what to do)").as_str()),
        "{run:?}"
    );
    assert_eq!(run.stderr.matches("recovery refused").count(), 1, "{run:?}");
    assert_eq!(tree_but_lock(&project), before, "a refused write wrote");
}
