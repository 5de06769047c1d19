//! The pack file against its documentation: a reader written here from
//! `docs/pack-format.md` alone agrees with the packer's reader and with `inspect --json`;
//! and the packer's reader refuses every truncation and every flipped bit of a valid
//! pack, and any random bytes, without panicking.

use packer_domain::declaration::{OutputOptions, PixelFormat, SampleFormat};
use packer_domain::snapshot::ContentHash;
use packer_pack::codec::{Encoded, encode};
use packer_pack::pack::{self, PackInput};
use proptest::prelude::*;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::cli::run_cli;
use crate::media::{Samples, png, rgba_png, wav};

/// A small valid pack holding every kind and format, multi-part assets and an empty
/// part, built with the codecs and the writer.
fn sample_pack() -> Vec<u8> {
    let image = rgba_png(3, 2, &[[1, 2, 3, 4]; 6]);
    let palette = [255, 0, 0, 0, 255, 0, 0, 0, 255];
    let indexed = png(
        4,
        1,
        png::ColorType::Indexed,
        png::BitDepth::Two,
        &[0, 1, 2, 1],
        Some(&palette),
        Some(&[7]),
    );
    let sound = wav(
        2,
        11_025,
        &Samples::Int {
            bits: 16,
            values: vec![1, -1, 2, -2],
        },
    );
    let assets: Vec<(u64, OutputOptions, Encoded)> = vec![
        (
            2,
            OutputOptions::Image {
                format: PixelFormat::Rgba8,
            },
            encode(
                &OutputOptions::Image {
                    format: PixelFormat::Rgba8,
                },
                &[&image, &image],
            )
            .unwrap(),
        ),
        (
            5,
            OutputOptions::Image {
                format: PixelFormat::Indexed8,
            },
            encode(
                &OutputOptions::Image {
                    format: PixelFormat::Indexed8,
                },
                &[&indexed],
            )
            .unwrap(),
        ),
        (
            7,
            OutputOptions::Audio {
                format: SampleFormat::Pcm16,
            },
            encode(
                &OutputOptions::Audio {
                    format: SampleFormat::Pcm16,
                },
                &[&sound],
            )
            .unwrap(),
        ),
        (
            8,
            OutputOptions::Data,
            encode(&OutputOptions::Data, &[b"{ \"a\": [1, 2] }"]).unwrap(),
        ),
        (
            30,
            OutputOptions::Blob,
            encode(&OutputOptions::Blob, &[b"blob", b"", b"0123456789abcdefg"]).unwrap(),
        ),
    ];
    let inputs: Vec<PackInput<'_>> = assets
        .iter()
        .map(|(id, output, encoded)| PackInput {
            asset_id: *id,
            asset_uuid: Uuid::from_u128(u128::from(*id) * 0x0101_0101),
            output: *output,
            parts: &encoded.parts,
            payload: &encoded.payload,
            hash: ContentHash::of(&encoded.payload),
        })
        .collect();
    pack::write(&inputs).unwrap().to_bytes()
}

