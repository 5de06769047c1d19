//! `inspect PACK`: verifies a pack file — magic, version, bounds, the index hash, every
//! payload's hash, table order, padding — and lists what it holds. Needs no project.
//! Exit 1 when the file is not a valid pack.

use std::path::Path;

use anyhow::Context;
use packer_app::error::{AppError, ErrorCode};
use packer_domain::snapshot::ContentHash;
use packer_pack::codec::PartInfo;
use packer_pack::manifest::{EntryJson, PartFacts};
use packer_pack::pack::{self, Pack, format_name};
use serde_json::json;

use crate::commands::build::size;
use crate::commands::{CommandResult, Outcome};
use crate::output::Output;

pub fn inspect(out: &Output<'_>, pack_path: &Path) -> CommandResult {
    let path = out.cwd().join(pack_path);
    let bytes = read_file(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let shown = pack_path.display().to_string();
    let pack = pack::read(&bytes).map_err(|e| {
        AppError::new(
            ErrorCode::Invalid,
            format!("{shown} is not a valid pack: {e}"),
        )
        .with_detail(json!({ "file": shown, "offset": e.offset, "reason": e.message }))
    })?;
    if out.json {
        out.json(&to_json(&shown, &pack));
    } else {
        out.stdout(render(&shown, &pack).trim_end());
    }
    Ok(Outcome::Success)
}

/// The bytes of the regular file at `path`. A FIFO, a device or a folder is refused
/// before it is read: reading one could wait for a writer or never end.
fn read_file(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read;
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    let flags =
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::CLOEXEC;
    let fd =
        rustix::fs::open(path, flags, rustix::fs::Mode::empty()).map_err(std::io::Error::from)?;
    let stat = rustix::fs::fstat(&fd).map_err(std::io::Error::from)?;
    if rustix::fs::FileType::from_raw_mode(stat.st_mode) != rustix::fs::FileType::RegularFile {
        anyhow::bail!("it is not a regular file");
    }
    let mut bytes = Vec::new();
    std::fs::File::from(fd).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The `--json` form: `{"pack", "valid", "version", "bytes", "index_blake3", "assets"}`,
/// the manifest's shape without what only the project knows (roots, names, inputs).
#[derive(serde::Serialize)]
struct PackJson<'a> {
    pack: &'a str,
    valid: bool,
    version: u32,
    bytes: u64,
    index_blake3: ContentHash,
    assets: Vec<EntryJson<'static, PartFacts>>,
}

fn to_json<'a>(shown: &'a str, pack: &Pack) -> PackJson<'a> {
    PackJson {
        pack: shown,
        valid: true,
        version: pack.version,
        bytes: pack.len,
        index_blake3: pack.index_hash,
        assets: pack.entries.iter().map(EntryJson::of_pack).collect(),
    }
}

/// A header line and one row per asset.
fn render(shown: &str, pack: &Pack) -> String {
    let count = pack.entries.len();
    let mut out = format!(
        "{shown}: valid pack, version {}, {count} asset{}, {}\n",
        pack.version,
        if count == 1 { "" } else { "s" },
        size(pack.len)
    );
    let header = ["ID", "KIND", "FORMAT", "OFFSET", "LENGTH", "PARTS", "UUID"];
    let rows: Vec<[String; 7]> = pack
        .entries
        .iter()
        .map(|e| {
            [
                e.asset_id.to_string(),
                e.kind().as_str().to_owned(),
                format_name(&e.output).unwrap_or("-").to_owned(),
                e.offset.to_string(),
                e.length.to_string(),
                e.parts.iter().map(part_text).collect::<Vec<_>>().join(", "),
                e.asset_uuid.to_string(),
            ]
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in std::iter::once(header.map(str::to_owned)).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// `32×32`, `32×32 palette 12`, `2 ch 22050 Hz 4410 frames`, `118 B`.
fn part_text(part: &packer_pack::codec::Part) -> String {
    match part.info {
        PartInfo::Image {
            width,
            height,
            palette_len: 0,
        } => format!("{width}×{height}"),
        PartInfo::Image {
            width,
            height,
            palette_len,
        } => format!("{width}×{height} palette {palette_len}"),
        PartInfo::Audio {
            channels,
            sample_rate,
            frames,
        } => format!("{channels} ch {sample_rate} Hz {frames} frames"),
        PartInfo::Bytes => size(part.length),
    }
}
