//! The pool of encoded input files the large generator draws from. Encoding a PNG or a
//! WAV costs far more than writing it, so each kind gets a fixed set of variants that
//! is encoded once and shared by every asset that uses it.

use std::sync::Arc;

use crate::json_text::{Json, Layout};
use crate::media::{self, Image, Pixels, SampleEncoding, Sound};
use crate::prng::SplitMix64;

/// Variants per kind: enough that neighbouring assets rarely share bytes, few enough
/// that encoding them all takes a fraction of a second.
pub const VARIANTS: usize = 64;

/// An encoded PNG and whether it uses a palette (so it may be packed as `indexed8`).
#[derive(Debug, Clone)]
pub struct PooledImage {
    pub bytes: Arc<[u8]>,
    pub palette: bool,
}

/// What a JSON input holds, so a level folder gets level files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataFlavour {
    /// A tile map with entities.
    Level,
    /// Rows of item or enemy stats.
    Table,
    /// Lines of localised dialogue.
    Dialogue,
    /// Nested settings or UI strings.
    Config,
}

impl DataFlavour {
    const ALL: [DataFlavour; 4] = [
        DataFlavour::Level,
        DataFlavour::Table,
        DataFlavour::Dialogue,
        DataFlavour::Config,
    ];
}

#[derive(Debug, Clone)]
pub struct Pool {
    pub images: Vec<PooledImage>,
    pub sounds: Vec<Arc<[u8]>>,
    /// Per flavour, in the order of `DataFlavour::ALL`.
    data: [Vec<Arc<[u8]>>; 4],
    pub blobs: Vec<Arc<[u8]>>,
}

impl Pool {
    /// Encodes every variant; each kind has its own random stream so the kinds do not
    /// shift one another.
    pub fn build(seed: u64) -> anyhow::Result<Pool> {
        let mut rng = SplitMix64::fork(seed, 10);
        let images = (0..VARIANTS)
            .map(|i| image_variant(i, &mut rng))
            .collect::<anyhow::Result<_>>()?;
        let mut rng = SplitMix64::fork(seed, 11);
        let sounds = (0..VARIANTS)
            .map(|i| Ok(media::encode_wav(&sound_variant(i, &mut rng))?.into()))
            .collect::<anyhow::Result<_>>()?;
        let mut rng = SplitMix64::fork(seed, 12);
        let data = DataFlavour::ALL.map(|flavour| {
            (0..VARIANTS / DataFlavour::ALL.len())
                .map(|_| data_variant(flavour, &mut rng).into_bytes().into())
                .collect()
        });
        let mut rng = SplitMix64::fork(seed, 13);
        let blobs = (0..VARIANTS)
            .map(|_| blob_variant(&mut rng).into())
            .collect();
        Ok(Pool {
            images,
            sounds,
            data,
            blobs,
        })
    }

    /// The JSON variants of one flavour.
    pub fn data(&self, flavour: DataFlavour) -> &[Arc<[u8]>] {
        // `ALL` lists the flavours in declaration order, so the discriminant indexes it.
        &self.data[flavour as usize]
    }

    /// Indices of the palette images, for assets packed as `indexed8`.
    pub fn palette_images(&self) -> Vec<usize> {
        (0..self.images.len())
            .filter(|&i| self.images[i].palette)
            .collect()
    }
}

/// Shapes drawn into images, as a map of small colour indices (0 = background).
#[derive(Debug, Clone, Copy)]
enum Pattern {
    /// A mirror-symmetric blob with an outline, like a tiny character sprite.
    Sprite,
    /// Repeating stripes and checks, like a floor or wall tile.
    Tile,
    /// Concentric rings, like a glow or a radial gradient.
    Radial,
    /// Smoothed noise, like a height map or a texture.
    Noise,
}

