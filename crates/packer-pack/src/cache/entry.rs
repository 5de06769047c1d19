//! One cache entry: an asset's encoded payload with its parts, the key it was made for
//! and two hashes — one of the header and part records, one of the payload — so that a
//! damaged or misplaced entry is always noticed.
//!
//! Layout (little-endian): magic `PRMTCENT`, version (u32), part count (u32), key (32
//! bytes), payload blake3 (32), payload length (u64), header blake3 (32) of the 88 bytes
//! before it and the part records, the part records (32 bytes each, as in the pack), the
//! payload.

use packer_domain::declaration::OutputOptions;
use packer_domain::snapshot::ContentHash;

use crate::codec::{Encoded, Part, PartInfo};
use crate::pack::{PART_RECORD_LEN, align_up};

const MAGIC: [u8; 8] = *b"PRMTCENT";
const VERSION: u32 = 1;
const FIXED_LEN: usize = 120;

/// A verified cache entry; the payload stays in the buffer it was read into.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    bytes: Vec<u8>,
    payload_start: usize,
    pub parts: Vec<Part>,
    /// blake3 of the payload.
    pub hash: ContentHash,
}

impl Entry {
    pub fn payload(&self) -> &[u8] {
        self.bytes.get(self.payload_start..).unwrap_or_default()
    }

    /// An entry made from a fresh encoding, without going through bytes.
    pub fn from_encoded(encoded: Encoded, hash: ContentHash) -> Entry {
        Entry {
            bytes: encoded.payload,
            payload_start: 0,
            parts: encoded.parts,
            hash,
        }
    }
}

/// Why a cache file cannot be used; the build then encodes the asset again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("the entry is damaged: {0}")]
    Damaged(&'static str),
    #[error("the entry was made for another key")]
    WrongKey,
}

/// The bytes of the entry for `key` holding `parts` and `payload` (whose blake3 is
/// `hash`).
pub fn encode_entry(
    key: &ContentHash,
    parts: &[Part],
    payload: &[u8],
    hash: &ContentHash,
) -> Vec<u8> {
    let mut out =
        Vec::with_capacity(FIXED_LEN + parts.len() * PART_RECORD_LEN as usize + payload.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(parts.len() as u32).to_le_bytes());
    out.extend_from_slice(&key.0);
    out.extend_from_slice(&hash.0);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    let mut records = Vec::with_capacity(parts.len() * PART_RECORD_LEN as usize);
    for part in parts {
        records.extend_from_slice(&part.offset.to_le_bytes());
        records.extend_from_slice(&part.length.to_le_bytes());
        for word in part.info.words() {
            records.extend_from_slice(&word.to_le_bytes());
        }
    }
    let header_hash = header_hash(&out, &records);
    out.extend_from_slice(&header_hash.0);
    out.extend_from_slice(&records);
    out.extend_from_slice(payload);
    out
}

/// Verifies `bytes` as the entry for `key`, of an asset packed as `output`.
pub fn decode_entry(
    bytes: Vec<u8>,
    key: &ContentHash,
    output: &OutputOptions,
) -> Result<Entry, EntryError> {
    let damaged = EntryError::Damaged;
    let fixed = bytes
        .get(..FIXED_LEN)
        .ok_or(damaged("shorter than its header"))?;
    if fixed.get(..8) != Some(&MAGIC[..]) || u32_at(fixed, 8) != Some(VERSION) {
        return Err(damaged("not a cache entry of this version"));
    }
    let count = u32_at(fixed, 12).ok_or(damaged("no part count"))? as usize;
    if fixed.get(16..48) != Some(&key.0[..]) {
        return Err(EntryError::WrongKey);
    }
    let hash = ContentHash(array32(fixed, 48).ok_or(damaged("no payload hash"))?);
    let payload_len = u64_at(fixed, 80).ok_or(damaged("no payload length"))?;
    let records_len = count
        .checked_mul(PART_RECORD_LEN as usize)
        .ok_or(damaged("too many parts"))?;
    let payload_start = FIXED_LEN
        .checked_add(records_len)
        .filter(|&start| start <= bytes.len())
        .ok_or(damaged("the part records run past the end"))?;
    let records = bytes.get(FIXED_LEN..payload_start).unwrap_or_default();
    let recorded_header = array32(fixed, 88).ok_or(damaged("no header hash"))?;
    if header_hash(fixed.get(..88).unwrap_or_default(), records).0 != recorded_header {
        return Err(damaged("the header does not match its hash"));
    }
    let payload = bytes.get(payload_start..).unwrap_or_default();
    if payload.len() as u64 != payload_len || ContentHash::of(payload) != hash {
        return Err(damaged("the payload does not match its hash"));
    }
    let parts = read_parts(records, output, payload)?;
    Ok(Entry {
        bytes,
        payload_start,
        parts,
        hash,
    })
}

