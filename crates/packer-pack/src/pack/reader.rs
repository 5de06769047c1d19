//! The verifying reader: accepts a pack only in its canonical layout, with every hash
//! right and every padding byte zero, and says where it first found otherwise. Every
//! length is checked against the file before anything is sized by it, so no input makes
//! it panic or allocate more than the file's own size.

use packer_domain::declaration::OutputOptions;
use packer_domain::snapshot::ContentHash;
use uuid::Uuid;

use super::writer::index_hash;
use super::{
    ALIGNMENT, ASSET_RECORD_LEN, HEADER_LEN, MAGIC, PART_RECORD_LEN, Pack, PackError, TocEntry,
    VERSION, align_up, output_of,
};
use crate::codec::{Part, PartInfo};

/// Reads and verifies a whole pack.
pub fn read(bytes: &[u8]) -> Result<Pack, PackError> {
    let len = bytes.len() as u64;
    let at = Cursor { bytes };
    if len < HEADER_LEN {
        return Err(PackError::at(
            len,
            format!("the file has {len} bytes, fewer than a pack header's {HEADER_LEN}"),
        ));
    }
    if at.slice(0, 8)? != MAGIC {
        return Err(PackError::at(
            0,
            "not a Prometeu pack: the magic bytes are wrong",
        ));
    }
    let version = at.u32(8)?;
    if version != VERSION {
        return Err(PackError::at(
            8,
            format!("pack version {version}; this packer reads version {VERSION}"),
        ));
    }
    let asset_count = at.u32(12)?;
    let part_count = at.u32(16)?;
    let alignment = at.u32(20)?;
    if u64::from(alignment) != ALIGNMENT {
        return Err(PackError::at(
            20,
            format!("alignment {alignment}; version {VERSION} packs align to {ALIGNMENT}"),
        ));
    }
    let recorded_len = at.u64(24)?;
    if recorded_len != len {
        return Err(PackError::at(
            24,
            format!(
                "the header says the file has {recorded_len} bytes, but it has {len}: it is truncated or extended"
            ),
        ));
    }
    let assets_at = HEADER_LEN;
    let parts_at = assets_at + u64::from(asset_count) * ASSET_RECORD_LEN;
    let tables_end = parts_at + u64::from(part_count) * PART_RECORD_LEN;
    if tables_end > len {
        return Err(PackError::at(
            12,
            format!(
                "{asset_count} assets and {part_count} parts need {tables_end} bytes of tables; the file has {len}"
            ),
        ));
    }
    let recorded_hash = ContentHash(at.array32(32)?);
    let computed = index_hash(at.slice(0, tables_end)?);
    if computed != recorded_hash {
        return Err(PackError::at(
            32,
            "the index hash does not match the header and tables: they are damaged",
        ));
    }

    let mut entries = Vec::with_capacity(asset_count as usize);
    let mut end = tables_end;
    let mut next_part = 0u32;
    let mut previous_id = 0u64;
    for index in 0..u64::from(asset_count) {
        let record = assets_at + index * ASSET_RECORD_LEN;
        let asset_id = at.u64(record)?;
        if asset_id == 0 {
            return Err(PackError::at(record, "asset id 0: ids start at 1"));
        }
        if asset_id <= previous_id {
            return Err(PackError::at(
                record,
                format!(
                    "asset {asset_id} follows asset {previous_id}: the table must be in increasing id order"
                ),
            ));
        }
        previous_id = asset_id;
        let asset_uuid = Uuid::from_bytes(at.array16(record + 8)?);
        let (kind, format) = (at.byte(record + 24)?, at.byte(record + 25)?);
        let output = output_of(kind, format).ok_or_else(|| {
            PackError::at(
                record + 24,
                format!("asset {asset_id}: kind {kind} with format {format} is not defined"),
            )
        })?;
        zero(&at, record + 26, 2, asset_id)?;
        let first_part = at.u32(record + 28)?;
        let count = at.u32(record + 32)?;
        zero(&at, record + 36, 4, asset_id)?;
        if first_part != next_part
            || count == 0
            || u64::from(first_part) + u64::from(count) > u64::from(part_count)
        {
            return Err(PackError::at(
                record + 28,
                format!(
                    "asset {asset_id}: parts {first_part}..+{count} do not follow the previous asset's within {part_count} parts"
                ),
            ));
        }
        next_part = first_part + count;
        let offset = at.u64(record + 40)?;
        let length = at.u64(record + 48)?;
        let hash = ContentHash(at.array32(record + 56)?);
        let expected = align_up(end);
        if offset != expected {
            return Err(PackError::at(
                record + 40,
                format!(
                    "asset {asset_id}: payload at {offset}, but the layout puts it at {expected}"
                ),
            ));
        }
        let payload_end = offset.checked_add(length).filter(|&e| e <= len).ok_or_else(|| {
            PackError::at(
                record + 48,
                format!("asset {asset_id}: a payload of {length} bytes at {offset} runs past the end of the file"),
            )
        })?;
        zero(&at, end, offset - end, asset_id)?;
        let payload = at.slice(offset, length)?;
        let parts = parts(
            &at, parts_at, first_part, count, &output, payload, asset_id, offset,
        )?;
        if ContentHash::of(payload) != hash {
            return Err(PackError::at(
                offset,
                format!("asset {asset_id}: the payload does not match its hash: it is damaged"),
            ));
        }
        palette_indices(payload, &parts, asset_id, offset)?;
        entries.push(TocEntry {
            asset_id,
            asset_uuid,
            output,
            offset,
            length,
            hash,
            parts,
        });
        end = payload_end;
    }
    if next_part != part_count {
        return Err(PackError::at(
            16,
            format!("the header counts {part_count} parts; the assets use {next_part}"),
        ));
    }
    if end != len {
        return Err(PackError::at(
            end,
            format!("{} bytes follow the last payload", len - end),
        ));
    }
    Ok(Pack {
        version,
        len,
        index_hash: recorded_hash,
        entries,
    })
}

