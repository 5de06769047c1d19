//! `image`: a PNG of any colour type and bit depth the `png` crate reads, decoded to
//! `rgba8` pixels, or to `indexed8` indices into a palette of at most 256 RGBA colours.
//!
//! `rgba8`: 16-bit channels keep their high byte, grey becomes equal red, green and
//! blue, a missing alpha is 255, and `tRNS` transparency becomes alpha.
//!
//! `indexed8`: a PNG that already has a palette keeps it, entry for entry and in its
//! order (artists rely on palette order for palette swaps), with `tRNS` giving the
//! first entries' alpha (a `tRNS` longer than the palette is ignored), and a pixel whose
//! index lies past the palette is an error (`rgba8` decodes it as opaque black). Any other PNG is decoded as `rgba8` and its distinct colours
//! become the palette in the order they first appear, reading rows from the top and
//! pixels from the left; more than 256 is an error.

use std::collections::HashMap;
use std::io::Cursor;

use packer_domain::declaration::PixelFormat;
use png::{BitDepth, ColorType, Transformations};

use super::{DecodeError, Decoded, MAX_IMAGE_PIXELS, PartInfo};

pub(super) fn decode(bytes: &[u8], format: PixelFormat) -> Result<Decoded, DecodeError> {
    match format {
        PixelFormat::Rgba8 => {
            let image = decode_rgba(bytes)?;
            Ok(Decoded {
                info: PartInfo::Image {
                    width: image.width,
                    height: image.height,
                    palette_len: 0,
                },
                bytes: image.pixels,
            })
        }
        PixelFormat::Indexed8 => decode_indexed(bytes),
    }
}

/// Decoded RGBA pixels.
struct Rgba {
    width: u32,
    height: u32,
    pixels: Vec<u8>,
}

fn decoder(bytes: &[u8]) -> png::Decoder<Cursor<&[u8]>> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    // Check the zlib checksum as well as every chunk's CRC: a damaged file is refused,
    // never packed.
    decoder.ignore_checksums(false);
    decoder
}

fn decode_rgba(bytes: &[u8]) -> Result<Rgba, DecodeError> {
    let mut decoder = decoder(bytes);
    decoder.set_transformations(Transformations::EXPAND | Transformations::STRIP_16);
    let (width, height, frame, line_size, color_type) = read_frame(decoder)?;
    let channels = match color_type {
        ColorType::Grayscale => 1,
        ColorType::GrayscaleAlpha => 2,
        ColorType::Rgb => 3,
        ColorType::Rgba => 4,
        // `EXPAND` turns every palette into colours.
        ColorType::Indexed => {
            return Err(DecodeError::Png(
                "the palette could not be expanded".to_owned(),
            ));
        }
    };
    let mut pixels = Vec::with_capacity(pixel_count(width, height) * 4);
    for row in frame.chunks_exact(line_size).take(height as usize) {
        for px in row.chunks_exact(channels).take(width as usize) {
            let rgba = match *px {
                [g] => [g, g, g, 255],
                [g, a] => [g, g, g, a],
                [r, g, b] => [r, g, b, 255],
                [r, g, b, a] => [r, g, b, a],
                _ => [0, 0, 0, 0],
            };
            pixels.extend_from_slice(&rgba);
        }
    }
    Ok(Rgba {
        width,
        height,
        pixels,
    })
}

fn decode_indexed(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let mut probe = decoder(bytes);
    let is_paletted = probe.read_header_info().map_err(png_error)?.color_type == ColorType::Indexed;
    if !is_paletted {
        return quantize(decode_rgba(bytes)?);
    }
    let mut decoder = decoder(bytes);
    decoder.set_transformations(Transformations::IDENTITY);
    let reader = decoder.read_info().map_err(png_error)?;
    let info = reader.info();
    let depth = info.bit_depth;
    let rgb = info.palette.as_deref().unwrap_or_default().to_vec();
    let mut alpha = info.trns.as_deref().unwrap_or_default().to_vec();
    // More alpha values than colours is invalid; it is ignored, as the `rgba8` path
    // (the `png` crate) ignores it.
    if alpha.len() > rgb.len() / 3 {
        alpha.clear();
    }
    let (width, height, frame, line_size, _) = read_frame_from(reader)?;
    let len = rgb.len() / 3;
    let mut out = Vec::with_capacity(len * 4 + pixel_count(width, height));
    for (i, entry) in rgb.chunks_exact(3).enumerate() {
        out.extend_from_slice(entry);
        out.push(alpha.get(i).copied().unwrap_or(255));
    }
    let bits = match depth {
        BitDepth::One => 1,
        BitDepth::Two => 2,
        BitDepth::Four => 4,
        BitDepth::Eight => 8,
        BitDepth::Sixteen => {
            return Err(DecodeError::Png(
                "a paletted image cannot have 16-bit samples".to_owned(),
            ));
        }
    };
    for (y, row) in frame
        .chunks_exact(line_size)
        .take(height as usize)
        .enumerate()
    {
        for x in 0..width as usize {
            let bit = x * bits;
            let byte = row.get(bit / 8).copied().unwrap_or(0);
            // Pixels are packed from the most significant bit.
            let shift = 8 - bits - bit % 8;
            let index = (byte >> shift) & (((1u16 << bits) - 1) as u8);
            if usize::from(index) >= len {
                return Err(DecodeError::IndexOutsidePalette {
                    x: x as u32,
                    y: y as u32,
                    index: u32::from(index),
                    len: len as u32,
                });
            }
            out.push(index);
        }
    }
    Ok(Decoded {
        info: PartInfo::Image {
            width,
            height,
            palette_len: len as u32,
        },
        bytes: out,
    })
}

