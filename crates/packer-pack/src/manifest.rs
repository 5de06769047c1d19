//! `build/assets.manifest.json`: the pack's table of contents for people, with what the
//! pack itself does not carry — each asset's root, name and input files. Written with a
//! fixed key order, so the same pack gives the same manifest.

use packer_domain::snapshot::ContentHash;
use uuid::Uuid;

use crate::codec::{Part, PartInfo};
use crate::pack::{PACK_FILE, PackLayout, TocEntry, VERSION, format_name};

/// What the manifest says of an asset beyond the table of contents, in the same order.
#[derive(Debug, Clone, Copy)]
pub struct ManifestAsset<'a> {
    pub root: &'a str,
    pub name: &'a str,
    /// Relative to the root, in declaration order: one per part.
    pub inputs: &'a [&'a str],
}

#[derive(serde::Serialize)]
struct Manifest<'a> {
    format: &'static str,
    version: u32,
    pack: &'static str,
    bytes: u64,
    index_blake3: ContentHash,
    assets: Vec<EntryJson<'a, PartJson<'a>>>,
}

/// One entry of the table of contents as the manifest and `inspect --json` show it, in
/// the pack format's order; `format` only for kinds that have one. The manifest adds
/// the asset's root and name (`names`), and each part's input (`P`).
#[derive(Debug, serde::Serialize)]
pub struct EntryJson<'a, P> {
    asset_id: u64,
    asset_uuid: Uuid,
    #[serde(flatten)]
    names: Option<Names<'a>>,
    kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    format: Option<&'static str>,
    offset: u64,
    length: u64,
    blake3: ContentHash,
    parts: Vec<P>,
}

#[derive(Debug, serde::Serialize)]
struct Names<'a> {
    root: &'a str,
    name: &'a str,
}

impl<'a, P> EntryJson<'a, P> {
    fn of(entry: &TocEntry, names: Option<Names<'a>>, parts: Vec<P>) -> EntryJson<'a, P> {
        EntryJson {
            asset_id: entry.asset_id,
            asset_uuid: entry.asset_uuid,
            names,
            kind: entry.kind().as_str(),
            format: format_name(&entry.output),
            offset: entry.offset,
            length: entry.length,
            blake3: entry.hash,
            parts,
        }
    }
}

impl EntryJson<'static, PartFacts> {
    /// The entry as the pack alone tells it (`inspect --json`).
    pub fn of_pack(entry: &TocEntry) -> EntryJson<'static, PartFacts> {
        EntryJson::of(entry, None, entry.parts.iter().map(PartFacts::of).collect())
    }
}

#[derive(serde::Serialize)]
struct PartJson<'a> {
    input: &'a str,
    #[serde(flatten)]
    facts: PartFacts,
}

/// What the pack says of one part, as the manifest and `inspect --json` show it: where
/// it lies in the payload, and what its codec says of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PartFacts {
    pub offset: u64,
    pub length: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub palette: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channels: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames: Option<u32>,
}

impl PartFacts {
    pub fn of(part: &Part) -> PartFacts {
        let mut facts = PartFacts {
            offset: part.offset,
            length: part.length,
            width: None,
            height: None,
            palette: None,
            channels: None,
            sample_rate: None,
            frames: None,
        };
        match part.info {
            PartInfo::Image {
                width,
                height,
                palette_len,
            } => {
                facts.width = Some(width);
                facts.height = Some(height);
                facts.palette = (palette_len > 0).then_some(palette_len);
            }
            PartInfo::Audio {
                channels,
                sample_rate,
                frames,
            } => {
                facts.channels = Some(channels);
                facts.sample_rate = Some(sample_rate);
                facts.frames = Some(frames);
            }
            PartInfo::Bytes => {}
        }
        facts
    }
}

/// The manifest of `pack`, whose table of contents lists the assets of `assets` in the
/// same order.
pub fn manifest(pack: &PackLayout, assets: &[ManifestAsset<'_>]) -> Vec<u8> {
    let assets = pack
        .toc
        .iter()
        .zip(assets)
        .map(|(entry, extra)| {
            let names = Names {
                root: extra.root,
                name: extra.name,
            };
            let parts = entry
                .parts
                .iter()
                .enumerate()
                .map(|(i, part)| PartJson {
                    input: extra.inputs.get(i).copied().unwrap_or_default(),
                    facts: PartFacts::of(part),
                })
                .collect();
            EntryJson::of(entry, Some(names), parts)
        })
        .collect();
    let manifest = Manifest {
        format: "prometeu-pack",
        version: VERSION,
        pack: PACK_FILE,
        bytes: pack.len,
        index_blake3: pack.index_hash,
        assets,
    };
    // Plain data with string keys: serialising cannot fail.
    let mut out = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    out.push(b'\n');
    out
}
