//! Human renderings of the runtime's answers: tables, drift lines, and diagnostics in the
//! style of a compiler (code, place, the offending line with a caret, hint).

use std::fmt::Write as _;

use packer_app::views::{AssetView, DoctorView, ListView, StatusView};
use packer_domain::diagnostics::Diagnostic;
use packer_domain::drift::Drift;
use packer_domain::location::line_text;
use packer_domain::snapshot::AssetStatus;

use crate::project::ProjectDir;

/// `list`: a header line and one row per asset.
pub fn list(view: &ListView) -> String {
    let mut out = format!(
        "project {} · generation {} · {} asset{}\n",
        view.state,
        view.generation,
        view.assets.len(),
        plural(view.assets.len())
    );
    if view.assets.is_empty() {
        out.push_str("no assets are registered (add one with `prometeu-packer add`)\n");
        return out;
    }
    let rows: Vec<[String; 7]> = view
        .assets
        .iter()
        .map(|a| {
            [
                a.asset_id.to_string(),
                a.name.clone().unwrap_or_else(|| "?".to_owned()),
                a.kind.clone().unwrap_or_else(|| "?".to_owned()),
                a.root.to_string(),
                yes_no(a.included_in_build).to_owned(),
                status(a.status).to_owned(),
                a.asset_uuid.to_string(),
            ]
        })
        .collect();
    let header = ["ID", "NAME", "KIND", "ROOT", "BUILD", "STATUS", "UUID"];
    table(&mut out, &header, &rows);
    out
}

/// `show`: every field of one asset, and what is wrong with it.
pub fn show(
    asset: &AssetView,
    drifts: &[&Drift],
    diagnostics: &[&Diagnostic],
    project: &ProjectDir,
) -> String {
    let mut out = String::new();
    let name = asset.name.as_deref().unwrap_or("(declaration unreadable)");
    let _ = writeln!(out, "asset {}: {name}", asset.asset_id);
    let inputs = asset.inputs.as_ref().map(|inputs| {
        inputs
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    });
    let fields = [
        ("uuid", asset.asset_uuid.to_string()),
        ("root", asset.root.to_string()),
        ("kind", asset.kind.clone().unwrap_or_else(|| "?".to_owned())),
        ("inputs", inputs.unwrap_or_else(|| "?".to_owned())),
        (
            "output",
            asset
                .output
                .as_ref()
                .map_or_else(|| "?".to_owned(), ToString::to_string),
        ),
        (
            "build",
            if asset.included_in_build {
                "included"
            } else {
                "excluded"
            }
            .to_owned(),
        ),
        ("status", status(asset.status).to_owned()),
    ];
    for (key, value) in fields {
        let _ = writeln!(out, "  {key:<8} {value}");
    }
    if !drifts.is_empty() {
        out.push_str("drift:\n");
        for drift in drifts {
            let _ = writeln!(out, "  {}", drift_line(drift));
        }
    }
    for diagnostic in diagnostics {
        out.push('\n');
        out.push_str(&diagnostic_block(diagnostic, project));
    }
    out
}

