//! The codecs against independent expectations: PNGs of every colour type and bit depth
//! written by the `png` encoder decode to the pixels computed here from the values they
//! were made of; WAVs of every sample format written by `hound` decode to the 16-bit
//! samples computed here; JSON minifies and refuses with line and column; malformed
//! inputs (truncated or damaged PNGs, unsupported or truncated WAVs) give clear errors.

use packer_domain::declaration::{OutputOptions, PixelFormat, SampleFormat};
use packer_pack::codec::{DecodeError, PartInfo, encode};
use png::{BitDepth, ColorType};

use crate::media::{Samples, png, rgba_png, wav, wav_extensible, wav_with_format};

const RGBA8: OutputOptions = OutputOptions::Image {
    format: PixelFormat::Rgba8,
};
const INDEXED8: OutputOptions = OutputOptions::Image {
    format: PixelFormat::Indexed8,
};
const PCM16: OutputOptions = OutputOptions::Audio {
    format: SampleFormat::Pcm16,
};

/// Decodes one input as `output`: its part's metadata and bytes, or the error.
fn decode(output: OutputOptions, bytes: &[u8]) -> Result<(PartInfo, Vec<u8>), DecodeError> {
    let encoded = encode(&output, &[bytes]).map_err(|e| {
        assert_eq!(e.input, 0);
        e.error
    })?;
    assert_eq!(encoded.parts.len(), 1);
    let part = encoded.parts[0];
    assert_eq!(part.offset, 0);
    assert_eq!(part.length as usize, encoded.payload.len());
    Ok((part.info, encoded.payload))
}

/// Checks that `image` decodes to `rgba8` as `expected` (one RGBA per pixel).
fn check_rgba(image: &[u8], width: u32, height: u32, expected: &[[u8; 4]]) {
    let (info, bytes) = decode(RGBA8, image).unwrap();
    assert_eq!(
        info,
        PartInfo::Image {
            width,
            height,
            palette_len: 0
        }
    );
    let got: Vec<[u8; 4]> = bytes
        .chunks_exact(4)
        .map(|p| [p[0], p[1], p[2], p[3]])
        .collect();
    assert_eq!(got, expected);
}

const W: u32 = 5;
const H: u32 = 3;
const N: usize = (W * H) as usize;

/// `N` values cycling below `2^bits`, varied enough to exercise every bit.
fn values(bits: u32, channels: usize, salt: u32) -> Vec<u16> {
    let top = (1u32 << bits) - 1;
    (0..N * channels)
        .map(|i| ((i as u64 * 2_654_435_761 + u64::from(salt)) % u64::from(top + 1)) as u16)
        .collect()
}

/// The 8-bit form of a `bits`-bit sample, as PNG decoders scale it.
fn to8(v: u16, bits: u32) -> u8 {
    match bits {
        16 => (v >> 8) as u8,
        8 => v as u8,
        b => (u32::from(v) * 255 / ((1 << b) - 1)) as u8,
    }
}

#[test]
fn grey_of_every_depth_decodes_to_rgba() {
    for (depth, bits) in [
        (BitDepth::One, 1),
        (BitDepth::Two, 2),
        (BitDepth::Four, 4),
        (BitDepth::Eight, 8),
        (BitDepth::Sixteen, 16),
    ] {
        let v = values(bits, 1, 3);
        let expected: Vec<[u8; 4]> = v
            .iter()
            .map(|&g| {
                let g = to8(g, bits);
                [g, g, g, 255]
            })
            .collect();
        check_rgba(
            &png(W, H, ColorType::Grayscale, depth, &v, None, None),
            W,
            H,
            &expected,
        );
        // With `tRNS`: the one grey value it names is transparent.
        let key = v[1];
        let trns = if bits == 16 {
            key.to_be_bytes().to_vec()
        } else {
            vec![0, key as u8]
        };
        let expected: Vec<[u8; 4]> = v
            .iter()
            .map(|&g| {
                let e = to8(g, bits);
                [e, e, e, if g == key { 0 } else { 255 }]
            })
            .collect();
        check_rgba(
            &png(W, H, ColorType::Grayscale, depth, &v, None, Some(&trns)),
            W,
            H,
            &expected,
        );
    }
}

