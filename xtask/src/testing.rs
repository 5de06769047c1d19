//! Test support: checks a generated project the way the packer will read it, with the
//! domain's own parsers and the real decoders, independently of how it was generated.

use std::io::Cursor;
use std::path::Path;

use packer_domain::declaration::{AssetKind, Declaration, OutputOptions, PixelFormat};
use packer_domain::path::DECLARATION_FILE;
use packer_domain::registry::Registry;

use crate::project::{self, GITIGNORE};

/// What [`verify_project`] saw.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Census {
    pub assets: usize,
    /// Assets per kind: image, audio, data, blob.
    pub kinds: [usize; 4],
    pub excluded: usize,
    pub multi_input: usize,
    pub indexed8: usize,
    pub png_colour_types: Vec<png::ColorType>,
    pub wav_formats: Vec<(u16, hound::SampleFormat, u16)>,
}

/// Checks the project in `dir` and panics with the offending path on the first problem:
/// the registry and every declaration parse, every registered root holds an
/// `asset.json` with the registered uuid and no other `asset.json` exists, every input
/// exists and decodes as its kind says (indexed8 images being palette PNGs), and the
/// `.gitignore` is the one `init` writes.
pub fn verify_project(dir: &Path) -> Census {
    let tree = project::read_tree(dir).unwrap();
    let file = |path: &str| -> &[u8] {
        tree.get(path)
            .unwrap_or_else(|| panic!("{path} is missing"))
    };
    assert_eq!(file("assets/.prometeu/.gitignore"), GITIGNORE.as_bytes());
    let registry = Registry::parse(file("assets/.prometeu/index.json"))
        .unwrap_or_else(|e| panic!("the registry does not parse: {e:?}"));
    let declarations = tree
        .keys()
        .filter(|p| p.ends_with(&format!("/{DECLARATION_FILE}")))
        .count();
    assert_eq!(
        declarations,
        registry.assets().len(),
        "unregistered asset.json files"
    );

    let mut census = Census::default();
    for entry in registry.assets() {
        let base = format!("assets/{}", entry.root);
        let path = format!("{base}/{DECLARATION_FILE}");
        let parsed = Declaration::parse(file(&path))
            .unwrap_or_else(|e| panic!("{path} does not parse: {:?}", e.errors));
        let declaration = parsed.declaration;
        assert_eq!(declaration.asset_uuid, entry.asset_uuid, "{path}");
        census.assets += 1;
        census.kinds[AssetKind::ALL
            .iter()
            .position(|k| *k == declaration.kind)
            .unwrap()] += 1;
        census.excluded += usize::from(!entry.included_in_build);
        census.multi_input += usize::from(declaration.inputs.len() > 1);
        let indexed = declaration.output
            == OutputOptions::Image {
                format: PixelFormat::Indexed8,
            };
        census.indexed8 += usize::from(indexed);
        for input in &declaration.inputs {
            let path = format!("{base}/{input}");
            let bytes = file(&path);
            match declaration.kind {
                AssetKind::Image => {
                    let colour = check_png(bytes, &path);
                    if indexed {
                        assert_eq!(colour, png::ColorType::Indexed, "{path}");
                    }
                    if !census.png_colour_types.contains(&colour) {
                        census.png_colour_types.push(colour);
                    }
                }
                AssetKind::Audio => {
                    let format = check_wav(bytes, &path);
                    if !census.wav_formats.contains(&format) {
                        census.wav_formats.push(format);
                    }
                }
                AssetKind::Data => {
                    serde_json::from_slice::<serde_json::Value>(bytes)
                        .unwrap_or_else(|e| panic!("{path} is not JSON: {e}"));
                }
                AssetKind::Blob => assert!(!bytes.is_empty(), "{path} is empty"),
            }
        }
    }
    census
}

/// Decodes the whole image and returns its colour type.
fn check_png(bytes: &[u8], path: &str) -> png::ColorType {
    let decoder = png::Decoder::new(Cursor::new(bytes));
    let mut reader = decoder
        .read_info()
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    let colour = reader.info().color_type;
    let (width, height) = (reader.info().width, reader.info().height);
    assert!(
        (1..=64).contains(&width) && (1..=64).contains(&height),
        "{path}: {width}×{height}"
    );
    let size = reader.output_buffer_size().unwrap();
    let mut buffer = vec![0; size];
    reader
        .next_frame(&mut buffer)
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    colour
}

/// Decodes every sample and returns (channels, sample format, bits per sample).
fn check_wav(bytes: &[u8], path: &str) -> (u16, hound::SampleFormat, u16) {
    let mut reader =
        hound::WavReader::new(Cursor::new(bytes)).unwrap_or_else(|e| panic!("{path}: {e}"));
    let spec = reader.spec();
    let count = match spec.sample_format {
        hound::SampleFormat::Int => reader
            .samples::<i32>()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
            .len(),
        hound::SampleFormat::Float => reader
            .samples::<f32>()
            .collect::<Result<Vec<_>, _>>()
            .unwrap()
            .len(),
    };
    let seconds = count as f64 / f64::from(spec.channels) / f64::from(spec.sample_rate);
    assert!((0.04..=2.0).contains(&seconds), "{path}: {seconds} s");
    (spec.channels, spec.sample_format, spec.bits_per_sample)
}