fn image_variant(index: usize, rng: &mut SplitMix64) -> anyhow::Result<PooledImage> {
    let width = image_side(rng);
    let height = if rng.percent(70) {
        width
    } else {
        image_side(rng)
    };
    let pattern = rng.pick(&[
        Pattern::Sprite,
        Pattern::Tile,
        Pattern::Radial,
        Pattern::Noise,
    ]);
    let pixels = match index % 4 {
        0 => {
            let colours = rng.range(3, 12) as usize;
            let map = pattern_map(pattern, width, height, colours, rng);
            let palette = random_colours(colours, rng);
            // Sprites keep a transparent background; other patterns get soft alpha.
            let soft = !matches!(pattern, Pattern::Sprite);
            let mut data = Vec::with_capacity(map.len() * 4);
            for &i in &map {
                let [r, g, b] = palette[usize::from(i)];
                let a = match (i, soft) {
                    (0, false) => 0,
                    (_, true) => 255 - (u16::from(i) * 200 / colours as u16) as u8,
                    _ => 255,
                };
                data.extend_from_slice(&[r, g, b, a]);
            }
            Pixels::Rgba8(data)
        }
        1 => {
            let colours = rng.range(4, 32) as usize;
            let map = pattern_map(pattern, width, height, colours, rng);
            let palette = random_colours(colours, rng);
            Pixels::Rgb8(map.iter().flat_map(|&i| palette[usize::from(i)]).collect())
        }
        2 => {
            let depth = rng.pick(&[8u8, 8, 8, 1, 2, 4]);
            let levels = 1usize << depth;
            let colours = levels.min(64);
            let map = pattern_map(pattern, width, height, colours, rng);
            let scale = (levels - 1) as f64 / (colours - 1) as f64;
            Pixels::Gray {
                depth,
                levels: map
                    .iter()
                    .map(|&i| (f64::from(i) * scale).round() as u8)
                    .collect(),
            }
        }
        _ => {
            let depth = rng.pick(&[8u8, 8, 4, 4, 2, 1]);
            let max = 1usize << depth;
            let colours = if depth == 8 {
                rng.range(2, 256) as usize
            } else {
                rng.range(2, max as u64) as usize
            };
            let palette = random_colours(colours, rng);
            let alpha = if rng.percent(50) {
                // Colour 0 transparent, as most palette sprites are.
                vec![0]
            } else {
                Vec::new()
            };
            Pixels::Palette {
                depth,
                palette,
                alpha,
                indices: pattern_map(pattern, width, height, colours, rng),
            }
        }
    };
    let palette = matches!(pixels, Pixels::Palette { .. });
    let bytes = media::encode_png(&Image {
        width,
        height,
        pixels,
    })?;
    Ok(PooledImage {
        bytes: bytes.into(),
        palette,
    })
}

/// Mostly the sizes artists pick, now and then an odd one.
fn image_side(rng: &mut SplitMix64) -> u32 {
    if rng.percent(75) {
        rng.pick(&[8u32, 16, 16, 24, 32, 32, 48, 64])
    } else {
        rng.range(8, 64) as u32
    }
}

/// A `width` × `height` map of indices in `0..colours` drawing `pattern`.
fn pattern_map(
    pattern: Pattern,
    width: u32,
    height: u32,
    colours: usize,
    rng: &mut SplitMix64,
) -> Vec<u8> {
    let (w, h) = (width as usize, height as usize);
    let top = (colours - 1) as u64;
    let mut map = vec![0u8; w * h];
    match pattern {
        Pattern::Sprite => {
            // Fill the left half at random, mirror it, then outline the shape.
            let half = w.div_ceil(2);
            let fill = rng.range(45, 70);
            let mut shape = vec![false; w * h];
            for y in 1..h.saturating_sub(1) {
                for x in 1..half {
                    if rng.percent(fill) {
                        shape[y * w + x] = true;
                        shape[y * w + (w - 1 - x)] = true;
                    }
                }
            }
            let body: Vec<u8> = (0..h).map(|_| rng.range(2.min(top), top) as u8).collect();
            for y in 0..h {
                for x in 0..w {
                    if shape[y * w + x] {
                        map[y * w + x] = body[y];
                    } else if neighbours(&shape, w, h, x, y) {
                        map[y * w + x] = 1.min(top as u8);
                    }
                }
            }
        }
        Pattern::Tile => {
            let cell = rng.range(2, 8) as usize;
            let a = rng.range(0, top) as u8;
            let b = rng.range(0, top) as u8;
            let stripe = rng.range(0, top) as u8;
            for y in 0..h {
                for x in 0..w {
                    map[y * w + x] = if (x + y) % (cell * 3) == 0 {
                        stripe
                    } else if (x / cell + y / cell).is_multiple_of(2) {
                        a
                    } else {
                        b
                    };
                }
            }
        }
        Pattern::Radial => {
            let (cx, cy) = (rng.float(0.0, w as f64), rng.float(0.0, h as f64));
            let reach = (w.max(h) as f64) * rng.float(0.5, 1.2);
            for y in 0..h {
                for x in 0..w {
                    let (dx, dy) = (x as f64 - cx, y as f64 - cy);
                    let d = ((dx * dx + dy * dy).sqrt() / reach).min(1.0);
                    map[y * w + x] = (d * top as f64).round() as u8;
                }
            }
        }
        Pattern::Noise => {
            let raw: Vec<u64> = (0..w * h).map(|_| rng.below(top + 1)).collect();
            for y in 0..h {
                for x in 0..w {
                    // A 3×3 box blur makes blotches instead of static.
                    let (mut sum, mut n) = (0u64, 0u64);
                    for yy in y.saturating_sub(1)..(y + 2).min(h) {
                        for xx in x.saturating_sub(1)..(x + 2).min(w) {
                            sum += raw[yy * w + xx];
                            n += 1;
                        }
                    }
                    map[y * w + x] = ((sum + n / 2) / n) as u8;
                }
            }
        }
    }
    map
}