#[test]
fn colour_with_and_without_alpha_decodes_to_rgba() {
    for (depth, bits) in [(BitDepth::Eight, 8), (BitDepth::Sixteen, 16)] {
        let grey_alpha = values(bits, 2, 5);
        let expected: Vec<[u8; 4]> = grey_alpha
            .chunks(2)
            .map(|p| {
                let g = to8(p[0], bits);
                [g, g, g, to8(p[1], bits)]
            })
            .collect();
        check_rgba(
            &png(
                W,
                H,
                ColorType::GrayscaleAlpha,
                depth,
                &grey_alpha,
                None,
                None,
            ),
            W,
            H,
            &expected,
        );
        let rgb = values(bits, 3, 7);
        let expected: Vec<[u8; 4]> = rgb
            .chunks(3)
            .map(|p| [to8(p[0], bits), to8(p[1], bits), to8(p[2], bits), 255])
            .collect();
        check_rgba(
            &png(W, H, ColorType::Rgb, depth, &rgb, None, None),
            W,
            H,
            &expected,
        );
        let rgba = values(bits, 4, 11);
        let expected: Vec<[u8; 4]> = rgba
            .chunks(4)
            .map(|p| {
                [
                    to8(p[0], bits),
                    to8(p[1], bits),
                    to8(p[2], bits),
                    to8(p[3], bits),
                ]
            })
            .collect();
        check_rgba(
            &png(W, H, ColorType::Rgba, depth, &rgba, None, None),
            W,
            H,
            &expected,
        );
    }
    // RGB with `tRNS`: the colour it names is transparent.
    let rgb = values(8, 3, 13);
    let key = [rgb[3], rgb[4], rgb[5]];
    let trns: Vec<u8> = key.iter().flat_map(|v| v.to_be_bytes()).collect();
    let expected: Vec<[u8; 4]> = rgb
        .chunks(3)
        .map(|p| {
            let alpha = if p == key { 0 } else { 255 };
            [p[0] as u8, p[1] as u8, p[2] as u8, alpha]
        })
        .collect();
    check_rgba(
        &png(
            W,
            H,
            ColorType::Rgb,
            BitDepth::Eight,
            &rgb,
            None,
            Some(&trns),
        ),
        W,
        H,
        &expected,
    );
}

/// A palette of `len` RGB entries and the alpha of its first three.
fn palette(len: usize) -> (Vec<u8>, Vec<u8>) {
    let rgb = (0..len * 3).map(|i| (i * 37 % 256) as u8).collect();
    (rgb, vec![0, 128, 200])
}

#[test]
fn paletted_images_decode_to_rgba_and_keep_their_palette_as_indexed8() {
    for (depth, bits) in [
        (BitDepth::One, 1),
        (BitDepth::Two, 2),
        (BitDepth::Four, 4),
        (BitDepth::Eight, 8),
    ] {
        let len = 1usize << bits;
        let (rgb, alpha) = palette(len);
        let indices = values(bits, 1, 17);
        let file = png(
            W,
            H,
            ColorType::Indexed,
            depth,
            &indices,
            Some(&rgb),
            Some(&alpha),
        );
        // A `tRNS` longer than the palette (at depth 1 here) is ignored.
        let alpha = if alpha.len() <= len {
            alpha
        } else {
            Vec::new()
        };
        let colour = |i: u16| {
            let i = usize::from(i);
            [
                rgb[i * 3],
                rgb[i * 3 + 1],
                rgb[i * 3 + 2],
                alpha.get(i).copied().unwrap_or(255),
            ]
        };
        let expected: Vec<[u8; 4]> = indices.iter().map(|&i| colour(i)).collect();
        check_rgba(&file, W, H, &expected);

        let (info, bytes) = decode(INDEXED8, &file).unwrap();
        assert_eq!(
            info,
            PartInfo::Image {
                width: W,
                height: H,
                palette_len: len as u32
            }
        );
        let (table, got) = bytes.split_at(len * 4);
        let expected_table: Vec<u8> = (0..len as u16).flat_map(colour).collect();
        assert_eq!(table, expected_table, "palette at depth {bits}");
        let expected_indices: Vec<u8> = indices.iter().map(|&i| i as u8).collect();
        assert_eq!(got, expected_indices, "indices at depth {bits}");
    }
}

