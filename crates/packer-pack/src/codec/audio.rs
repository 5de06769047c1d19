//! `audio`: a WAV file (integer PCM of 8 to 32 bits, or 32-bit float, through `hound`)
//! decoded to interleaved signed 16-bit little-endian samples, with its channel count
//! and sample rate kept.
//!
//! Conversion to 16 bits: wider integers keep their high 16 bits (an arithmetic shift
//! right, which rounds towards minus infinity); narrower ones are shifted left (8-bit
//! `0x80` silence becomes 0); floats are clamped to [-1, 1], multiplied by 32767 and
//! rounded half away from zero, NaN becoming 0.

use std::io::Cursor;

use packer_domain::declaration::SampleFormat;

use super::{DecodeError, Decoded, PartInfo};

pub(super) fn decode(bytes: &[u8], format: SampleFormat) -> Result<Decoded, DecodeError> {
    match format {
        SampleFormat::Pcm16 => decode_pcm16(bytes),
    }
}

/// The `data` length of a WAV written to a pipe (by `ffmpeg`, say), which cannot seek
/// back to fill it in: the samples run to the end of the file. Never a real length: it
/// is past the largest input the packer reads.
const STREAMED_LENGTH: u32 = u32::MAX;

fn decode_pcm16(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    if let Some((tag, bits)) = format_of(bytes)
        && !readable(tag, bits)
    {
        return Err(DecodeError::WavUnsupported(describe_format(bytes)));
    }
    let justified = with_valid_bits_of_container(bytes);
    let bytes_read = justified.as_deref().unwrap_or(bytes);
    let canonical = canonical_wav(bytes_read);
    let readable_bytes = canonical.as_deref().unwrap_or(bytes_read);
    let mut reader =
        hound::WavReader::new(Cursor::new(readable_bytes)).map_err(|e| wav_error(e, bytes))?;
    let spec = reader.spec();
    // `hound` takes any rate, but a pack part needs one (a reader refuses 0 Hz).
    if spec.sample_rate == 0 {
        return Err(DecodeError::Wav("the sample rate is 0 Hz".to_owned()));
    }
    let channels = u32::from(spec.channels);
    let mut out: Vec<u8> = Vec::with_capacity(reader.len() as usize * 2);
    match spec.sample_format {
        hound::SampleFormat::Int => {
            let bits = u32::from(spec.bits_per_sample);
            if !(1..=32).contains(&bits) {
                return Err(DecodeError::WavUnsupported(format!(
                    "{bits}-bit integer samples"
                )));
            }
            for sample in reader.samples::<i32>() {
                let sample = sample.map_err(|e| wav_error(e, bytes))?;
                out.extend_from_slice(&int_to_16(sample, bits).to_le_bytes());
            }
        }
        hound::SampleFormat::Float => {
            for sample in reader.samples::<f32>() {
                let sample = sample.map_err(|e| wav_error(e, bytes))?;
                out.extend_from_slice(&float_to_16(sample).to_le_bytes());
            }
        }
    }
    let samples = out.len() / 2;
    // `hound` refuses zero channels, and counts whole samples only.
    let channels_len = channels.max(1) as usize;
    if !samples.is_multiple_of(channels_len) {
        return Err(DecodeError::WavTruncated);
    }
    Ok(Decoded {
        info: PartInfo::Audio {
            channels,
            sample_rate: spec.sample_rate,
            frames: (samples / channels_len) as u32,
        },
        bytes: out,
    })
}

fn int_to_16(sample: i32, bits: u32) -> i16 {
    let wide = if bits > 16 {
        sample >> (bits - 16)
    } else {
        sample << (16 - bits)
    };
    // In range: a `bits`-bit sample shifted to 16 bits fits, and `hound` gives samples
    // of the width it reports.
    wide.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16
}

fn float_to_16(sample: f32) -> i16 {
    if sample.is_nan() {
        return 0;
    }
    let scaled = (f64::from(sample).clamp(-1.0, 1.0) * 32767.0).round();
    // Within ±32767 after the clamp.
    scaled as i16
}