fn neighbours(shape: &[bool], w: usize, h: usize, x: usize, y: usize) -> bool {
    let left = x > 0 && shape[y * w + x - 1];
    let right = x + 1 < w && shape[y * w + x + 1];
    let up = y > 0 && shape[(y - 1) * w + x];
    let down = y + 1 < h && shape[(y + 1) * w + x];
    left || right || up || down
}

/// A ramp between two random colours, as artists shade with: neighbouring indices
/// look alike, so patterns read as shapes and compress like real art.
fn random_colours(n: usize, rng: &mut SplitMix64) -> Vec<[u8; 3]> {
    let (from, to) = (rng.bytes::<3>(), rng.bytes::<3>());
    let steps = (n.max(2) - 1) as f64;
    (0..n)
        .map(|i| {
            let t = i as f64 / steps;
            std::array::from_fn(|c| {
                (f64::from(from[c]) + (f64::from(to[c]) - f64::from(from[c])) * t).round() as u8
            })
        })
        .collect()
}

fn sound_variant(index: usize, rng: &mut SplitMix64) -> Sound {
    let encoding = [
        SampleEncoding::Int8,
        SampleEncoding::Int16,
        SampleEncoding::Int24,
        SampleEncoding::Float32,
    ][index % 4];
    let channels = if (index / 4).is_multiple_of(2) { 1 } else { 2 };
    let sample_rate = rng.pick(&[11_025u32, 22_050, 44_100, 48_000]);
    let seconds = rng.float(0.05, 0.3);
    let frames = (f64::from(sample_rate) * seconds) as usize;
    let style = rng.below(3);
    let start = rng.float(110.0, 1_200.0);
    let end = start * rng.float(0.25, 4.0);
    let volume = rng.float(0.3, 0.9);
    let detune = rng.float(0.99, 1.01);
    let mut phases = [0.0f64; 2];
    let mut samples = Vec::with_capacity(frames * usize::from(channels));
    for i in 0..frames {
        let t = i as f64 / frames as f64;
        let envelope = volume * (1.0 - t) * (1.0 - t) * (t * 200.0).min(1.0);
        let freq = start + (end - start) * t;
        for (c, phase) in phases.iter_mut().enumerate().take(usize::from(channels)) {
            let f = if c == 0 { freq } else { freq * detune };
            *phase += f / f64::from(sample_rate);
            let value = match style {
                0 => media::sine(*phase),
                1 => media::square(*phase) * 0.6 + media::sine(*phase * 2.0) * 0.3,
                // Noise shaped by the tone: explosions, footsteps, hits.
                _ => (rng.unit() * 2.0 - 1.0) * 0.7 + media::triangle(*phase) * 0.3,
            };
            samples.push(value * envelope);
        }
    }
    Sound {
        sample_rate,
        channels,
        encoding,
        samples,
    }
}

const WORDS: &[&str] = &[
    "moss", "ember", "frost", "gale", "dusk", "ruin", "glade", "spire", "marsh", "dune", "cinder",
    "hollow", "quartz", "briar", "tide", "ash",
];

const UNICODE_WORDS: &[&str] = &[
    "Forêt",
    "Ñandú",
    "Straße",
    "café",
    "日本語",
    "Привет",
    "🐉 dragon",
    "naïve \"quoted\"",
    "tab\there",
    "line\nbreak",
    "back\\slash",
];

fn data_variant(flavour: DataFlavour, rng: &mut SplitMix64) -> String {
    let value = match flavour {
        DataFlavour::Level => level_json(rng),
        DataFlavour::Table => table_json(rng),
        DataFlavour::Dialogue => dialogue_json(rng),
        DataFlavour::Config if rng.percent(50) => config_json(rng, 0),
        DataFlavour::Config => strings_json(rng),
    };
    let layout = rng.pick(&[
        Layout::Compact,
        Layout::Spaces(2),
        Layout::Spaces(4),
        Layout::Tabs,
    ]);
    value.to_text(layout)
}

