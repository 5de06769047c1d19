//! `doctor`: every diagnostic a snapshot implies, positioned where a person can fix it.

use std::collections::{HashMap, HashSet};

use crate::diagnostics::{Code, Diagnostic, Severity};
use crate::drift::Drift;
use crate::path::AssetPath;
use crate::registry::AssetId;
use crate::snapshot::{
    AssetRecord, DeclarationState, InputState, RegistryState, Snapshot, input_error, registry_path,
};

/// See [`Snapshot::diagnostics`].
pub(crate) fn diagnostics(snapshot: &Snapshot) -> Vec<Diagnostic> {
    let mut out: Vec<Diagnostic> = snapshot.workspace_errors().to_vec();
    let entry_positions: &[(u32, u32)] = match snapshot.registry_state() {
        RegistryState::Invalid { errors, .. } => {
            out.extend(errors.iter().map(|e| e.to_diagnostic()));
            out.extend(snapshot.declaration_errors().iter().cloned());
            return out;
        }
        RegistryState::Valid {
            entry_positions, ..
        } => entry_positions,
    };
    // Drifts by asset, so a large project with many drifts stays linear.
    let mut by_asset: HashMap<AssetId, Vec<&Drift>> = HashMap::new();
    let mut unregistered_roots: HashSet<&AssetPath> = HashSet::new();
    for drift in snapshot.drifts() {
        if let Some(id) = drift.asset_id() {
            by_asset.entry(id).or_default().push(drift);
        }
        if let Drift::UnregisteredAsset { root, .. } = drift {
            unregistered_roots.insert(root);
        }
    }
    for (index, asset) in snapshot.assets().iter().enumerate() {
        let position = entry_positions.get(index).copied();
        let first = out.len();
        declaration_diagnostics(
            &mut out,
            &asset.entry.root,
            &asset.declaration,
            Severity::Error,
        );
        for drift in by_asset
            .get(&asset.entry.asset_id)
            .map_or(&[][..], Vec::as_slice)
        {
            if let Some(d) = drift_diagnostic(drift, asset, position) {
                out.push(d);
            }
        }
        for d in &mut out[first..] {
            d.asset_id = Some(asset.entry.asset_id);
        }
    }
    for drift in snapshot.drifts() {
        if let Drift::DuplicateUuid {
            asset_id: None,
            asset_uuid,
            roots,
        } = drift
        {
            out.push(duplicate_diagnostic(*asset_uuid, roots, None));
        }
    }
    // Each unregistered declaration, with the problems inside it: worth knowing before
    // adopting it.
    for found in snapshot.unregistered() {
        if unregistered_roots.contains(&found.root) {
            let root = &found.root;
            out.push(Diagnostic {
                code: Code::UnregisteredAsset,
                severity: Severity::Warning,
                file: Some(root.declaration_path().display_in_project()),
                line: Some(1),
                column: Some(1),
                message: format!("`{root}` holds an asset.json that the registry does not list"),
                hint: Some(
                    "adopt it with `prometeu-packer adopt` or `reconcile`, or delete the folder"
                        .to_owned(),
                ),
                excerpt: None,
                asset_id: None,
            });
        }
        declaration_diagnostics(&mut out, &found.root, &found.declaration, Severity::Warning);
    }
    out
}

fn declaration_diagnostics(
    out: &mut Vec<Diagnostic>,
    root: &AssetPath,
    state: &DeclarationState,
    severity: Severity,
) {
    match state {
        DeclarationState::Missing => {}
        DeclarationState::Invalid(invalid) => {
            out.extend(invalid.errors.iter().map(|e| Diagnostic {
                severity,
                ..e.to_diagnostic()
            }));
        }
        DeclarationState::Valid(valid) => {
            for (index, input) in valid.inputs.iter().enumerate() {
                let located_at = |code, message: String, hint: &str| {
                    let located = input_error(root, valid, index, "");
                    Diagnostic {
                        code,
                        severity,
                        file: Some(located.file),
                        line: Some(located.line),
                        column: Some(located.column),
                        message,
                        hint: Some(hint.to_owned()),
                        excerpt: None,
                        asset_id: None,
                    }
                };
                let name = valid
                    .declaration
                    .inputs
                    .get(index)
                    .map_or_else(String::new, |i| i.to_string());
                match input {
                    InputState::Present => {}
                    InputState::Missing => out.push(located_at(
                        Code::InputMissing,
                        format!("the input `{name}` does not exist in `{root}`"),
                        "restore the file, or remove it from `inputs`",
                    )),
                    InputState::NotConfined(reason) => out.push(located_at(
                        Code::InputNotConfined,
                        format!("the input `{name}` is not usable: {reason}"),
                        "inputs must be regular files inside the asset folder",
                    )),
                }
            }
        }
    }
}