fn wav_error(error: hound::Error, bytes: &[u8]) -> DecodeError {
    match error {
        // `hound` says "Failed to read enough bytes." with no kind of its own.
        hound::Error::IoError(e)
            if e.kind() == std::io::ErrorKind::UnexpectedEof
                || e.to_string().contains("read enough bytes") =>
        {
            DecodeError::WavTruncated
        }
        hound::Error::Unsupported | hound::Error::TooWide => {
            DecodeError::WavUnsupported(describe_format(bytes))
        }
        hound::Error::FormatError(reason) if is_unsupported(reason) => {
            DecodeError::WavUnsupported(describe_format(bytes))
        }
        other => DecodeError::Wav(other.to_string()),
    }
}

/// Integer PCM of whole bytes up to 32 bits, 32-bit float, or the extensible header
/// (whose sub-format `hound` checks).
fn readable(tag: u16, bits: u16) -> bool {
    match tag {
        0x0001 => matches!(bits, 8 | 16 | 24 | 32),
        0x0003 => bits == 32,
        0xfffe => true,
        _ => false,
    }
}

/// The format tag and bits per sample of the `fmt ` chunk, when there is one.
fn format_of(bytes: &[u8]) -> Option<(u16, u16)> {
    let fmt = find_chunk(bytes, b"fmt ")?;
    let u16_at = |at: usize| {
        fmt.get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
    };
    Some((u16_at(0)?, u16_at(14)?))
}

/// The `hound` refusals that mean "valid, but a kind the packer does not read".
fn is_unsupported(reason: &str) -> bool {
    matches!(
        reason,
        "bits per sample is not 32" | "bits per sample is not 8 or 16"
    )
}

/// The format as the file's `fmt ` chunk states it, for people: "format tag 2 (ADPCM),
/// 4 bits per sample".
fn describe_format(bytes: &[u8]) -> String {
    let Some((tag, bits)) = format_of(bytes) else {
        return "the file has no readable `fmt ` chunk".to_owned();
    };
    let name = format_name(tag);
    if tag == 0xfffe
        && let Some(sub) = find_chunk(bytes, b"fmt ").and_then(|fmt| fmt.get(24..26))
    {
        // An extensible header's sub-format GUID starts with the format tag it stands for.
        let sub = u16::from_le_bytes([sub[0], sub[1]]);
        let sub_name = format_name(sub);
        return format!(
            "format tag {tag} ({name}) of sub-format {sub} ({sub_name}) with {bits} bits per sample"
        );
    }
    format!("format tag {tag} ({name}) with {bits} bits per sample")
}

fn format_name(tag: u16) -> &'static str {
    match tag {
        0x0001 => "integer PCM",
        0x0002 => "Microsoft ADPCM",
        0x0003 => "IEEE float",
        0x0006 => "A-law",
        0x0007 => "µ-law",
        0x0011 => "IMA ADPCM",
        0x0055 => "MP3",
        0xfffe => "extensible",
        _ => "unknown",
    }
}

/// The file as its `fmt ` and `data` chunks alone, when a chunk before `data` would
/// lead `hound` astray: it skips a chunk of odd length without the pad byte RIFF adds,
/// and reads only the first 4 bytes of a `fact` chunk. `None` when it reads the file
/// as it is, or when the chunks cannot be walked (then `hound` says what is wrong).
/// `data` keeps its stated length, so a cut file still reads as truncated, except the
/// length [`STREAMED_LENGTH`], which becomes the rest of the file.
fn canonical_wav(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.get(0..4)? != b"RIFF" || bytes.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut at = 12usize;
    let mut fmt: Option<&[u8]> = None;
    let mut misleading = false;
    while let Some(header) = bytes.get(at..at + 8) {
        let id = &header[0..4];
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let body = at + 8;
        if id == b"data" {
            let fmt = fmt?;
            let streamed = len == STREAMED_LENGTH;
            if !misleading && !streamed {
                return None;
            }
            let data = bytes.get(body..)?;
            // The whole frames of the rest of the file (a cut stream has nothing to tell
            // its last whole frame from an end); the size limit on inputs keeps it below
            // `u32::MAX`.
            let len = if streamed {
                let block = fmt
                    .get(12..14)
                    .map_or(1, |b| u16::from_le_bytes([b[0], b[1]]));
                let rest = data.len() - data.len() % usize::from(block.max(1));
                u32::try_from(rest).ok()?
            } else {
                len
            };
            let fmt_len = u32::try_from(fmt.len()).ok()?;
            let riff_len = fmt_len.checked_add(4 + 8 + 8)?.saturating_add(len);
            let mut out = Vec::with_capacity(28 + fmt.len() + data.len());
            out.extend_from_slice(b"RIFF");
            out.extend_from_slice(&riff_len.to_le_bytes());
            out.extend_from_slice(b"WAVEfmt ");
            out.extend_from_slice(&fmt_len.to_le_bytes());
            out.extend_from_slice(fmt);
            out.extend_from_slice(b"data");
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(data);
            return Some(out);
        }
        let end = body.checked_add(len as usize)?;
        if id == b"fmt " {
            fmt = Some(bytes.get(body..end)?);
        }
        misleading |= len % 2 == 1 || (id == b"fact" && len != 4);
        at = end.checked_add(len as usize % 2)?;
    }
    None
}