fn level_json(rng: &mut SplitMix64) -> Json {
    let (w, h) = (rng.range(8, 40) as usize, rng.range(6, 24) as usize);
    let tiles = (0..h)
        .map(|_| Json::Array((0..w).map(|_| Json::Int(rng.below(12) as i64)).collect()))
        .collect();
    let entities = (0..rng.range(0, 12))
        .map(|i| {
            Json::object([
                ("id", Json::Int(i as i64 + 1)),
                (
                    "type",
                    Json::str(rng.pick(&["slime", "bat", "coin", "chest", "door", "npc"])),
                ),
                ("x", Json::Int(rng.below(w as u64) as i64)),
                ("y", Json::Int(rng.below(h as u64) as i64)),
                ("facing", Json::str(rng.pick(&["left", "right"]))),
                (
                    "speed",
                    Json::Float((rng.float(0.0, 4.0) * 100.0).round() / 100.0),
                ),
            ])
        })
        .collect();
    Json::object([
        (
            "name",
            Json::str(&format!("{} {}", rng.pick(WORDS), rng.range(1, 99))),
        ),
        ("width", Json::Int(w as i64)),
        ("height", Json::Int(h as i64)),
        ("gravity", Json::Float(-9.81)),
        ("tiles", Json::Array(tiles)),
        ("entities", Json::Array(entities)),
        (
            "music",
            if rng.percent(70) {
                Json::str("theme")
            } else {
                Json::Null
            },
        ),
    ])
}

fn table_json(rng: &mut SplitMix64) -> Json {
    Json::Array(
        (0..rng.range(1, 40))
            .map(|i| {
                let tags = (0..rng.range(0, 3))
                    .map(|_| Json::str(rng.pick(&["rare", "quest", "stackable", "cursed"])))
                    .collect();
                Json::object([
                    ("id", Json::Int(i as i64)),
                    (
                        "name",
                        Json::str(&format!(
                            "{} {}",
                            rng.pick(WORDS),
                            rng.pick(&["sword", "ring", "herb", "key"])
                        )),
                    ),
                    ("price", Json::Float(rng.range(1, 99_999) as f64 / 100.0)),
                    ("weight", Json::Int(rng.range(0, 50) as i64 - 5)),
                    ("tradable", Json::Bool(rng.percent(80))),
                    ("tags", Json::Array(tags)),
                ])
            })
            .collect(),
    )
}

fn dialogue_json(rng: &mut SplitMix64) -> Json {
    let lines = (0..rng.range(1, 20))
        .map(|_| {
            Json::object([
                (
                    "speaker",
                    Json::str(rng.pick(&["hero", "elder", "merchant", "???"])),
                ),
                (
                    "text",
                    Json::str(&format!("{} {}!", rng.pick(UNICODE_WORDS), rng.pick(WORDS))),
                ),
                (
                    "wait",
                    if rng.percent(30) {
                        Json::Float(0.5)
                    } else {
                        Json::Null
                    },
                ),
            ])
        })
        .collect();
    Json::object([
        ("locale", Json::str(rng.pick(&["en", "fr", "ja", "pt-BR"]))),
        ("lines", Json::Array(lines)),
    ])
}

/// Nested settings objects, a few levels deep, with every JSON value type.
fn config_json(rng: &mut SplitMix64, depth: u32) -> Json {
    let members = (0..rng.range(1, 6))
        .map(|i| {
            let key = format!("{}_{i}", rng.pick(WORDS));
            let value = match rng.below(if depth < 4 { 7 } else { 6 }) {
                0 => Json::Null,
                1 => Json::Bool(rng.percent(50)),
                2 => Json::Int(rng.next_u64() as i64 >> rng.below(60)),
                3 => Json::Float(rng.float(-1e6, 1e6)),
                4 => Json::str(rng.pick(UNICODE_WORDS)),
                5 => Json::Array(
                    (0..rng.range(0, 5))
                        .map(|_| Json::Float(rng.unit()))
                        .collect(),
                ),
                _ => config_json(rng, depth + 1),
            };
            (key, value)
        })
        .collect();
    Json::Object(members)
}

fn strings_json(rng: &mut SplitMix64) -> Json {
    Json::Object(
        (0..rng.range(1, 30))
            .map(|i| {
                (
                    format!("ui.{}.{i}", rng.pick(WORDS)),
                    Json::str(&format!(
                        "{} {}",
                        rng.pick(UNICODE_WORDS),
                        rng.pick(UNICODE_WORDS)
                    )),
                )
            })
            .collect(),
    )
}

fn blob_variant(rng: &mut SplitMix64) -> Vec<u8> {
    // Sizes spread over orders of magnitude, as real binary files are.
    let size = 1usize << rng.range(4, 14);
    let size = size + rng.below(size as u64) as usize;
    let mut bytes = vec![0; size];
    rng.fill(&mut bytes);
    bytes
}