fn drift_diagnostic(
    drift: &Drift,
    asset: &AssetRecord,
    position: Option<(u32, u32)>,
) -> Option<Diagnostic> {
    let registry_file = registry_path().display_in_project();
    let at_entry = |code, severity, message: String, hint: &str| Diagnostic {
        code,
        severity,
        file: Some(registry_file.clone()),
        line: position.map(|p| p.0),
        column: position.map(|p| p.1),
        message,
        hint: Some(hint.to_owned()),
        excerpt: None,
        asset_id: None,
    };
    let id = asset.entry.asset_id;
    Some(match drift {
        Drift::RootMissing { root, .. } => at_entry(
            Code::RootMissing,
            Severity::Error,
            format!(
                "asset {id}: its folder `{root}` has no asset.json and no moved copy was found"
            ),
            "restore the folder, or unregister the asset with `prometeu-packer reconcile`",
        ),
        Drift::RootMoved { from, to, .. } => at_entry(
            Code::RootMoved,
            Severity::Warning,
            format!("asset {id}: its folder moved from `{from}` to `{to}`"),
            "record the move with `prometeu-packer reconcile`",
        ),
        Drift::UuidMismatch {
            root,
            registered_uuid,
            declared_uuid,
            ..
        } => {
            let (line, column) = match &asset.declaration {
                DeclarationState::Valid(v) => v.uuid_position,
                _ => (1, 1),
            };
            Diagnostic {
                code: Code::UuidMismatch,
                severity: Severity::Error,
                file: Some(root.declaration_path().display_in_project()),
                line: Some(line),
                column: Some(column),
                message: format!(
                    "asset {id}: asset.json declares uuid {declared_uuid} but the registry has {registered_uuid}"
                ),
                hint: Some("accept the declared uuid with `prometeu-packer reconcile`, or restore the file".to_owned()),
                excerpt: None,
                asset_id: None,
            }
        }
        Drift::DuplicateUuid {
            asset_uuid, roots, ..
        } => duplicate_diagnostic(*asset_uuid, roots, Some(&asset.entry.root)),
        // Invalid declarations and inputs are reported from the declaration itself.
        Drift::DeclarationInvalid { .. }
        | Drift::InputMissing { .. }
        | Drift::DeclarationChanged { .. }
        | Drift::InputChanged { .. }
        | Drift::RegistryChanged
        | Drift::RegistryInvalid { .. }
        | Drift::UnregisteredAsset { .. } => return None,
    })
}

/// Points at a copy: the last root declaring the uuid that is not `registered_root`,
/// the owner's own folder (the one that keeps the uuid, not the one to fix).
fn duplicate_diagnostic(
    asset_uuid: uuid::Uuid,
    roots: &[AssetPath],
    registered_root: Option<&AssetPath>,
) -> Diagnostic {
    let listed: Vec<String> = roots.iter().map(|r| format!("`{r}`")).collect();
    let file = roots
        .iter()
        .rev()
        .find(|r| Some(*r) != registered_root)
        .map(|r| r.declaration_path().display_in_project());
    Diagnostic {
        code: Code::DuplicateUuid,
        severity: Severity::Error,
        file,
        line: Some(1),
        column: Some(1),
        message: format!("uuid {asset_uuid} is declared by {}", listed.join(" and ")),
        hint: Some(
            "a folder was copied; give the copy a fresh uuid with `prometeu-packer reconcile`"
                .to_owned(),
        ),
        excerpt: None,
        asset_id: None,
    }
}