/// A copy of an extensible file whose samples have fewer valid bits than their
/// container, with the valid bits set to the container's. The format keeps the valid
/// bits at the top of each container (the bits below are zero), so the whole container
/// read as one integer is the sample at the container's width; `hound` instead takes the
/// valid bits from the bottom (a 24-bit sample in 32 bits loses its high byte) or
/// refuses the file (20 bits in 24). `None` when there is nothing to change.
fn with_valid_bits_of_container(bytes: &[u8]) -> Option<Vec<u8>> {
    let body = find_chunk_start(bytes, b"fmt ")?;
    // The 16 bytes of every format, then the extensible header's 2-byte size and its 22
    // bytes, whose first field is the valid bits.
    let fmt = find_chunk(bytes, b"fmt ").filter(|fmt| fmt.len() >= 40)?;
    let u16_at = |at: usize| u16::from_le_bytes([fmt[at], fmt[at + 1]]);
    let (tag, container, valid) = (u16_at(0), u16_at(14), u16_at(18));
    if tag != 0xfffe || u16_at(16) < 22 || valid == 0 || valid >= container {
        return None;
    }
    let mut out = bytes.to_vec();
    out[body + 18..body + 20].copy_from_slice(&container.to_le_bytes());
    Some(out)
}

/// The body of the first chunk `id` of a RIFF/WAVE file.
fn find_chunk<'b>(bytes: &'b [u8], id: &[u8; 4]) -> Option<&'b [u8]> {
    let body = find_chunk_start(bytes, id)?;
    let len = u32::from_le_bytes(bytes.get(body - 4..body)?.try_into().ok()?) as usize;
    bytes.get(body..body.checked_add(len)?.min(bytes.len()))
}

/// Where the body of the first chunk `id` of a RIFF/WAVE file starts.
fn find_chunk_start(bytes: &[u8], id: &[u8; 4]) -> Option<usize> {
    if bytes.get(0..4)? != b"RIFF" || bytes.get(8..12)? != b"WAVE" {
        return None;
    }
    let mut at = 12usize;
    while let Some(header) = bytes.get(at..at + 8) {
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let body = at + 8;
        if &header[0..4] == id {
            return Some(body);
        }
        // Chunks are padded to an even length.
        at = body.checked_add(len)?.checked_add(len % 2)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_every_width_to_16_bits() {
        assert_eq!(int_to_16(-128, 8), -32768);
        assert_eq!(int_to_16(127, 8), 32512);
        assert_eq!(int_to_16(-32768, 16), -32768);
        assert_eq!(int_to_16(8_388_607, 24), 32767);
        assert_eq!(int_to_16(-1, 24), -1);
        assert_eq!(int_to_16(i32::MIN, 32), -32768);
        assert_eq!(float_to_16(1.0), 32767);
        assert_eq!(float_to_16(-2.0), -32767);
        assert_eq!(float_to_16(0.5), 16384);
        assert_eq!(float_to_16(f32::NAN), 0);
    }

    #[test]
    fn names_the_format_of_a_file_it_cannot_read() {
        let mut wav = b"RIFF\0\0\0\0WAVEfmt \x10\0\0\0".to_vec();
        wav.extend_from_slice(&[2, 0, 1, 0, 0x44, 0xac, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0]);
        assert_eq!(
            describe_format(&wav),
            "format tag 2 (Microsoft ADPCM) with 4 bits per sample"
        );
        assert_eq!(
            describe_format(b"RIFF"),
            "the file has no readable `fmt ` chunk"
        );
    }
}
