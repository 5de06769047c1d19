//! Encoders for the generated inputs: PNG through `png`, WAV through `hound`, and the
//! little arithmetic that synthesises sound. Everything here is built from IEEE basic
//! operations only (no platform `sin`/`exp`), so the same parameters give the same
//! bytes on every machine.

use std::io::Cursor;

use anyhow::Context as _;

/// The pixel layouts the generators write. Sub-byte depths take one value per pixel
/// here and are packed into rows by the encoder.
#[derive(Debug, Clone)]
pub enum Pixels {
    /// 4 bytes per pixel.
    Rgba8(Vec<u8>),
    /// 3 bytes per pixel.
    Rgb8(Vec<u8>),
    /// One grey level per pixel, each below `2^depth`.
    Gray { depth: u8, levels: Vec<u8> },
    /// One palette index per pixel, each below `2^depth` and below the palette's length.
    /// `alpha` gives the first entries' opacity (PNG's `tRNS`); the rest are opaque.
    Palette {
        depth: u8,
        palette: Vec<[u8; 3]>,
        alpha: Vec<u8>,
        indices: Vec<u8>,
    },
}

#[derive(Debug, Clone)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub pixels: Pixels,
}

/// How WAV samples are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleEncoding {
    Int8,
    Int16,
    Int24,
    Float32,
}

/// A sound as interleaved frames of samples in `[-1, 1]`.
#[derive(Debug, Clone)]
pub struct Sound {
    pub sample_rate: u32,
    pub channels: u16,
    pub encoding: SampleEncoding,
    pub samples: Vec<f64>,
}

/// Encodes `image` as a PNG file with the `png` crate's default (deterministic)
/// compression.
pub fn encode_png(image: &Image) -> anyhow::Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, image.width, image.height);
    let width = image.width as usize;
    let data = match &image.pixels {
        Pixels::Rgba8(data) => {
            encoder.set_color(png::ColorType::Rgba);
            encoder.set_depth(png::BitDepth::Eight);
            data.clone()
        }
        Pixels::Rgb8(data) => {
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            data.clone()
        }
        Pixels::Gray { depth, levels } => {
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(bit_depth(*depth)?);
            pack_rows(levels, width, *depth)
        }
        Pixels::Palette {
            depth,
            palette,
            alpha,
            indices,
        } => {
            encoder.set_color(png::ColorType::Indexed);
            encoder.set_depth(bit_depth(*depth)?);
            encoder.set_palette(palette.iter().flatten().copied().collect::<Vec<u8>>());
            if !alpha.is_empty() {
                encoder.set_trns(alpha.clone());
            }
            pack_rows(indices, width, *depth)
        }
    };
    let mut writer = encoder.write_header().context("writing a PNG header")?;
    writer
        .write_image_data(&data)
        .context("writing PNG pixels")?;
    writer.finish().context("finishing a PNG")?;
    Ok(out)
}

/// Encodes `sound` as a WAV file.
pub fn encode_wav(sound: &Sound) -> anyhow::Result<Vec<u8>> {
    let (bits_per_sample, sample_format) = match sound.encoding {
        SampleEncoding::Int8 => (8, hound::SampleFormat::Int),
        SampleEncoding::Int16 => (16, hound::SampleFormat::Int),
        SampleEncoding::Int24 => (24, hound::SampleFormat::Int),
        SampleEncoding::Float32 => (32, hound::SampleFormat::Float),
    };
    let spec = hound::WavSpec {
        channels: sound.channels,
        sample_rate: sound.sample_rate,
        bits_per_sample,
        sample_format,
    };
    let mut out = Vec::new();
    let mut writer =
        hound::WavWriter::new(Cursor::new(&mut out), spec).context("writing a WAV header")?;
    for &sample in &sound.samples {
        let s = sample.clamp(-1.0, 1.0);
        // The clamp keeps every conversion below inside its integer type.
        let written = match sound.encoding {
            SampleEncoding::Int8 => writer.write_sample((s * 127.0).round() as i8),
            SampleEncoding::Int16 => writer.write_sample((s * 32767.0).round() as i16),
            SampleEncoding::Int24 => writer.write_sample((s * 8_388_607.0).round() as i32),
            SampleEncoding::Float32 => writer.write_sample(s as f32),
        };
        written.context("writing WAV samples")?;
    }
    writer.finalize().context("finishing a WAV")?;
    Ok(out)
}

