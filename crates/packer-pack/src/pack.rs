//! The pack file, `build/assets.pak`: what its parts mean and the constants of its
//! layout (`docs/pack-format.md` is the normative description), the writer
//! (`writer.rs`) and the verifying reader (`reader.rs`).
//!
//! The layout is canonical: the same assets give the same bytes, and every byte is
//! covered by a check — the header and the tables by the index hash, each payload by its
//! own hash, padding by being zero, the end by the recorded length — so the reader
//! refuses any truncation and any flipped bit.

mod reader;
mod writer;

use packer_domain::declaration::{AssetKind, OutputOptions, PixelFormat, SampleFormat};
use packer_domain::snapshot::ContentHash;
use uuid::Uuid;

use crate::codec::Part;

pub use crate::pack::reader::read;
pub use crate::pack::writer::{PackEntry, PackImage, PackInput, PackLayout, layout, write};

/// The file's first eight bytes.
pub const MAGIC: [u8; 8] = *b"PRMTPACK";
/// The layout version this packer writes and reads.
pub const VERSION: u32 = 1;
/// Payloads and the parts inside them start at multiples of this.
pub const ALIGNMENT: u64 = 16;
/// Bytes of the fixed header.
pub const HEADER_LEN: u64 = 64;
/// Bytes of one asset record.
pub const ASSET_RECORD_LEN: u64 = 88;
/// Bytes of one part record.
pub const PART_RECORD_LEN: u64 = 32;
/// The pack's name in the build output folder.
pub const PACK_FILE: &str = "assets.pak";
/// The manifest's name in the build output folder.
pub const MANIFEST_FILE: &str = "assets.manifest.json";

/// `n` rounded up to a multiple of [`ALIGNMENT`] (saturating: no real file is near).
pub fn align_up(n: u64) -> u64 {
    n.div_ceil(ALIGNMENT).saturating_mul(ALIGNMENT)
}

/// One asset as the table of contents records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TocEntry {
    pub asset_id: u64,
    pub asset_uuid: Uuid,
    /// The kind and its pixel or sample format.
    pub output: OutputOptions,
    /// Where the payload starts in the file.
    pub offset: u64,
    pub length: u64,
    /// blake3 of the payload.
    pub hash: ContentHash,
    /// The payload's parts, one per input, offsets relative to the payload.
    pub parts: Vec<Part>,
}

impl TocEntry {
    pub fn kind(&self) -> AssetKind {
        kind_of(&self.output)
    }
}

/// A pack that passed every check of [`read`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pack {
    pub version: u32,
    /// The file's length in bytes.
    pub len: u64,
    /// blake3 of the header's first 32 bytes and both tables.
    pub index_hash: ContentHash,
    /// In `asset_id` order.
    pub entries: Vec<TocEntry>,
}

/// Why bytes are not a valid pack, and where the reader noticed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at byte {offset})")]
pub struct PackError {
    pub offset: u64,
    pub message: String,
}

impl PackError {
    fn at(offset: u64, message: impl Into<String>) -> PackError {
        PackError {
            offset,
            message: message.into(),
        }
    }
}

/// The kind an `output` belongs to.
pub fn kind_of(output: &OutputOptions) -> AssetKind {
    match output {
        OutputOptions::Image { .. } => AssetKind::Image,
        OutputOptions::Audio { .. } => AssetKind::Audio,
        OutputOptions::Data => AssetKind::Data,
        OutputOptions::Blob => AssetKind::Blob,
    }
}

/// The kind and format bytes of an asset record.
pub fn codes(output: &OutputOptions) -> (u8, u8) {
    match output {
        OutputOptions::Image {
            format: PixelFormat::Rgba8,
        } => (1, 1),
        OutputOptions::Image {
            format: PixelFormat::Indexed8,
        } => (1, 2),
        OutputOptions::Audio {
            format: SampleFormat::Pcm16,
        } => (2, 1),
        OutputOptions::Data => (3, 0),
        OutputOptions::Blob => (4, 0),
    }
}

/// The `output` that a kind and format byte stand for.
pub fn output_of(kind: u8, format: u8) -> Option<OutputOptions> {
    Some(match (kind, format) {
        (1, 1) => OutputOptions::Image {
            format: PixelFormat::Rgba8,
        },
        (1, 2) => OutputOptions::Image {
            format: PixelFormat::Indexed8,
        },
        (2, 1) => OutputOptions::Audio {
            format: SampleFormat::Pcm16,
        },
        (3, 0) => OutputOptions::Data,
        (4, 0) => OutputOptions::Blob,
        _ => return None,
    })
}

/// The name of a format, as `asset.json` spells it (`None` for kinds without one).
pub fn format_name(output: &OutputOptions) -> Option<&'static str> {
    match output {
        OutputOptions::Image {
            format: PixelFormat::Rgba8,
        } => Some("rgba8"),
        OutputOptions::Image {
            format: PixelFormat::Indexed8,
        } => Some("indexed8"),
        OutputOptions::Audio {
            format: SampleFormat::Pcm16,
        } => Some("pcm16"),
        OutputOptions::Data | OutputOptions::Blob => None,
    }
}