#[test]
fn indexed8_builds_a_palette_in_order_of_first_appearance() {
    let red = [255, 0, 0, 255];
    let clear = [0, 0, 0, 0];
    let blue = [0, 0, 255, 128];
    let pixels = [clear, red, red, blue, clear, blue];
    let (info, bytes) = decode(INDEXED8, &rgba_png(3, 2, &pixels)).unwrap();
    assert_eq!(
        info,
        PartInfo::Image {
            width: 3,
            height: 2,
            palette_len: 3
        }
    );
    let mut expected: Vec<u8> = [clear, red, blue].concat();
    expected.extend_from_slice(&[0, 1, 1, 2, 0, 2]);
    assert_eq!(bytes, expected);
}

#[test]
fn indexed8_refuses_more_than_256_colours() {
    let pixels: Vec<[u8; 4]> = (0..257u32)
        .map(|i| [i as u8, (i >> 8) as u8, 7, 255])
        .collect();
    let error = decode(INDEXED8, &rgba_png(257, 1, &pixels)).unwrap_err();
    assert_eq!(error, DecodeError::TooManyColours);
    assert!(
        error.to_string().contains("more than 256 colours"),
        "{error}"
    );
    // 256 are fine.
    assert!(decode(INDEXED8, &rgba_png(256, 1, &pixels[..256])).is_ok());
}

#[test]
fn indexed8_refuses_an_index_outside_the_palette() {
    let (rgb, _) = palette(3);
    let file = png(
        2,
        1,
        ColorType::Indexed,
        BitDepth::Eight,
        &[1, 5],
        Some(&rgb),
        None,
    );
    let error = decode(INDEXED8, &file).unwrap_err();
    assert_eq!(
        error,
        DecodeError::IndexOutsidePalette {
            x: 1,
            y: 0,
            index: 5,
            len: 3
        }
    );
}

#[test]
fn truncated_and_damaged_pngs_are_refused() {
    let file = rgba_png(4, 4, &[[9, 8, 7, 255]; 16]);
    for len in 0..file.len() {
        let error = decode(RGBA8, &file[..len]).unwrap_err();
        assert!(
            matches!(error, DecodeError::PngTruncated | DecodeError::Png(_)),
            "cut at {len}: {error:?}"
        );
    }
    // Cut after the header chunk: plainly truncated.
    assert_eq!(
        decode(RGBA8, &file[..40]).unwrap_err(),
        DecodeError::PngTruncated
    );
    // Cut before IEND: the image data is whole, but the file is not.
    assert_eq!(
        decode(RGBA8, &file[..file.len() - 12]).unwrap_err(),
        DecodeError::PngTruncated
    );
    // A wrong CRC on the header chunk (its last four bytes end at byte 33).
    let mut bad_crc = file.clone();
    bad_crc[32] ^= 0xff;
    let error = decode(RGBA8, &bad_crc).unwrap_err();
    assert!(error.to_string().to_lowercase().contains("crc"), "{error}");
    // The chunk by its name, not as the decoder's debugging text.
    assert!(error.to_string().contains("`IHDR`"), "{error}");
    assert!(!error.to_string().contains("ChunkType"), "{error}");
    let error = decode(RGBA8, b"GIF89a not a png").unwrap_err();
    assert!(matches!(error, DecodeError::Png(_)), "{error:?}");
    assert!(error.to_string().starts_with("not a valid PNG"), "{error}");
}

#[test]
fn a_palette_of_a_partial_colour_is_refused() {
    // Four bytes: one colour and a third of another. The `png` decoder accepts the
    // chunk and then reads past it when it expands the palette.
    let file = png(
        2,
        1,
        ColorType::Indexed,
        BitDepth::Eight,
        &[0, 1],
        Some(&[10, 20, 30, 40]),
        None,
    );
    for output in [RGBA8, INDEXED8] {
        let error = decode(output, &file).unwrap_err();
        assert_eq!(
            error,
            DecodeError::Png(
                "the palette (`PLTE`) has 4 bytes, not a whole number of 3-byte colours".to_owned()
            ),
            "{output:?}"
        );
    }
}

/// Decodes a WAV to its metadata and 16-bit samples.
fn pcm16(file: &[u8]) -> Result<(PartInfo, Vec<i16>), DecodeError> {
    let (info, bytes) = decode(PCM16, file)?;
    let samples = bytes
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    Ok((info, samples))
}

