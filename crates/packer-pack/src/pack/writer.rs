//! Writing a pack: the header and tables laid out in one buffer from what is known of
//! each payload (its length, parts and hash), so that the payloads themselves can be
//! fetched one by one as the file is written, and a pack larger than memory never has
//! to be held whole; or lent from wherever they already are, when they all are.

use packer_domain::declaration::OutputOptions;
use packer_domain::snapshot::ContentHash;
use uuid::Uuid;

use super::{
    ALIGNMENT, ASSET_RECORD_LEN, HEADER_LEN, MAGIC, PART_RECORD_LEN, PackError, TocEntry, VERSION,
    align_up, codes,
};
use crate::codec::Part;

/// One asset to pack, with its payload. Its payload's parts must be laid out as the
/// codecs lay them out (aligned, zero between), and `hash` must be blake3 of `payload`.
#[derive(Debug, Clone, Copy)]
pub struct PackInput<'a> {
    pub asset_id: u64,
    pub asset_uuid: Uuid,
    pub output: OutputOptions,
    pub parts: &'a [Part],
    pub payload: &'a [u8],
    pub hash: ContentHash,
}

/// One asset as the layout needs it: what the tables say of it, without its payload,
/// which the writer fetches only when its turn comes.
#[derive(Debug, Clone, Copy)]
pub struct PackEntry<'a> {
    pub asset_id: u64,
    pub asset_uuid: Uuid,
    pub output: OutputOptions,
    pub parts: &'a [Part],
    /// The payload's length in bytes.
    pub length: u64,
    /// blake3 of the payload.
    pub hash: ContentHash,
}

/// Where everything of a pack goes: the file is [`head`](Self::head), then each
/// payload in table order followed by [`padding_after`](Self::padding_after) it.
#[derive(Debug, Clone)]
pub struct PackLayout {
    /// Header, tables and the padding up to the first payload.
    head: Vec<u8>,
    /// The zero padding after each payload, before the next one.
    pads: Vec<usize>,
    /// What the table of contents says, in `asset_id` order.
    pub toc: Vec<TocEntry>,
    /// The file's length.
    pub len: u64,
    pub index_hash: ContentHash,
}

/// Zero bytes to pad with: padding is always shorter than [`ALIGNMENT`].
const ZEROS: [u8; ALIGNMENT as usize] = [0; ALIGNMENT as usize];

impl PackLayout {
    /// The bytes before the first payload.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// The zeros that follow the payload of the `index`-th asset.
    pub fn padding_after(&self, index: usize) -> &'static [u8] {
        let pad = self.pads.get(index).copied().unwrap_or(0);
        ZEROS.get(..pad).unwrap_or_default()
    }
}

/// A pack whose payloads are all in memory: the concatenation of
/// [`chunks`](Self::chunks).
#[derive(Debug, Clone)]
pub struct PackImage<'a> {
    pub layout: PackLayout,
    payloads: Vec<&'a [u8]>,
}

impl PackImage<'_> {
    /// The pieces of the file, in order.
    pub fn chunks(&self) -> Vec<&[u8]> {
        let mut chunks = Vec::with_capacity(1 + 2 * self.payloads.len());
        chunks.push(self.layout.head());
        for (index, payload) in self.payloads.iter().enumerate() {
            chunks.push(payload);
            let pad = self.layout.padding_after(index);
            if !pad.is_empty() {
                chunks.push(pad);
            }
        }
        chunks
    }

    /// The whole file in one buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.chunks().concat()
    }
}

/// Lays out a pack of `assets` held in memory; see [`layout`].
pub fn write<'a>(assets: &[PackInput<'a>]) -> Result<PackImage<'a>, PackError> {
    let entries: Vec<PackEntry<'_>> = assets
        .iter()
        .map(|asset| PackEntry {
            asset_id: asset.asset_id,
            asset_uuid: asset.asset_uuid,
            output: asset.output,
            parts: asset.parts,
            length: asset.payload.len() as u64,
            hash: asset.hash,
        })
        .collect();
    Ok(PackImage {
        layout: layout(&entries)?,
        payloads: assets.iter().map(|asset| asset.payload).collect(),
    })
}