/// A reader written from `docs/pack-format.md` only: the contents as JSON (the shape of
/// `inspect --json`'s assets), or the first rule broken.
fn independent(bytes: &[u8]) -> Result<Value, String> {
    let u32_at = |at: usize| -> Result<u32, String> {
        let b = bytes.get(at..at + 4).ok_or("short")?;
        Ok(u32::from_le_bytes(b.try_into().unwrap()))
    };
    let u64_at = |at: usize| -> Result<u64, String> {
        let b = bytes.get(at..at + 8).ok_or("short")?;
        Ok(u64::from_le_bytes(b.try_into().unwrap()))
    };
    let align = |n: u64| n.div_ceil(16) * 16;
    if bytes.len() < 64 || &bytes[..8] != b"PRMTPACK" {
        return Err("magic".into());
    }
    if u32_at(8)? != 1 || u32_at(20)? != 16 || u64_at(24)? != bytes.len() as u64 {
        return Err("header".into());
    }
    let (assets, parts) = (u32_at(12)? as usize, u32_at(16)? as usize);
    let tables_end = 64 + 88 * assets + 32 * parts;
    if tables_end > bytes.len() {
        return Err("tables".into());
    }
    let mut hasher = blake3::Hasher::new();
    hasher.update(&bytes[..32]);
    hasher.update(&bytes[64..tables_end]);
    if hasher.finalize().as_bytes() != &bytes[32..64] {
        return Err("index hash".into());
    }
    let mut out = Vec::new();
    let mut end = tables_end as u64;
    let mut next_part = 0usize;
    let mut last_id = 0;
    for a in 0..assets {
        let r = 64 + 88 * a;
        let id = u64_at(r)?;
        if id <= last_id {
            return Err("order".into());
        }
        last_id = id;
        let uuid = Uuid::from_slice(&bytes[r + 8..r + 24]).unwrap();
        let (kind, format) = match (bytes[r + 24], bytes[r + 25]) {
            (1, 1) => ("image", Some("rgba8")),
            (1, 2) => ("image", Some("indexed8")),
            (2, 1) => ("audio", Some("pcm16")),
            (3, 0) => ("data", None),
            (4, 0) => ("blob", None),
            _ => return Err("kind".into()),
        };
        if bytes[r + 26..r + 28] != [0, 0] || bytes[r + 36..r + 40] != [0; 4] {
            return Err("reserved".into());
        }
        let (first, count) = (u32_at(r + 28)? as usize, u32_at(r + 32)? as usize);
        if first != next_part || count == 0 || first + count > parts {
            return Err("parts".into());
        }
        next_part += count;
        let (offset, length) = (u64_at(r + 40)?, u64_at(r + 48)?);
        if offset != align(end) || offset + length > bytes.len() as u64 {
            return Err("payload place".into());
        }
        if bytes[end as usize..offset as usize].iter().any(|&b| b != 0) {
            return Err("padding".into());
        }
        let payload = &bytes[offset as usize..(offset + length) as usize];
        let mut part_json = Vec::new();
        let mut part_end = 0u64;
        for p in first..first + count {
            let q = 64 + 88 * assets + 32 * p;
            let (po, pl) = (u64_at(q)?, u64_at(q + 8)?);
            let w = [
                u32_at(q + 16)?,
                u32_at(q + 20)?,
                u32_at(q + 24)?,
                u32_at(q + 28)?,
            ];
            let expected_offset = if p == first { 0 } else { align(part_end) };
            if po != expected_offset || po + pl > length {
                return Err("part place".into());
            }
            if payload[part_end as usize..po as usize]
                .iter()
                .any(|&b| b != 0)
            {
                return Err("part padding".into());
            }
            let mut part = json!({ "offset": po, "length": pl });
            match (kind, format) {
                ("image", Some(f)) => {
                    let indexed = f == "indexed8";
                    let ok_palette = if indexed {
                        (1..=256).contains(&w[2])
                    } else {
                        w[2] == 0
                    };
                    let px = u64::from(w[0]) * u64::from(w[1]);
                    let want = u64::from(w[2]) * 4 + px * if indexed { 1 } else { 4 };
                    if w[0] == 0 || w[1] == 0 || !ok_palette || w[3] != 0 || want != pl {
                        return Err("image part".into());
                    }
                    let pixels = &payload[(po + u64::from(w[2]) * 4) as usize..(po + pl) as usize];
                    if indexed && pixels.iter().any(|&i| u32::from(i) >= w[2]) {
                        return Err("palette index".into());
                    }
                    part["width"] = w[0].into();
                    part["height"] = w[1].into();
                    if indexed {
                        part["palette"] = w[2].into();
                    }
                }
                ("audio", _) => {
                    let want = u64::from(w[0]) * u64::from(w[2]) * 2;
                    if w[0] == 0 || w[1] == 0 || w[3] != 0 || want != pl {
                        return Err("audio part".into());
                    }
                    part["channels"] = w[0].into();
                    part["sample_rate"] = w[1].into();
                    part["frames"] = w[2].into();
                }
                _ => {
                    if w != [0; 4] {
                        return Err("metadata".into());
                    }
                }
            }
            part_json.push(part);
            part_end = po + pl;
        }
        if part_end != length {
            return Err("payload end".into());
        }
        let hash = blake3::hash(payload);
        if hash.as_bytes() != &bytes[r + 56..r + 88] {
            return Err("payload hash".into());
        }
        let mut asset = json!({
            "asset_id": id,
            "asset_uuid": uuid.to_string(),
            "kind": kind,
            "offset": offset,
            "length": length,
            "blake3": hash.to_hex().to_string(),
            "parts": part_json,
        });
        if let Some(format) = format {
            asset["format"] = format.into();
        }
        out.push(asset);
        end = offset + length;
    }
    if next_part != parts || end != bytes.len() as u64 {
        return Err("end".into());
    }
    Ok(Value::Array(out))
}

