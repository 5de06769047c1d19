//! The cache index: what the last build learned about its inputs and its outputs, in a
//! compact binary form that a no-op build reads in one go.
//!
//! Layout (little-endian): magic `PRMTCIDX`, version (u32), input count (u32), output
//! count (u32), zero (u32); each input: path length (u32), path (UTF-8), size (u64),
//! mtime and ctime (i64 ns), inode (u64), content blake3 (32 bytes), settled (u8); each
//! output: location length (u32), location, build key (32), the pack's and the
//! manifest's fingerprints (32 each, as above), the pack's length (u64), its asset count
//! (u64); then blake3 of everything before (32). A file that fails any check is ignored
//! whole: the build then hashes every input again.

use std::collections::HashMap;

use packer_domain::ports::Fingerprint;
use packer_domain::snapshot::ContentHash;

const MAGIC: [u8; 8] = *b"PRMTCIDX";
const VERSION: u32 = 1;

/// An input as the last build saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputRecord {
    /// The workspace path.
    pub path: String,
    pub fingerprint: Fingerprint,
    pub hash: ContentHash,
    /// Whether the file's times were far enough in the past when it was hashed that a
    /// later change must move them: only then does an unchanged fingerprint prove an
    /// unchanged content.
    pub settled: bool,
}

/// What a build last wrote to one output folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputRecord {
    /// [`PackOutput::location`](packer_domain::ports::PackOutput::location).
    pub location: String,
    /// What decides the bytes of the pack and the manifest.
    pub build_key: ContentHash,
    pub pack: Fingerprint,
    pub manifest: Fingerprint,
    pub pack_len: u64,
    pub assets: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CacheIndex {
    pub inputs: Vec<InputRecord>,
    pub outputs: Vec<OutputRecord>,
}

impl CacheIndex {
    /// The inputs by path.
    pub fn input_map(&self) -> HashMap<&str, &InputRecord> {
        self.inputs.iter().map(|r| (r.path.as_str(), r)).collect()
    }

    /// The record of the output folder `location`.
    pub fn output(&self, location: &str) -> Option<&OutputRecord> {
        self.outputs.iter().find(|o| o.location == location)
    }
}

pub fn encode_index(index: &CacheIndex) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + index.inputs.len() * 120);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(index.inputs.len() as u32).to_le_bytes());
    out.extend_from_slice(&(index.outputs.len() as u32).to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    for input in &index.inputs {
        put_str(&mut out, &input.path);
        put_fingerprint(&mut out, &input.fingerprint);
        out.extend_from_slice(&input.hash.0);
        out.push(u8::from(input.settled));
    }
    for output in &index.outputs {
        put_str(&mut out, &output.location);
        out.extend_from_slice(&output.build_key.0);
        put_fingerprint(&mut out, &output.pack);
        put_fingerprint(&mut out, &output.manifest);
        out.extend_from_slice(&output.pack_len.to_le_bytes());
        out.extend_from_slice(&output.assets.to_le_bytes());
    }
    let hash = blake3::hash(&out);
    out.extend_from_slice(hash.as_bytes());
    out
}

/// The index in `bytes`, or `None` when they are not a whole, undamaged index of this
/// version.
pub fn decode_index(bytes: &[u8]) -> Option<CacheIndex> {
    let body_len = bytes.len().checked_sub(32)?;
    let (body, trailer) = bytes.split_at(body_len);
    if blake3::hash(body).as_bytes() != trailer {
        return None;
    }
    let mut r = Reader { bytes: body, at: 0 };
    if r.take(8)? != MAGIC || r.u32()? != VERSION {
        return None;
    }
    let input_count = r.u32()? as usize;
    let output_count = r.u32()? as usize;
    r.u32()?;
    // Each record takes at least 80 bytes: a count beyond that is a lie.
    let mut inputs = Vec::with_capacity(input_count.min(body.len() / 80));
    for _ in 0..input_count {
        inputs.push(InputRecord {
            path: r.string()?,
            fingerprint: r.fingerprint()?,
            hash: ContentHash(r.array32()?),
            settled: match r.take(1)? {
                [0] => false,
                [1] => true,
                _ => return None,
            },
        });
    }
    let mut outputs = Vec::with_capacity(output_count.min(body.len() / 80));
    for _ in 0..output_count {
        outputs.push(OutputRecord {
            location: r.string()?,
            build_key: ContentHash(r.array32()?),
            pack: r.fingerprint()?,
            manifest: r.fingerprint()?,
            pack_len: r.u64()?,
            assets: r.u64()?,
        });
    }
    (r.at == body.len()).then_some(CacheIndex { inputs, outputs })
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(&(text.len() as u32).to_le_bytes());
    out.extend_from_slice(text.as_bytes());
}

fn put_fingerprint(out: &mut Vec<u8>, fp: &Fingerprint) {
    out.extend_from_slice(&fp.size.to_le_bytes());
    out.extend_from_slice(&fp.mtime_ns.to_le_bytes());
    out.extend_from_slice(&fp.ctime_ns.to_le_bytes());
    out.extend_from_slice(&fp.inode.to_le_bytes());
}

struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize) -> Option<&'b [u8]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(slice)
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)?.try_into().ok().map(u32::from_le_bytes)
    }

    fn u64(&mut self) -> Option<u64> {
        self.take(8)?.try_into().ok().map(u64::from_le_bytes)
    }

    fn i64(&mut self) -> Option<i64> {
        self.take(8)?.try_into().ok().map(i64::from_le_bytes)
    }

    fn array32(&mut self) -> Option<[u8; 32]> {
        self.take(32)?.try_into().ok()
    }

    fn string(&mut self) -> Option<String> {
        let len = self.u32()? as usize;
        std::str::from_utf8(self.take(len)?).ok().map(str::to_owned)
    }

    fn fingerprint(&mut self) -> Option<Fingerprint> {
        Some(Fingerprint {
            size: self.u64()?,
            mtime_ns: self.i64()?,
            ctime_ns: self.i64()?,
            inode: self.u64()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_ignores_damage() {
        let fp = Fingerprint {
            size: 3,
            mtime_ns: -5,
            ctime_ns: 7,
            inode: 9,
        };
        let index = CacheIndex {
            inputs: vec![InputRecord {
                path: "a/b.png".to_owned(),
                fingerprint: fp,
                hash: ContentHash::of(b"x"),
                settled: true,
            }],
            outputs: vec![OutputRecord {
                location: "build".to_owned(),
                build_key: ContentHash::of(b"k"),
                pack: fp,
                manifest: fp,
                pack_len: 64,
                assets: 0,
            }],
        };
        let bytes = encode_index(&index);
        assert_eq!(decode_index(&bytes), Some(index));
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 1;
            assert_eq!(decode_index(&damaged), None, "byte {i}");
        }
        assert_eq!(decode_index(&bytes[..bytes.len() - 1]), None);
        assert_eq!(
            decode_index(&encode_index(&CacheIndex::default())),
            Some(CacheIndex::default())
        );
    }
}
