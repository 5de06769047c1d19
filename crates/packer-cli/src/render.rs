//! Human renderings of the runtime's answers: tables, drift lines, and diagnostics in the
//! style of a compiler (code, place, the offending line with a caret, hint).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;

use packer_app::views::{AssetView, DoctorView, ListView, StatusView};
use packer_domain::diagnostics::Diagnostic;
use packer_domain::drift::Drift;
use packer_domain::location::{Excerpt, LineIndex};
use packer_domain::path::{PROMETEU_DIR, WsPath};
use packer_domain::ports::WorkspacePort;
use packer_domain::snapshot::{AssetStatus, MAX_DECLARATION_BYTES, MAX_REGISTRY_BYTES};
use unicode_width::UnicodeWidthStr as _;

/// Where the offending line of a diagnostic made without one (a drift placed in
/// `index.json` or an `asset.json`) is read from: the workspace port, which reads only
/// inside the workspace — never through a link out of it, never a FIFO or a device,
/// never more than the file's limit. Each file is read and indexed once.
pub struct Sources<'a> {
    port: &'a dyn WorkspacePort,
    read: RefCell<HashMap<String, Option<LineIndex<'static>>>>,
}

impl<'a> Sources<'a> {
    pub fn new(port: &'a dyn WorkspacePort) -> Sources<'a> {
        Sources {
            port,
            read: RefCell::new(HashMap::new()),
        }
    }

    /// The excerpt of `file` (named from the project root, as diagnostics name it) at
    /// `line` and `column`; `None` when it cannot be read inside the workspace.
    fn excerpt(&self, file: &str, line: u32, column: u32) -> Option<Excerpt> {
        let mut read = self.read.borrow_mut();
        let lines = read.entry(file.to_owned()).or_insert_with(|| {
            let rest = file.strip_prefix("assets/")?;
            let internal = rest
                .strip_prefix(PROMETEU_DIR)
                .and_then(|r| r.strip_prefix('/'));
            let (path, limit) = match internal {
                Some(internal) => (WsPath::internal(internal).ok()?, MAX_REGISTRY_BYTES),
                None => (WsPath::new(rest).ok()?, MAX_DECLARATION_BYTES),
            };
            let bytes = self.port.read(&path, limit).ok()?.bytes;
            Some(LineIndex::owned(bytes))
        });
        lines.as_ref()?.excerpt_at(line, column)
    }
}

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
    sources: &Sources<'_>,
) -> String {
    let mut out = String::new();
    // Without a name there is no declaration at the root: say why, as the status does.
    let name = asset.name.as_deref().unwrap_or(match asset.status {
        AssetStatus::Moved => "(its folder moved: see the drift below)",
        AssetStatus::Missing => "(its folder is gone)",
        _ => "(declaration unreadable)",
    });
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
        out.push_str(&diagnostic_block(diagnostic, sources));
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
pub fn doctor(view: &DoctorView, sources: &Sources<'_>) -> String {
    let mut out = String::new();
    for diagnostic in &view.diagnostics {
        out.push_str(&diagnostic_block(diagnostic, sources));
        out.push('\n');
    }
    let count = |severity| {
        view.diagnostics
            .iter()
            .filter(|d| d.severity == severity)
            .count()
    };
    let (errors, warnings) = (
        count(packer_domain::diagnostics::Severity::Error),
        count(packer_domain::diagnostics::Severity::Warning),
    );
    if view.diagnostics.is_empty() {
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
/// or read through `sources` when the snapshot did not keep it.
pub fn diagnostic_block(d: &Diagnostic, sources: &Sources<'_>) -> String {
    let mut out = format!("{}[{}]: {}\n", d.severity, d.code, d.message);
    if let Some(file) = &d.file {
        match (d.line, d.column) {
            (Some(line), Some(column)) => {
                let _ = writeln!(out, "  --> {file}:{line}:{column}");
                let excerpt = d
                    .excerpt
                    .clone()
                    .or_else(|| sources.excerpt(file, line, column));
                if let Some(Excerpt { text, caret }) = excerpt {
                    let number = line.to_string();
                    let pad = " ".repeat(number.len());
                    // Keep tabs so the caret lines up under the offending character.
                    let lead: String = text
                        .chars()
                        .take(caret.saturating_sub(1) as usize)
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

/// Left-aligned columns, widths measured in terminal columns: a name in Japanese or
/// with an emoji takes two per character, and the columns after it still line up.
fn table<const N: usize>(out: &mut String, header: &[&str; N], rows: &[[String; N]]) {
    let mut widths = header.map(|h| h.width());
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut text = String::new();
        for (i, cell) in cells.enumerate() {
            let pad = widths[i].saturating_sub(cell.width());
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
