//! Inputs a person can make large (an asset with tens of thousands of inputs, a batch
//! of thousands of commands, a reconcile plan for thousands of moves) are handled in
//! time that grows with their size, not with its square: each test here is a case that
//! would not finish if one step searched a list once per item.

use std::sync::Arc;
use std::time::Duration;

use crate::fixture_text::U1;
use packer_app::observer::ObserverConfig;
use packer_app::runtime::{Ports, Runtime, WriteRequest};
use packer_domain::command::{Command, DeclarationChanges};
use packer_domain::path::AssetPath;
use packer_domain::registry::AssetId;
use packer_domain::snapshot::{AssetQuery, Snapshot};
use packer_memfs::{EventLog, ManualClock, MemFs, ScriptedWatcher};

/// A runtime with an observer (so that commits publish derived snapshots) over `fs`.
fn observed(fs: &MemFs) -> Runtime {
    let runtime = Runtime::open_observed(
        Ports {
            workspace: Arc::new(fs.clone()),
            events: Arc::new(EventLog::new()),
            clock: Arc::new(ManualClock::new()),
        },
        Arc::new(ScriptedWatcher::new()),
        ObserverConfig {
            periodic: None,
            debounce: Duration::from_secs(3600),
            max_delay: Duration::from_secs(3600),
            ..ObserverConfig::default()
        },
    );
    runtime.check_divergence();
    runtime
}

fn one_asset(inputs: usize) -> MemFs {
    let fs = MemFs::from_fixture(&format!(
        r#"
//- .prometeu/index.json
{{ "schema_version": 1, "next_asset_id": 2, "assets": [
{{ "asset_id": 1, "asset_uuid": "{U1}", "root": "big", "included_in_build": true }}
] }}
//- big/asset.json
{{ "schema_version": 1, "asset_uuid": "{U1}", "name": "big", "kind": "blob", "inputs": ["0"] }}
"#
    ))
    .unwrap();
    for i in 0..inputs {
        fs.write(&format!("big/{i}"), b"x");
    }
    fs
}

/// The snapshot derived after a commit resolves each declared input in the asset's
/// folder by name: looking each one up in the folder's listing took seconds for 40,000.
#[test]
fn an_update_to_tens_of_thousands_of_inputs_is_derived_in_one_pass() {
    // As many as the 1 MiB an asset.json may take hold, with names this short.
    const INPUTS: usize = 90_000;
    let fs = one_asset(INPUTS);
    let runtime = observed(&fs);
    let mut inputs: Vec<AssetPath> = (0..INPUTS)
        .map(|i| AssetPath::new(&i.to_string()).unwrap())
        .collect();
    // One missing, so that the derived snapshot has something to say about an input.
    inputs.push(AssetPath::new("gone.bin").unwrap());
    runtime
        .submit(WriteRequest {
            command: Command::UpdateDeclaration {
                asset: AssetQuery::Id(AssetId(1)),
                changes: DeclarationChanges {
                    inputs: Some(inputs),
                    ..DeclarationChanges::default()
                },
            },
            expected_generation: None,
        })
        .unwrap();
    let published = runtime.snapshot();
    assert_eq!(*published, Snapshot::load(&fs, published.generation()));
    let drifts: Vec<String> = published
        .drifts()
        .iter()
        .map(|d| format!("{d:?}"))
        .collect();
    assert_eq!(drifts.len(), 1, "{drifts:?}");
    assert!(drifts[0].contains("gone.bin"), "{drifts:?}");
    runtime.shutdown();
}
