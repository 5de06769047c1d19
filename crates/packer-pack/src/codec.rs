//! The codecs: pure functions from an asset's input bytes to the payload `build` packs,
//! one per kind (`image.rs`, `audio.rs`, `data.rs`, `blob.rs`). Each input becomes one
//! [`Part`] of the asset's payload, in declaration order, at an aligned offset.
//!
//! The output of a codec depends on the input bytes and the `output` options only, and
//! [`CODEC_VERSION`] names the exact behaviour: the build cache keys its entries with it,
//! so any change to what a codec produces must bump it.

mod audio;
mod blob;
mod data;
mod image;

use packer_domain::declaration::{OutputOptions, PixelFormat};

use crate::pack::{ALIGNMENT, align_up};

/// The version of every codec's behaviour together. Bump it whenever a codec would
/// produce different bytes for the same input and options.
pub const CODEC_VERSION: u32 = 3;

/// Most pixels an image may have (16384 × 16384 is 2^28): far above any sprite sheet,
/// and its RGBA form still fits in memory.
pub const MAX_IMAGE_PIXELS: u64 = 1 << 28;

/// Most entries an `indexed8` palette has.
pub const MAX_PALETTE: u32 = 256;

/// What one input became, as the pack's part table records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartInfo {
    /// Pixels, row-major from the top row. `palette_len` is 0 for `rgba8`; for
    /// `indexed8` the part starts with that many RGBA palette entries.
    Image {
        width: u32,
        height: u32,
        palette_len: u32,
    },
    /// Interleaved signed 16-bit little-endian samples.
    Audio {
        channels: u32,
        sample_rate: u32,
        frames: u32,
    },
    /// Bytes with no further structure (minified JSON, a blob).
    Bytes,
}

impl PartInfo {
    /// The four metadata words of a part record (`docs/pack-format.md`).
    pub fn words(&self) -> [u32; 4] {
        match *self {
            PartInfo::Image {
                width,
                height,
                palette_len,
            } => [width, height, palette_len, 0],
            PartInfo::Audio {
                channels,
                sample_rate,
                frames,
            } => [channels, sample_rate, frames, 0],
            PartInfo::Bytes => [0; 4],
        }
    }

    /// The metadata of a part of an asset packed as `output`, from its four words,
    /// checked: what no codec could have produced is refused.
    pub fn from_words(output: &OutputOptions, words: [u32; 4]) -> Result<PartInfo, String> {
        let [a, b, c, d] = words;
        match output {
            OutputOptions::Image { format } => {
                let palette_ok = match format {
                    PixelFormat::Indexed8 => (1..=MAX_PALETTE).contains(&c),
                    PixelFormat::Rgba8 => c == 0,
                };
                if a == 0 || b == 0 || !palette_ok || d != 0 {
                    return Err(format!(
                        "image metadata {words:?} is not a width, a height and a palette length valid for its format"
                    ));
                }
                Ok(PartInfo::Image {
                    width: a,
                    height: b,
                    palette_len: c,
                })
            }
            OutputOptions::Audio { .. } => {
                if a == 0 || b == 0 || d != 0 {
                    return Err(format!(
                        "audio metadata {words:?} is not a channel count, a sample rate and a frame count"
                    ));
                }
                Ok(PartInfo::Audio {
                    channels: a,
                    sample_rate: b,
                    frames: c,
                })
            }
            OutputOptions::Data | OutputOptions::Blob => {
                if words != [0; 4] {
                    return Err(format!("metadata {words:?} must be zero for its kind"));
                }
                Ok(PartInfo::Bytes)
            }
        }
    }

    /// How many bytes a part with this metadata has, when its kind fixes it. Metadata
    /// read from a file can mean more than `u64::MAX` bytes, which no part has: that is
    /// `u64::MAX`.
    pub fn expected_length(&self) -> Option<u64> {
        match *self {
            PartInfo::Image {
                width,
                height,
                palette_len,
            } => Some(
                (u64::from(palette_len) * 4)
                    .saturating_add(pixels(width, height).saturating_mul(pixel_bytes(palette_len))),
            ),
            PartInfo::Audio {
                channels, frames, ..
            } => Some((u64::from(channels) * u64::from(frames)).saturating_mul(2)),
            PartInfo::Bytes => None,
        }
    }
}

fn pixels(width: u32, height: u32) -> u64 {
    u64::from(width) * u64::from(height)
}

/// Bytes per pixel: an index with a palette, RGBA without.
fn pixel_bytes(palette_len: u32) -> u64 {
    if palette_len == 0 { 4 } else { 1 }
}

/// One input's place in its asset's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Part {
    /// From the start of the asset's payload; a multiple of [`ALIGNMENT`].
    pub offset: u64,
    pub length: u64,
    pub info: PartInfo,
}

/// An asset's packed form: every input's part, back to back at aligned offsets, with
/// zero bytes between them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub parts: Vec<Part>,
    pub payload: Vec<u8>,
}

impl Encoded {
    /// Lays `decoded` parts out in order at aligned offsets.
    fn lay_out(decoded: Vec<Decoded>) -> Encoded {
        let total: usize = decoded
            .iter()
            .map(|d| d.bytes.len() + ALIGNMENT as usize)
            .sum();
        let mut payload = Vec::with_capacity(total);
        let mut parts = Vec::with_capacity(decoded.len());
        for one in decoded {
            let offset = align_up(payload.len() as u64);
            // `offset` only rounds the length up to the next multiple of 16.
            payload.resize(offset as usize, 0);
            parts.push(Part {
                offset,
                length: one.bytes.len() as u64,
                info: one.info,
            });
            payload.extend_from_slice(&one.bytes);
        }
        Encoded { parts, payload }
    }
}