/// `status`: the state, the generation, why the project is failed beyond its drift (an
/// interrupted commit), and every drift.
pub fn status_report(view: &StatusView, condition: Option<&str>) -> String {
    let mut out = format!("project {} · generation {}\n", view.state, view.generation);
    if let Some(condition) = condition {
        let _ = writeln!(out, "failed: {condition}");
    }
    if let Some(degraded) = &view.degraded {
        let _ = writeln!(out, "observer degraded: {degraded}");
    }
    if view.drifts.is_empty() {
        out.push_str("no drift: the registry and the disk agree\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{} drift{}:",
        view.drifts.len(),
        plural(view.drifts.len())
    );
    for drift in &view.drifts {
        let _ = writeln!(out, "  {}", drift_line(drift));
    }
    if view.drifts.iter().any(Drift::is_structural) {
        out.push_str(
            "run `prometeu-packer reconcile` to see the actions that resolve structural drift\n",
        );
    }
    out
}

/// `doctor`: why the project is failed beyond its files (an interrupted commit), every
/// diagnostic, then a count.
pub fn doctor(view: &DoctorView, condition: Option<&str>, project: &ProjectDir) -> String {
    let mut out = String::new();
    if let Some(condition) = condition {
        let _ = writeln!(out, "error: the project is failed: {condition}\n");
    }
    for diagnostic in &view.diagnostics {
        out.push_str(&diagnostic_block(diagnostic, project));
        out.push('\n');
    }
    let count = |severity| {
        view.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    };
    let (errors, warnings) = (
        count(packer_domain::diagnostics::Severity::Error) + usize::from(condition.is_some()),
        count(packer_domain::diagnostics::Severity::Warning),
    );
    if view.diagnostics.is_empty() && condition.is_none() {
        out.push_str("no problems found\n");
    } else {
        let _ = writeln!(
            out,
            "{errors} error{}, {warnings} warning{}",
            plural(errors),
            plural(warnings)
        );
    }
    out
}

/// One diagnostic, compiler style. The offending line is taken from the diagnostic,
/// or read from the file when the snapshot did not keep it.
pub fn diagnostic_block(d: &Diagnostic, project: &ProjectDir) -> String {
    let mut out = format!("{}[{}]: {}\n", d.severity, d.code, d.message);
    if let Some(file) = &d.file {
        match (d.line, d.column) {
            (Some(line), Some(column)) => {
                let _ = writeln!(out, "  --> {file}:{line}:{column}");
                let excerpt = d.excerpt.clone().or_else(|| {
                    std::fs::read(project.file(file))
                        .ok()
                        .and_then(|bytes| line_text(&bytes, line))
                });
                if let Some(text) = excerpt {
                    let number = line.to_string();
                    let pad = " ".repeat(number.len());
                    // Keep tabs so the caret lines up under the offending character.
                    let lead: String = text
                        .chars()
                        .take(column.saturating_sub(1) as usize)
                        .map(|c| if c == '\t' { '\t' } else { ' ' })
                        .collect();
                    let _ = writeln!(out, " {pad} |");
                    let _ = writeln!(out, " {number} | {text}");
                    let _ = writeln!(out, " {pad} | {lead}^");
                }
            }
            _ => {
                let _ = writeln!(out, "  --> {file}");
            }
        }
    }
    if let Some(hint) = &d.hint {
        let _ = writeln!(out, "  = hint: {hint}");
    }
    out
}

/// One drift in a line.
pub fn drift_line(drift: &Drift) -> String {
    let kind = drift.kind_name();
    let detail = match drift {
        Drift::DeclarationChanged { asset_id } => {
            format!("asset {asset_id}: asset.json changed on disk")
        }
        Drift::InputChanged { asset_id, path } => format!("asset {asset_id}: input {path} changed"),
        Drift::RegistryChanged => "index.json changed on disk".to_owned(),
        Drift::DeclarationInvalid { asset_id, error } => format!("asset {asset_id}: {error}"),
        Drift::RegistryInvalid { error } => error.to_string(),
        Drift::InputMissing { asset_id, path } => {
            format!("asset {asset_id}: input {path} is missing")
        }
        Drift::RootMissing { asset_id, root } => {
            format!("asset {asset_id}: {root} has no asset.json and no moved copy was found")
        }
        Drift::RootMoved { asset_id, from, to } => {
            format!("asset {asset_id}: moved {from} -> {to}")
        }
        Drift::UnregisteredAsset { root, asset_uuid } => match asset_uuid {
            Some(uuid) => format!("{root} is not registered (uuid {uuid})"),
            None => format!("{root} is not registered (no readable uuid)"),
        },
        Drift::DuplicateUuid {
            asset_id,
            asset_uuid,
            roots,
        } => {
            let roots: Vec<String> = roots.iter().map(ToString::to_string).collect();
            let owner = asset_id.map_or_else(String::new, |id| format!("asset {id}: "));
            format!(
                "{owner}uuid {asset_uuid} is declared in {}",
                roots.join(", ")
            )
        }
        Drift::UuidMismatch {
            asset_id,
            root,
            registered_uuid,
            declared_uuid,
        } => format!(
            "asset {asset_id}: {root}/asset.json declares {declared_uuid}, the registry has {registered_uuid}"
        ),
    };
    format!("{kind:<20} {detail}")
}

fn status(status: AssetStatus) -> &'static str {
    match status {
        AssetStatus::Ok => "ok",
        AssetStatus::Invalid => "invalid",
        AssetStatus::Missing => "missing",
        AssetStatus::Moved => "moved",
        AssetStatus::Conflict => "conflict",
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// Left-aligned columns, widths measured in characters.
fn table<const N: usize>(out: &mut String, header: &[&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            let pad = widths[i].saturating_sub(cell.chars().count());
            text.push_str(cell);
            if i + 1 < N {
                text.push_str(&" ".repeat(pad + 2));
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(&mut header.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
}