#[test]
fn wav_of_every_sample_format_decodes_to_16_bits() {
    let cases: Vec<(Samples, Vec<i16>)> = vec![
        (
            Samples::Int {
                bits: 8,
                values: vec![-128, -1, 0, 1, 127, 64],
            },
            vec![-32768, -256, 0, 256, 32512, 16384],
        ),
        (
            Samples::Int {
                bits: 16,
                values: vec![-32768, -1, 0, 1, 32767, 1234],
            },
            vec![-32768, -1, 0, 1, 32767, 1234],
        ),
        (
            Samples::Int {
                bits: 24,
                values: vec![-8_388_608, -1, 0, 255, 256, 8_388_607],
            },
            vec![-32768, -1, 0, 0, 1, 32767],
        ),
        (
            Samples::Int {
                bits: 32,
                values: vec![i32::MIN, -1, 0, 65_535, 65_536, i32::MAX],
            },
            vec![-32768, -1, 0, 0, 1, 32767],
        ),
        (
            Samples::Float(vec![-1.0, -0.5, 0.0, 0.25, 1.0, 3.0]),
            vec![-32767, -16384, 0, 8192, 32767, 32767],
        ),
    ];
    for (samples, expected) in cases {
        for (channels, rate) in [(1u16, 22_050u32), (2, 44_100), (3, 8_000)] {
            if expected.len() % usize::from(channels) != 0 {
                continue;
            }
            let (info, got) = pcm16(&wav(channels, rate, &samples)).unwrap();
            assert_eq!(got, expected);
            assert_eq!(
                info,
                PartInfo::Audio {
                    channels: u32::from(channels),
                    sample_rate: rate,
                    frames: (expected.len() / usize::from(channels)) as u32,
                }
            );
        }
    }
}

#[test]
fn wav_chunks_of_odd_length_and_long_fact_chunks_are_skipped_whole() {
    let samples = Samples::Int {
        bits: 16,
        values: vec![1, -2, 3, -4],
    };
    let plain = wav(2, 8000, &samples);
    let expected = pcm16(&plain).unwrap();
    // RIFF pads a chunk of odd length with one byte that its length does not count,
    // and a `fact` chunk may hold more than its 4-byte sample count.
    let chunk = |id: &[u8; 4], body: &[u8]| {
        let mut out = id.to_vec();
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(body);
        if body.len() % 2 == 1 {
            out.push(0);
        }
        out
    };
    let fmt_end = 12 + 8 + 16;
    let mut body = b"WAVE".to_vec();
    body.extend(chunk(b"LIST", b"INFOodd"));
    body.extend_from_slice(&plain[12..fmt_end]);
    body.extend(chunk(b"fact", &[4, 0, 0, 0, 9, 9, 9, 9]));
    body.extend(chunk(b"bext", b"x"));
    body.extend_from_slice(&plain[fmt_end..]);
    let mut file = b"RIFF".to_vec();
    file.extend_from_slice(&(body.len() as u32).to_le_bytes());
    file.extend(body);
    assert_eq!(pcm16(&file).unwrap(), expected);
    // Still whole-file checked: cut into its samples, it is truncated.
    assert_eq!(
        pcm16(&file[..file.len() - 3]).unwrap_err().to_string(),
        "the WAV file ends early: the file is truncated"
    );
}

#[test]
fn extensible_wavs_read_their_valid_bits_from_the_top_of_each_container() {
    let check = |file: &[u8], expected: &[i16]| {
        let (info, got) = pcm16(file).unwrap();
        assert_eq!(got, expected);
        assert_eq!(
            info,
            PartInfo::Audio {
                channels: 1,
                sample_rate: 8000,
                frames: expected.len() as u32,
            }
        );
    };
    // 16 valid bits in 16: the plain case.
    check(
        &wav_extensible(16, 16, 1, &[0x34, 0x12, 0xff, 0xff]),
        &[0x1234, -1],
    );
    // 24 valid bits in a 32-bit container, left-justified: 0x123456 and -2.
    check(
        &wav_extensible(32, 24, 1, &[0x00, 0x56, 0x34, 0x12, 0x00, 0xfe, 0xff, 0xff]),
        &[0x1234, -1],
    );
    // 20 valid bits in 24: 0x12345 and the most negative sample.
    check(
        &wav_extensible(24, 20, 1, &[0x50, 0x34, 0x12, 0x00, 0x00, 0x80]),
        &[0x1234, -32768],
    );
    // Float samples in the extensible header.
    check(&wav_extensible(32, 32, 3, &0.25f32.to_le_bytes()), &[8192]);
}