/// One input decoded, before it is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Decoded {
    info: PartInfo,
    bytes: Vec<u8>,
}

/// Why an input cannot be packed: the input (its index in the declaration) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("input {input}: {error}")]
pub struct InputError {
    pub input: usize,
    pub error: DecodeError,
}

/// Why one input's bytes cannot be decoded as its kind asks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("not a valid PNG: {0}")]
    Png(String),
    #[error("the PNG ends early: the file is truncated")]
    PngTruncated,
    #[error(
        "the image is {width}×{height} pixels; the packer takes at most {MAX_IMAGE_PIXELS} pixels"
    )]
    ImageTooLarge { width: u32, height: u32 },
    #[error("the image has more than 256 colours, more than `indexed8` can hold")]
    TooManyColours,
    #[error("pixel ({x}, {y}) uses palette entry {index}, but the palette has {len} entries")]
    IndexOutsidePalette {
        x: u32,
        y: u32,
        index: u32,
        len: u32,
    },
    #[error("unsupported WAV format: {0}")]
    WavUnsupported(String),
    #[error("not a valid WAV file: {0}")]
    Wav(String),
    #[error("the WAV file ends early: the file is truncated")]
    WavTruncated,
    #[error("{message}")]
    Json {
        line: u32,
        column: u32,
        message: String,
    },
    /// The decoder itself broke down on this input (a defect, here or in a codec
    /// library): the input fails, not the process running the build.
    #[error("the decoder broke down on this file ({0})")]
    DecoderFailed(String),
}

impl DecodeError {
    /// Line and column in the input, for the errors that have one.
    pub fn position(&self) -> Option<(u32, u32)> {
        match self {
            DecodeError::Json { line, column, .. } => Some((*line, *column)),
            _ => None,
        }
    }

    /// What a person can do about it.
    pub fn hint(&self) -> &'static str {
        match self {
            DecodeError::Png(_) | DecodeError::PngTruncated => {
                "export the image again as PNG from your editor"
            }
            DecodeError::ImageTooLarge { .. } => "split the image or scale it down",
            DecodeError::TooManyColours | DecodeError::IndexOutsidePalette { .. } => {
                "reduce the image to at most 256 colours, or use `\"format\": \"rgba8\"`"
            }
            DecodeError::WavUnsupported(_) => {
                "export it as WAV with integer PCM (8, 16, 24 or 32 bits) or 32-bit float samples"
            }
            DecodeError::Wav(_) | DecodeError::WavTruncated => {
                "export the sound again as WAV from your editor"
            }
            DecodeError::Json { .. } => "fix the JSON at that line and column",
            DecodeError::DecoderFailed(_) => {
                "this is a defect of the packer: export the file again from your editor, and report it with the file"
            }
        }
    }
}

/// Encodes an asset's inputs (in declaration order) as its `output` options ask. The
/// first input that cannot be decoded stops it.
pub fn encode(output: &OutputOptions, inputs: &[&[u8]]) -> Result<Encoded, InputError> {
    let decoded = inputs
        .iter()
        .enumerate()
        .map(|(input, bytes)| {
            guarded(|| decode_one(output, bytes)).map_err(|error| InputError { input, error })
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Encoded::lay_out(decoded))
}

/// Runs `decode`, turning a panic into [`DecodeError::DecoderFailed`]. Decoders are
/// pure: one that panics leaves no state half-changed, and what it was given is dropped
/// with it.
fn guarded(decode: impl FnOnce() -> Result<Decoded, DecodeError>) -> Result<Decoded, DecodeError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode))
        .unwrap_or_else(|panic| Err(DecodeError::DecoderFailed(panic_text(&*panic))))
}

/// What a panic said, when it said it in text.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    match (panic.downcast_ref::<&str>(), panic.downcast_ref::<String>()) {
        (Some(text), _) => (*text).to_owned(),
        (_, Some(text)) => text.clone(),
        _ => "no message".to_owned(),
    }
}

fn decode_one(output: &OutputOptions, bytes: &[u8]) -> Result<Decoded, DecodeError> {
    match output {
        OutputOptions::Image { format } => image::decode(bytes, *format),
        OutputOptions::Audio { format } => audio::decode(bytes, *format),
        OutputOptions::Data => data::minify(bytes),
        OutputOptions::Blob => Ok(blob::copy(bytes)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(decode: impl FnOnce() -> Result<Decoded, DecodeError>, expected: DecodeError) {
        assert_eq!(guarded(decode).err(), Some(expected));
    }

    #[test]
    fn a_decoder_that_panics_fails_its_input_only() {
        check(
            || panic!("index out of bounds"),
            DecodeError::DecoderFailed("index out of bounds".to_owned()),
        );
        let index = 7;
        check(
            || panic!("palette entry {index}"),
            DecodeError::DecoderFailed("palette entry 7".to_owned()),
        );
        check(
            || std::panic::panic_any(3_u8),
            DecodeError::DecoderFailed("no message".to_owned()),
        );
        check(|| Err(DecodeError::PngTruncated), DecodeError::PngTruncated);
    }
}
