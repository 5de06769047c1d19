//! Test inputs made with the real encoders (`png`, `hound`): images of any colour type
//! and bit depth from one value per channel, and WAV files of any sample format, so that
//! the codecs are checked against files other tools would write.

use std::io::Cursor;

/// A PNG of `width` × `height` pixels whose channel values (one per channel per pixel,
/// row-major, each below 2^depth) are `samples`; `palette` (RGB triples) and `trns` as
/// PNG stores them.
pub(crate) fn png(
    width: u32,
    height: u32,
    color: png::ColorType,
    depth: png::BitDepth,
    samples: &[u16],
    palette: Option<&[u8]>,
    trns: Option<&[u8]>,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(color);
    encoder.set_depth(depth);
    if let Some(palette) = palette {
        encoder.set_palette(palette.to_vec());
    }
    if let Some(trns) = trns {
        encoder.set_trns(trns.to_vec());
    }
    let channels = color.samples();
    let bits = depth as usize;
    let row_values = width as usize * channels;
    let mut data = Vec::new();
    for row in samples.chunks(row_values) {
        match bits {
            16 => row
                .iter()
                .for_each(|v| data.extend_from_slice(&v.to_be_bytes())),
            8 => data.extend(row.iter().map(|&v| v as u8)),
            _ => {
                let mut byte = 0u8;
                let mut used = 0;
                for &v in row {
                    byte |= (v as u8) << (8 - bits - used);
                    used += bits;
                    if used == 8 {
                        data.push(byte);
                        byte = 0;
                        used = 0;
                    }
                }
                if used > 0 {
                    data.push(byte);
                }
            }
        }
    }
    let mut writer = encoder.write_header().unwrap();
    writer.write_image_data(&data).unwrap();
    writer.finish().unwrap();
    out
}

/// An 8-bit RGBA PNG of the given pixels.
pub(crate) fn rgba_png(width: u32, height: u32, pixels: &[[u8; 4]]) -> Vec<u8> {
    let samples: Vec<u16> = pixels.iter().flatten().map(|&v| u16::from(v)).collect();
    png(
        width,
        height,
        png::ColorType::Rgba,
        png::BitDepth::Eight,
        &samples,
        None,
        None,
    )
}

/// WAV samples in the file's own type.
pub(crate) enum Samples {
    /// Integer samples of `bits` bits (8, 16, 24 or 32).
    Int {
        bits: u16,
        values: Vec<i32>,
    },
    Float(Vec<f32>),
}

/// A WAV file of `channels` interleaved channels at `sample_rate`.
pub(crate) fn wav(channels: u16, sample_rate: u32, samples: &Samples) -> Vec<u8> {
    let (bits_per_sample, sample_format) = match samples {
        Samples::Int { bits, .. } => (*bits, hound::SampleFormat::Int),
        Samples::Float(_) => (32, hound::SampleFormat::Float),
    };
    let spec = hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample,
        sample_format,
    };
    let mut out = Vec::new();
    let mut writer = hound::WavWriter::new(Cursor::new(&mut out), spec).unwrap();
    match samples {
        Samples::Int { bits: 8, values } => {
            for &v in values {
                writer.write_sample(v as i8).unwrap();
            }
        }
        Samples::Int { bits: 16, values } => {
            for &v in values {
                writer.write_sample(v as i16).unwrap();
            }
        }
        Samples::Int { values, .. } => {
            for &v in values {
                writer.write_sample(v).unwrap();
            }
        }
        Samples::Float(values) => {
            for &v in values {
                writer.write_sample(v).unwrap();
            }
        }
    }
    writer.finalize().unwrap();
    out
}

/// A WAV header declaring a format the packer does not read (`format_tag`, with
/// `bits` per sample), followed by a few data bytes.
pub(crate) fn wav_with_format(format_tag: u16, bits: u16) -> Vec<u8> {
    let channels: u16 = 1;
    let rate: u32 = 8000;
    let block_align = channels * bits.div_ceil(8).max(1);
    let data = [0u8; 16];
    let mut out = Vec::new();
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(4 + 8 + 16 + 8 + data.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&format_tag.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    out.extend_from_slice(&block_align.to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    out
}

/// A mono `WAVE_FORMAT_EXTENSIBLE` file at 8000 Hz: `container` bits per sample of which
/// `valid` are valid, the sub-format `sub_format` (1 integer PCM, 3 float, 2 ADPCM…),
/// and `data` as the samples' bytes.
pub(crate) fn wav_extensible(container: u16, valid: u16, sub_format: u16, data: &[u8]) -> Vec<u8> {
    let rate: u32 = 8000;
    let block_align = container / 8;
    let mut fmt = Vec::new();
    fmt.extend_from_slice(&0xfffeu16.to_le_bytes());
    fmt.extend_from_slice(&1u16.to_le_bytes());
    fmt.extend_from_slice(&rate.to_le_bytes());
    fmt.extend_from_slice(&(rate * u32::from(block_align)).to_le_bytes());
    fmt.extend_from_slice(&block_align.to_le_bytes());
    fmt.extend_from_slice(&container.to_le_bytes());
    fmt.extend_from_slice(&22u16.to_le_bytes());
    fmt.extend_from_slice(&valid.to_le_bytes());
    // The channel mask: front centre.
    fmt.extend_from_slice(&4u32.to_le_bytes());
    // The sub-format GUID: the format tag, then the fixed tail of every such GUID.
    fmt.extend_from_slice(&u32::from(sub_format).to_le_bytes());
    fmt.extend_from_slice(&[
        0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
    ]);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(4 + 8 + fmt.len() as u32 + 8 + data.len() as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&(fmt.len() as u32).to_le_bytes());
    out.extend_from_slice(&fmt);
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
    out
}