/// Lays out a pack of `assets`, which must be in strictly increasing `asset_id` order,
/// each with at least one part.
pub fn layout(assets: &[PackEntry<'_>]) -> Result<PackLayout, PackError> {
    let fail = |message: String| PackError::at(0, message);
    let asset_count = u32::try_from(assets.len()).map_err(|_| {
        fail(format!(
            "{} assets are more than a pack holds",
            assets.len()
        ))
    })?;
    let part_total: usize = assets.iter().map(|a| a.parts.len()).sum();
    let part_count = u32::try_from(part_total)
        .map_err(|_| fail(format!("{part_total} parts are more than a pack holds")))?;
    let tables_end = HEADER_LEN
        + u64::from(asset_count) * ASSET_RECORD_LEN
        + u64::from(part_count) * PART_RECORD_LEN;

    let mut toc = Vec::with_capacity(assets.len());
    let mut pads: Vec<usize> = Vec::with_capacity(assets.len());
    let mut end = tables_end;
    let mut previous = 0u64;
    for asset in assets {
        if asset.asset_id <= previous {
            return Err(fail(format!(
                "asset {} comes after asset {previous}: ids must be positive and increasing",
                asset.asset_id
            )));
        }
        previous = asset.asset_id;
        if asset.parts.is_empty() {
            return Err(fail(format!("asset {} has no parts", asset.asset_id)));
        }
        let offset = align_up(end);
        if let Some(pad) = pads.last_mut() {
            *pad = (offset - end) as usize;
        }
        pads.push(0);
        toc.push(TocEntry {
            asset_id: asset.asset_id,
            asset_uuid: asset.asset_uuid,
            output: asset.output,
            offset,
            length: asset.length,
            hash: asset.hash,
            parts: asset.parts.to_vec(),
        });
        end = offset.checked_add(asset.length).ok_or_else(|| {
            fail(format!(
                "asset {} is larger than a pack holds",
                asset.asset_id
            ))
        })?;
    }
    let data_start = toc.first().map_or(tables_end, |first| first.offset);

    let mut head = Vec::with_capacity(data_start as usize);
    head.extend_from_slice(&MAGIC);
    head.extend_from_slice(&VERSION.to_le_bytes());
    head.extend_from_slice(&asset_count.to_le_bytes());
    head.extend_from_slice(&part_count.to_le_bytes());
    head.extend_from_slice(&(ALIGNMENT as u32).to_le_bytes());
    head.extend_from_slice(&end.to_le_bytes());
    // The index hash goes here once the tables are written.
    head.extend_from_slice(&[0; 32]);
    let mut first_part = 0u32;
    for entry in &toc {
        let (kind, format) = codes(&entry.output);
        head.extend_from_slice(&entry.asset_id.to_le_bytes());
        head.extend_from_slice(entry.asset_uuid.as_bytes());
        head.extend_from_slice(&[kind, format, 0, 0]);
        head.extend_from_slice(&first_part.to_le_bytes());
        // Each asset's part count fits: the total does.
        let parts = entry.parts.len() as u32;
        head.extend_from_slice(&parts.to_le_bytes());
        head.extend_from_slice(&[0; 4]);
        head.extend_from_slice(&entry.offset.to_le_bytes());
        head.extend_from_slice(&entry.length.to_le_bytes());
        head.extend_from_slice(&entry.hash.0);
        first_part += parts;
    }
    for part in toc.iter().flat_map(|entry| &entry.parts) {
        head.extend_from_slice(&part.offset.to_le_bytes());
        head.extend_from_slice(&part.length.to_le_bytes());
        for word in part.info.words() {
            head.extend_from_slice(&word.to_le_bytes());
        }
    }
    let index_hash = index_hash(&head);
    head[32..64].copy_from_slice(&index_hash.0);
    head.resize(data_start as usize, 0);
    Ok(PackLayout {
        head,
        pads,
        toc,
        len: end,
        index_hash,
    })
}

/// blake3 of the header's first 32 bytes and the tables that follow the header.
pub(super) fn index_hash(head_and_tables: &[u8]) -> ContentHash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(head_and_tables.get(..32).unwrap_or_default());
    hasher.update(
        head_and_tables
            .get(HEADER_LEN as usize..)
            .unwrap_or_default(),
    );
    ContentHash(*hasher.finalize().as_bytes())
}