#[test]
fn an_independent_reader_and_inspect_agree_with_the_packer() {
    let bytes = sample_pack();
    let ours = independent(&bytes).unwrap();
    let theirs = pack::read(&bytes).unwrap();
    let ids: Vec<u64> = theirs.entries.iter().map(|e| e.asset_id).collect();
    assert_eq!(ids, [2, 5, 7, 8, 30]);
    assert_eq!(ours.as_array().unwrap().len(), 5);
    assert_eq!(ours[1]["parts"][0]["palette"], 3);
    assert_eq!(ours[2]["parts"][0]["frames"], 2);

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("assets.pak"), &bytes).unwrap();
    let run = run_cli(
        dir.path().to_path_buf(),
        &["inspect", "assets.pak", "--json"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let inspected: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(inspected["assets"], ours);
    assert_eq!(inspected["bytes"], bytes.len());
    assert_eq!(inspected["valid"], true);
}

#[test]
fn every_truncation_and_every_flipped_bit_is_refused() {
    let bytes = sample_pack();
    for len in 0..bytes.len() {
        assert!(pack::read(&bytes[..len]).is_err(), "truncated to {len}");
        assert!(independent(&bytes[..len]).is_err(), "truncated to {len}");
    }
    for bit in 0..bytes.len() * 8 {
        let mut flipped = bytes.clone();
        flipped[bit / 8] ^= 1 << (bit % 8);
        assert!(pack::read(&flipped).is_err(), "bit {bit} flipped");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(pack::read(&longer).is_err());
}

#[test]
fn inspect_refuses_a_damaged_pack_with_exit_1() {
    let mut bytes = sample_pack();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x80;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("bad.pak"), &bytes).unwrap();
    let run = run_cli(dir.path().to_path_buf(), &["inspect", "bad.pak"]);
    assert_eq!(run.code, 1);
    let stderr = run.stderr;
    assert!(
        stderr.starts_with("error: bad.pak is not a valid pack: asset 30: the payload does not match its hash: it is damaged (at byte "),
        "{stderr}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any set of flipped bits is refused.
    #[test]
    fn flipped_bits_are_refused(flips in proptest::collection::btree_set(any::<usize>(), 1..6)) {
        let mut bytes = sample_pack();
        let bits = bytes.len() * 8;
        let positions: std::collections::BTreeSet<usize> = flips.iter().map(|f| f % bits).collect();
        for bit in &positions {
            bytes[bit / 8] ^= 1 << (bit % 8);
        }
        prop_assert!(pack::read(&bytes).is_err(), "flipped {:?}", positions);
    }

    /// Random bytes, with or without a valid-looking header, never make the reader
    /// panic or succeed.
    #[test]
    fn random_bytes_are_refused_without_panic(
        tail in proptest::collection::vec(any::<u8>(), 0..512),
        counts in (0u32..8, 0u32..8),
    ) {
        let mut bytes = b"PRMTPACK".to_vec();
        bytes.extend_from_slice(&1u32.to_le_bytes());
        bytes.extend_from_slice(&counts.0.to_le_bytes());
        bytes.extend_from_slice(&counts.1.to_le_bytes());
        bytes.extend_from_slice(&16u32.to_le_bytes());
        bytes.extend_from_slice(&((64 + tail.len()) as u64).to_le_bytes());
        bytes.extend_from_slice(&[0; 32]);
        bytes.extend_from_slice(&tail);
        prop_assert!(pack::read(&bytes).is_err());
        prop_assert!(pack::read(&tail).is_err());
    }
}

/// The part table of `sample_pack`: five assets, so it starts at 64 + 5 × 88.
const SAMPLE_PARTS_AT: usize = 64 + 5 * 88;

/// `bytes` (the sample pack) with `edit` applied, then its payload hashes and index hash
/// made right again, so that a reader gets past them to the rule under test.
fn rehashed(bytes: &[u8], edit: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    edit(&mut bytes);
    let u64_at = |b: &[u8], at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap());
    for asset in 0..5 {
        let record = 64 + asset * 88;
        let (offset, length) = (u64_at(&bytes, record + 40), u64_at(&bytes, record + 48));
        if let Some(payload) = bytes.get(offset as usize..(offset + length) as usize) {
            let hash = *blake3::hash(payload).as_bytes();
            bytes[record + 56..record + 88].copy_from_slice(&hash);
        }
    }
    let mut hashed = bytes[..32].to_vec();
    hashed.extend_from_slice(&bytes[64..SAMPLE_PARTS_AT + 8 * 32]);
    let hash = *blake3::hash(&hashed).as_bytes();
    bytes[32..64].copy_from_slice(&hash);
    bytes
}

#[test]
fn metadata_meaning_more_bytes_than_a_u64_holds_is_refused() {
    let bytes = sample_pack();
    // Parts 0 (rgba8), 2 (indexed8) and 3 (audio) of the sample pack.
    for (part, words) in [
        (0, [u32::MAX, u32::MAX, 0, 0]),
        (2, [u32::MAX, u32::MAX, 256, 0]),
        (3, [u32::MAX, 11_025, u32::MAX, 0]),
    ] {
        let damaged = rehashed(&bytes, |b| {
            let at = SAMPLE_PARTS_AT + part * 32 + 16;
            for (i, word) in words.iter().enumerate() {
                b[at + i * 4..at + i * 4 + 4].copy_from_slice(&word.to_le_bytes());
            }
        });
        let error = pack::read(&damaged).unwrap_err().to_string();
        assert!(error.contains("its metadata means"), "part {part}: {error}");
    }
}

#[test]
fn an_indexed_pixel_past_its_palette_is_refused() {
    let bytes = sample_pack();
    assert!(pack::read(&rehashed(&bytes, |_| {})).is_ok());
    // The indexed8 asset (id 5): a palette of 3 entries, then 4 pixels.
    let payload = u64::from_le_bytes(bytes[64 + 88 + 40..64 + 88 + 48].try_into().unwrap());
    let last_pixel = payload as usize + 3 * 4 + 3;
    let damaged = rehashed(&bytes, |b| b[last_pixel] = 3);
    let error = pack::read(&damaged).unwrap_err().to_string();
    assert!(
        error.contains("asset 5, part 0: pixel 3 is palette entry 3, but the palette has 3"),
        "{error}"
    );
    assert!(independent(&damaged).is_err());
}

#[test]
fn an_asset_id_of_0_is_named_as_such() {
    let damaged = rehashed(&sample_pack(), |b| {
        b[64..72].copy_from_slice(&0u64.to_le_bytes())
    });
    let error = pack::read(&damaged).unwrap_err().to_string();
    assert!(error.starts_with("asset id 0: ids start at 1"), "{error}");
}