/// The part records, checked to lay the payload out as the codecs do.
fn read_parts(
    records: &[u8],
    output: &OutputOptions,
    payload: &[u8],
) -> Result<Vec<Part>, EntryError> {
    let damaged = EntryError::Damaged;
    let mut parts = Vec::with_capacity(records.len() / PART_RECORD_LEN as usize);
    let mut end = 0u64;
    for (i, record) in records.chunks_exact(PART_RECORD_LEN as usize).enumerate() {
        let offset = u64_at(record, 0).ok_or(damaged("a short part record"))?;
        let length = u64_at(record, 8).ok_or(damaged("a short part record"))?;
        let words = [16, 20, 24, 28].map(|at| u32_at(record, at).unwrap_or(u32::MAX));
        let info = PartInfo::from_words(output, words)
            .map_err(|_| damaged("a part's metadata is not valid for its kind"))?;
        let expected_offset = if i == 0 { 0 } else { align_up(end) };
        let fits = offset == expected_offset
            && offset
                .checked_add(length)
                .is_some_and(|e| e <= payload.len() as u64)
            && info.expected_length().is_none_or(|wanted| wanted == length);
        if !fits {
            return Err(damaged("a part lies outside the canonical layout"));
        }
        end = offset + length;
        parts.push(Part {
            offset,
            length,
            info,
        });
    }
    if parts.is_empty() || end != payload.len() as u64 {
        return Err(damaged("the parts do not cover the payload"));
    }
    Ok(parts)
}

fn header_hash(fixed: &[u8], records: &[u8]) -> ContentHash {
    let mut hasher = blake3::Hasher::new();
    hasher.update(fixed);
    hasher.update(records);
    ContentHash(*hasher.finalize().as_bytes())
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    bytes
        .get(at..at + 4)?
        .try_into()
        .ok()
        .map(u32::from_le_bytes)
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    bytes
        .get(at..at + 8)?
        .try_into()
        .ok()
        .map(u64::from_le_bytes)
}

fn array32(bytes: &[u8], at: usize) -> Option<[u8; 32]> {
    bytes.get(at..at + 32)?.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::encode;

    fn sample() -> (ContentHash, Encoded, ContentHash) {
        let output = OutputOptions::Blob;
        let encoded = encode(&output, &[b"abc", b"0123456789abcdefXYZ"]).unwrap();
        let hash = ContentHash::of(&encoded.payload);
        (ContentHash::of(b"key"), encoded, hash)
    }

    #[test]
    fn round_trips_and_refuses_every_flipped_byte() {
        let (key, encoded, hash) = sample();
        let bytes = encode_entry(&key, &encoded.parts, &encoded.payload, &hash);
        let entry = decode_entry(bytes.clone(), &key, &OutputOptions::Blob).unwrap();
        assert_eq!(entry.payload(), encoded.payload);
        assert_eq!(entry.parts, encoded.parts);
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x10;
            assert!(
                decode_entry(damaged, &key, &OutputOptions::Blob).is_err(),
                "byte {i}"
            );
        }
        for len in 0..bytes.len() {
            assert!(decode_entry(bytes[..len].to_vec(), &key, &OutputOptions::Blob).is_err());
        }
        let other = ContentHash::of(b"other");
        assert_eq!(
            decode_entry(bytes, &other, &OutputOptions::Blob),
            Err(EntryError::WrongKey)
        );
    }
}