#[test]
fn a_wav_written_to_a_pipe_reads_to_the_end_of_the_file() {
    let plain = wav(
        2,
        8000,
        &Samples::Int {
            bits: 16,
            values: vec![1, -2, 3, -4, 5, -6],
        },
    );
    let expected = pcm16(&plain).unwrap();
    // A writer that cannot seek back leaves both lengths at their placeholder.
    let mut streamed = plain.clone();
    streamed[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
    let data = plain.windows(4).position(|w| w == b"data").unwrap();
    streamed[data + 4..data + 8].copy_from_slice(&u32::MAX.to_le_bytes());
    assert_eq!(pcm16(&streamed).unwrap(), expected);
    // A stream cut in the middle of a frame keeps its whole frames.
    let (info, samples) = pcm16(&streamed[..streamed.len() - 3]).unwrap();
    assert_eq!(samples, expected.1[..4]);
    assert_eq!(
        info,
        PartInfo::Audio {
            channels: 2,
            sample_rate: 8000,
            frames: 2
        }
    );
}

#[test]
fn unsupported_and_damaged_wavs_are_refused_by_name() {
    let check = |file: &[u8], expected: &str| {
        let error = pcm16(file).unwrap_err();
        assert_eq!(error.to_string(), expected);
    };
    check(
        &wav_with_format(2, 4),
        "unsupported WAV format: format tag 2 (Microsoft ADPCM) with 4 bits per sample",
    );
    check(
        &wav_with_format(3, 64),
        "unsupported WAV format: format tag 3 (IEEE float) with 64 bits per sample",
    );
    check(
        &wav_with_format(0x55, 16),
        "unsupported WAV format: format tag 85 (MP3) with 16 bits per sample",
    );
    check(
        &wav_extensible(16, 16, 2, &[0; 4]),
        "unsupported WAV format: format tag 65534 (extensible) of sub-format 2 \
         (Microsoft ADPCM) with 16 bits per sample",
    );
    let whole = wav(
        2,
        8000,
        &Samples::Int {
            bits: 16,
            values: vec![1, 2, 3, 4, 5, 6],
        },
    );
    check(
        &whole[..whole.len() - 3],
        "the WAV file ends early: the file is truncated",
    );
    check(
        &whole[..20],
        "the WAV file ends early: the file is truncated",
    );
    // A sample rate of 0 Hz would make a part no pack reader accepts.
    let mut no_rate = whole.clone();
    // The sample rate and the byte rate, which `hound` checks against it.
    no_rate[24..32].copy_from_slice(&[0; 8]);
    check(&no_rate, "not a valid WAV file: the sample rate is 0 Hz");
    let error = pcm16(b"RIFX....WAVE").unwrap_err();
    assert!(
        matches!(error, DecodeError::Wav(_) | DecodeError::WavTruncated),
        "{error:?}"
    );
}

#[test]
fn data_is_minified_and_invalid_json_is_placed() {
    let (info, bytes) = decode(
        OutputOptions::Data,
        b"{\n  \"name\": \"a b\",\n  \"xs\": [1, 2]\n}\n",
    )
    .unwrap();
    assert_eq!(info, PartInfo::Bytes);
    assert_eq!(bytes, br#"{"name":"a b","xs":[1,2]}"#);
    let error = decode(
        OutputOptions::Data,
        b"{\n  \"name\": \"a\",\n  \"xs\": [1, 2,]\n}\n",
    )
    .unwrap_err();
    assert_eq!(error.position(), Some((3, 15)));
    assert_eq!(error.to_string(), "trailing comma before `]`");
}

#[test]
fn blobs_are_copied_and_inputs_become_aligned_parts() {
    let encoded = encode(&OutputOptions::Blob, &[b"abc", b"", &[0xff; 17]]).unwrap();
    let spans: Vec<(u64, u64)> = encoded.parts.iter().map(|p| (p.offset, p.length)).collect();
    assert_eq!(spans, [(0, 3), (16, 0), (16, 17)]);
    let mut expected = b"abc".to_vec();
    expected.resize(16, 0);
    expected.extend_from_slice(&[0xff; 17]);
    assert_eq!(encoded.payload, expected);
    // The first input that cannot be decoded is named by its index.
    let error = encode(&OutputOptions::Data, &[b"1", b"{", b"2"]).unwrap_err();
    assert_eq!(error.input, 1);
}