/// The palette of `image`'s colours in order of first appearance, and its indices.
fn quantize(image: Rgba) -> Result<Decoded, DecodeError> {
    let mut palette: Vec<[u8; 4]> = Vec::new();
    let mut index_of: HashMap<[u8; 4], u8> = HashMap::new();
    let mut indices = Vec::with_capacity(image.pixels.len() / 4);
    for px in image.pixels.chunks_exact(4) {
        let colour = [px[0], px[1], px[2], px[3]];
        let index = match index_of.get(&colour) {
            Some(&index) => index,
            None => {
                let index = u8::try_from(palette.len()).map_err(|_| DecodeError::TooManyColours)?;
                palette.push(colour);
                index_of.insert(colour, index);
                index
            }
        };
        indices.push(index);
    }
    let mut bytes = Vec::with_capacity(palette.len() * 4 + indices.len());
    bytes.extend(palette.iter().flatten());
    bytes.extend_from_slice(&indices);
    Ok(Decoded {
        info: PartInfo::Image {
            width: image.width,
            height: image.height,
            palette_len: palette.len() as u32,
        },
        bytes,
    })
}

type Frame = (u32, u32, Vec<u8>, usize, ColorType);

fn read_frame(decoder: png::Decoder<Cursor<&[u8]>>) -> Result<Frame, DecodeError> {
    read_frame_from(decoder.read_info().map_err(png_error)?)
}

/// Decodes the image (the first frame of an animated PNG) and reads the file to its
/// end, so that a damaged or truncated tail is refused too.
fn read_frame_from(mut reader: png::Reader<Cursor<&[u8]>>) -> Result<Frame, DecodeError> {
    // The `png` decoder accepts a palette of any length from 3 to 768 bytes, and then
    // reads past its end (a panic) when it expands one that is not whole colours.
    if let Some(palette) = reader.info().palette.as_deref()
        && palette.len() % 3 != 0
    {
        return Err(DecodeError::Png(format!(
            "the palette (`PLTE`) has {} bytes, not a whole number of 3-byte colours",
            palette.len()
        )));
    }
    let (width, height) = reader.info().size();
    if u64::from(width) * u64::from(height) > MAX_IMAGE_PIXELS {
        return Err(DecodeError::ImageTooLarge { width, height });
    }
    let size = reader
        .output_buffer_size()
        .ok_or(DecodeError::ImageTooLarge { width, height })?;
    let mut frame = vec![0; size];
    let output = reader.next_frame(&mut frame).map_err(png_error)?;
    reader.finish().map_err(png_error)?;
    if output.bit_depth != BitDepth::Eight && output.color_type != ColorType::Indexed {
        return Err(DecodeError::Png(format!(
            "unexpected {:?}-bit samples after expansion",
            output.bit_depth
        )));
    }
    // A zero line size only comes with a zero width, which the PNG header forbids.
    let line_size = output.line_size.max(1);
    Ok((width, height, frame, line_size, output.color_type))
}

fn pixel_count(width: u32, height: u32) -> usize {
    // Bounded by `MAX_IMAGE_PIXELS` before any buffer is sized by it.
    (u64::from(width) * u64::from(height)).min(MAX_IMAGE_PIXELS) as usize
}

fn png_error(error: png::DecodingError) -> DecodeError {
    match error {
        png::DecodingError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            DecodeError::PngTruncated
        }
        png::DecodingError::LimitsExceeded => {
            DecodeError::Png("the image needs more memory than the decoder allows".to_owned())
        }
        other => DecodeError::Png(chunk_names(&other.to_string())),
    }
}

/// `message` with each chunk type as its name: the `png` decoder's messages show one as
/// `ChunkType { type: IDAT, critical: true, private: false, reserved: false, safecopy:
/// false }`, which says no more to a person than `` `IDAT` ``.
fn chunk_names(message: &str) -> String {
    const OPENING: &str = "ChunkType { type: ";
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(start) = rest.find(OPENING) {
        let after = &rest[start + OPENING.len()..];
        let Some(end) = after.find(" }") else {
            break;
        };
        let name = after[..end].split(',').next().unwrap_or_default();
        out.push_str(&rest[..start]);
        out.push('`');
        out.push_str(name);
        out.push('`');
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}