/// `sin(2π · turns)`, from basic arithmetic only: the platform's `sin` may differ in the
/// last bit between systems, which would change a rounded sample now and then.
pub fn sine(turns: f64) -> f64 {
    let t = turns - turns.floor();
    // Fold into [-1/4, 1/4] turn, where the odd Taylor series converges fast.
    let a = if t < 0.25 {
        t
    } else if t < 0.75 {
        0.5 - t
    } else {
        t - 1.0
    };
    let x = a * std::f64::consts::TAU;
    let x2 = x * x;
    // Terms up to x^13: error below 1e-9 on [-π/2, π/2].
    let mut term = x;
    let mut sum = x;
    for n in 1..=6u32 {
        let k = f64::from(2 * n);
        term = -term * x2 / (k * (k + 1.0));
        sum += term;
    }
    sum
}

/// A square wave of the same phase convention as [`sine`].
pub fn square(turns: f64) -> f64 {
    if turns - turns.floor() < 0.5 {
        1.0
    } else {
        -1.0
    }
}

/// A triangle wave of the same phase convention as [`sine`].
pub fn triangle(turns: f64) -> f64 {
    let t = turns - turns.floor();
    if t < 0.25 {
        4.0 * t
    } else if t < 0.75 {
        2.0 - 4.0 * t
    } else {
        4.0 * t - 4.0
    }
}

fn bit_depth(depth: u8) -> anyhow::Result<png::BitDepth> {
    Ok(match depth {
        1 => png::BitDepth::One,
        2 => png::BitDepth::Two,
        4 => png::BitDepth::Four,
        8 => png::BitDepth::Eight,
        other => anyhow::bail!("{other} is not a PNG bit depth for one-byte samples"),
    })
}

/// Packs one value per pixel into PNG rows of `depth` bits per pixel, most significant
/// bits first, each row padded to a whole byte.
fn pack_rows(values: &[u8], width: usize, depth: u8) -> Vec<u8> {
    if depth == 8 || width == 0 {
        return values.to_vec();
    }
    let per_byte = usize::from(8 / depth);
    let mask = (1u16 << depth) - 1;
    let mut out = Vec::with_capacity(values.len() / per_byte + values.len() / width + 1);
    for row in values.chunks(width) {
        for group in row.chunks(per_byte) {
            let mut byte = 0u8;
            for (i, &v) in group.iter().enumerate() {
                let shift = 8 - usize::from(depth) * (i + 1);
                byte |= ((u16::from(v) & mask) << shift) as u8;
            }
            out.push(byte);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_matches_the_platform_closely() {
        for i in -400..=400 {
            let turns = f64::from(i) / 97.0;
            let expected = (turns * std::f64::consts::TAU).sin();
            assert!((sine(turns) - expected).abs() < 1e-8, "turns {turns}");
        }
    }

    #[test]
    fn packs_sub_byte_rows() {
        assert_eq!(
            pack_rows(&[1, 0, 1, 1, 0, 0, 0, 0, 1], 9, 1),
            [0b1011_0000, 0b1000_0000]
        );
        assert_eq!(
            pack_rows(&[3, 1, 2, 0, 3, 3], 3, 2),
            [0b1101_1000, 0b0011_1100]
        );
        assert_eq!(pack_rows(&[0xA, 0x5, 0xF], 3, 4), [0xA5, 0xF0]);
    }

    #[test]
    fn round_trips_through_the_decoders() {
        let image = Image {
            width: 3,
            height: 2,
            pixels: Pixels::Palette {
                depth: 2,
                palette: vec![[0, 0, 0], [255, 0, 0], [0, 255, 0]],
                alpha: vec![0],
                indices: vec![0, 1, 2, 2, 1, 0],
            },
        };
        let bytes = encode_png(&image).unwrap();
        let decoder = png::Decoder::new(Cursor::new(&bytes));
        let reader = decoder.read_info().unwrap();
        assert_eq!(reader.info().color_type, png::ColorType::Indexed);
        assert_eq!((reader.info().width, reader.info().height), (3, 2));

        let sound = Sound {
            sample_rate: 8000,
            channels: 2,
            encoding: SampleEncoding::Int24,
            samples: vec![0.0, 1.0, -1.0, 0.5],
        };
        let bytes = encode_wav(&sound).unwrap();
        let mut reader = hound::WavReader::new(Cursor::new(bytes)).unwrap();
        let samples: Vec<i32> = reader.samples::<i32>().map(Result::unwrap).collect();
        assert_eq!(samples, [0, 8_388_607, -8_388_607, 4_194_304]);
    }
}