/// The part records of one asset, checked against its payload.
#[allow(clippy::too_many_arguments)]
fn parts(
    at: &Cursor<'_>,
    parts_at: u64,
    first: u32,
    count: u32,
    output: &OutputOptions,
    payload: &[u8],
    asset_id: u64,
    payload_offset: u64,
) -> Result<Vec<Part>, PackError> {
    let payload_len = payload.len() as u64;
    let mut parts = Vec::with_capacity(count as usize);
    let mut end = 0u64;
    for i in 0..u64::from(count) {
        let record = parts_at + (u64::from(first) + i) * PART_RECORD_LEN;
        let offset = at.u64(record)?;
        let length = at.u64(record + 8)?;
        let words = [
            at.u32(record + 16)?,
            at.u32(record + 20)?,
            at.u32(record + 24)?,
            at.u32(record + 28)?,
        ];
        let fail = |message: String| {
            PackError::at(record, format!("asset {asset_id}, part {i}: {message}"))
        };
        let expected = if i == 0 { 0 } else { align_up(end) };
        if offset != expected {
            return Err(fail(format!(
                "at {offset}, but the layout puts it at {expected}"
            )));
        }
        let part_end = offset
            .checked_add(length)
            .filter(|&e| e <= payload_len)
            .ok_or_else(|| {
                fail(format!(
                    "{length} bytes at {offset} run past the payload's {payload_len}"
                ))
            })?;
        let info = PartInfo::from_words(output, words).map_err(fail)?;
        if let Some(wanted) = info.expected_length()
            && wanted != length
        {
            return Err(fail(format!(
                "its metadata means {wanted} bytes, but it has {length}"
            )));
        }
        if payload
            .get(end as usize..offset as usize)
            .is_some_and(|pad| pad.iter().any(|&b| b != 0))
        {
            return Err(PackError::at(
                payload_offset + end,
                format!("asset {asset_id}: padding before part {i} is not zero"),
            ));
        }
        parts.push(Part {
            offset,
            length,
            info,
        });
        end = part_end;
    }
    if end != payload_len {
        return Err(PackError::at(
            payload_offset + end,
            format!(
                "asset {asset_id}: its payload has {} bytes after its last part",
                payload_len - end
            ),
        ));
    }
    Ok(parts)
}

/// Fails unless every pixel of each `indexed8` part is an index into its palette: a
/// game looks a pixel's colour up there, so one past it would read outside the part.
fn palette_indices(
    payload: &[u8],
    parts: &[Part],
    asset_id: u64,
    payload_offset: u64,
) -> Result<(), PackError> {
    for (i, part) in parts.iter().enumerate() {
        let PartInfo::Image { palette_len, .. } = part.info else {
            continue;
        };
        if palette_len == 0 {
            continue;
        }
        // In the payload: the part's length is the one its metadata means.
        let pixels_at = part.offset + u64::from(palette_len) * 4;
        let pixels = usize::try_from(pixels_at)
            .ok()
            .zip(usize::try_from(part.offset + part.length).ok())
            .and_then(|(start, end)| payload.get(start..end))
            .unwrap_or_default();
        if let Some(n) = pixels.iter().position(|&p| u32::from(p) >= palette_len) {
            return Err(PackError::at(
                payload_offset + pixels_at + n as u64,
                format!(
                    "asset {asset_id}, part {i}: pixel {n} is palette entry {}, but the palette has {palette_len}",
                    pixels[n]
                ),
            ));
        }
    }
    Ok(())
}

/// Fails unless the `len` bytes at `offset` are zero.
fn zero(at: &Cursor<'_>, offset: u64, len: u64, asset_id: u64) -> Result<(), PackError> {
    match at.slice(offset, len)?.iter().position(|&b| b != 0) {
        None => Ok(()),
        Some(i) => Err(PackError::at(
            offset + i as u64,
            format!("asset {asset_id}: a reserved or padding byte is not zero"),
        )),
    }
}

/// Bounds-checked little-endian reads.
struct Cursor<'b> {
    bytes: &'b [u8],
}

impl<'b> Cursor<'b> {
    fn slice(&self, offset: u64, len: u64) -> Result<&'b [u8], PackError> {
        let start = usize::try_from(offset).ok();
        let end = offset
            .checked_add(len)
            .and_then(|e| usize::try_from(e).ok());
        match (start, end) {
            (Some(start), Some(end)) => self.bytes.get(start..end),
            _ => None,
        }
        .ok_or_else(|| {
            PackError::at(
                offset,
                format!("{len} bytes at {offset} lie past the end of the file"),
            )
        })
    }

    fn array<const N: usize>(&self, offset: u64) -> Result<[u8; N], PackError> {
        let slice = self.slice(offset, N as u64)?;
        let mut out = [0; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    fn byte(&self, offset: u64) -> Result<u8, PackError> {
        Ok(self.array::<1>(offset)?[0])
    }

    fn u32(&self, offset: u64) -> Result<u32, PackError> {
        self.array(offset).map(u32::from_le_bytes)
    }

    fn u64(&self, offset: u64) -> Result<u64, PackError> {
        self.array(offset).map(u64::from_le_bytes)
    }

    fn array16(&self, offset: u64) -> Result<[u8; 16], PackError> {
        self.array(offset)
    }

    fn array32(&self, offset: u64) -> Result<[u8; 32], PackError> {
        self.array(offset)
    }
}
