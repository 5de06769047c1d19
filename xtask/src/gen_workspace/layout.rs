//! Where the large generator puts each asset and what it declares: folders grouped the
//! way game projects grow (`sprites/<biome>/<group>/<name>_<n>`), groups of tens to a
//! few hundred assets filled side by side as if added over time, ids with the gaps
//! that removed assets leave.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context as _;
use packer_domain::declaration::{AssetKind, Declaration, OutputOptions, PixelFormat};
use packer_domain::path::AssetPath;

use crate::gen_workspace::pool::{DataFlavour, Pool};
use crate::prng::SplitMix64;
use crate::project::{GeneratedAsset, GeneratedProject};

/// One family of folders, e.g. `sprites/<biome>/<group>`.
struct Category {
    kind: AssetKind,
    /// Share of all assets, in percent; the table adds up to 100 and keeps the kinds at
    /// about 50% image, 20% audio, 20% data, 10% blob.
    weight: u64,
    /// Fixed leading segments.
    prefix: &'static str,
    /// Segments between the prefix and the group, one picked from each list.
    levels: &'static [&'static [&'static str]],
    groups: &'static [&'static str],
    /// Asset names, numbered within their group.
    words: &'static [&'static str],
    /// What the JSON inputs of a `data` category hold.
    flavour: Option<DataFlavour>,
}

const BIOMES: &[&str] = &[
    "forest", "desert", "tundra", "caves", "castle", "swamp", "volcano", "sky", "ocean", "ruins",
];
const WORLDS: &[&str] = &["world1", "world2", "world3", "world4", "bonus", "tutorial"];

const CATEGORIES: &[Category] = &[
    Category {
        kind: AssetKind::Image,
        weight: 35,
        prefix: "sprites",
        levels: &[BIOMES],
        groups: &[
            "enemies",
            "npcs",
            "props",
            "items",
            "effects",
            "portraits",
            "bosses",
        ],
        words: &[
            "goblin", "slime", "bat", "knight", "archer", "chest", "barrel", "torch", "spark",
            "gem", "potion", "arrow", "fireball", "mushroom", "skeleton", "wisp",
        ],
        flavour: None,
    },
    Category {
        kind: AssetKind::Image,
        weight: 10,
        prefix: "tiles",
        levels: &[BIOMES],
        groups: &["ground", "walls", "decor", "water", "platforms"],
        words: &["tile", "edge", "corner", "slope", "block", "grass", "stone"],
        flavour: None,
    },
    Category {
        kind: AssetKind::Image,
        weight: 5,
        prefix: "ui",
        levels: &[],
        groups: &["icons", "buttons", "frames", "cursors", "fonts"],
        words: &["icon", "button", "panel", "cursor", "glyph", "badge"],
        flavour: None,
    },
    Category {
        kind: AssetKind::Audio,
        weight: 16,
        prefix: "audio/sfx",
        levels: &[],
        groups: &[
            "footsteps",
            "weapons",
            "ui",
            "impacts",
            "magic",
            "ambience",
            "voices",
        ],
        words: &[
            "step", "swing", "click", "hit", "cast", "wind", "grunt", "pickup",
        ],
        flavour: None,
    },
    Category {
        kind: AssetKind::Audio,
        weight: 4,
        prefix: "audio/music",
        levels: &[],
        groups: WORLDS,
        words: &["theme", "battle", "village", "boss", "ending", "jingle"],
        flavour: None,
    },
    Category {
        kind: AssetKind::Data,
        weight: 12,
        prefix: "data/levels",
        levels: &[],
        groups: WORLDS,
        words: &["level", "stage", "room", "arena", "secret"],
        flavour: Some(DataFlavour::Level),
    },
    Category {
        kind: AssetKind::Data,
        weight: 5,
        prefix: "data/tables",
        levels: &[],
        groups: &["items", "enemies", "loot", "shops", "skills"],
        words: &["table", "stats", "drops", "prices"],
        flavour: Some(DataFlavour::Table),
    },
    Category {
        kind: AssetKind::Data,
        weight: 3,
        prefix: "data/dialogue",
        levels: &[],
        groups: &["chapter1", "chapter2", "chapter3", "side_quests"],
        words: &["scene", "talk", "cutscene", "bark"],
        flavour: Some(DataFlavour::Dialogue),
    },
    Category {
        kind: AssetKind::Blob,
        weight: 10,
        prefix: "blobs",
        levels: &[],
        groups: &["shaders", "fonts", "maps", "raw", "scripts", "video"],
        words: &["shader", "font", "navmesh", "lut", "script", "clip"],
        flavour: None,
    },
];

const BLOB_EXTENSIONS: &[&str] = &["bin", "dat", "spv", "ttf", "lua", "raw"];

/// Groups per category that receive new assets at the same time.
const OPEN_GROUPS: usize = 3;

/// A folder that assets are being added to.
struct Group {
    dir: String,
    remaining: u64,
    next_number: u64,
}

/// Plans `count` assets. Every decision is drawn from one stream seeded by `seed`, in
/// asset order, so the plan is a pure function of `(count, seed, pool)`.
pub fn plan(count: usize, seed: u64, pool: &Pool) -> anyhow::Result<GeneratedProject> {
    let mut rng = SplitMix64::fork(seed, 1);
    let palette_images = pool.palette_images();
    let mut open: Vec<Vec<Group>> = CATEGORIES.iter().map(|_| Vec::new()).collect();
    let mut used_dirs: HashMap<String, u64> = HashMap::new();
    let mut assets = Vec::with_capacity(count);
    let mut next_id = 1u64;
    for _ in 0..count {
        let category_index = pick_category(&mut rng);
        let category = &CATEGORIES[category_index];
        let groups = &mut open[category_index];
        if groups.len() < OPEN_GROUPS {
            groups.push(new_group(category, &mut used_dirs, &mut rng));
        }
        let slot = rng.index(groups.len());
        let group = &mut groups[slot];
        let word = rng.pick(category.words);
        let number = group.next_number;
        let root = format!("{}/{word}_{number}", group.dir);
        group.next_number += 1;
        group.remaining -= 1;
        if group.remaining == 0 {
            groups.swap_remove(slot);
        }

        // Removed assets leave holes: ids are never reused.
        if rng.percent(2) {
            next_id += rng.range(1, 3);
        }
        let asset_id = next_id;
        next_id += 1;
        let included_in_build = !rng.percent(10);
        let asset_uuid = uuid::Builder::from_random_bytes(rng.bytes::<16>()).into_uuid();
        let name = if rng.percent(10) {
            format!("{} {number}", title_case(word))
        } else {
            format!("{word}_{number}")
        };
        let (inputs, output) = inputs_for(category, word, pool, &palette_images, &mut rng);
        let (paths, contents): (Vec<_>, Vec<_>) = inputs.into_iter().unzip();
        let declaration = Declaration {
            asset_uuid,
            name,
            kind: category.kind,
            inputs: paths
                .iter()
                .map(|p: &String| AssetPath::new(p))
                .collect::<Result<_, _>>()
                .with_context(|| format!("an input path of {root}"))?,
            output,
        };
        assets.push(GeneratedAsset {
            asset_id,
            root: AssetPath::new(&root).with_context(|| format!("the root `{root}`"))?,
            included_in_build,
            declaration,
            contents,
        });
    }
    // The newest assets may have been removed too.
    let next_asset_id = next_id + if rng.percent(30) { rng.range(1, 3) } else { 0 };
    Ok(GeneratedProject {
        next_asset_id,
        assets,
    })
}

fn pick_category(rng: &mut SplitMix64) -> usize {
    let mut roll = rng.below(100);
    for (i, category) in CATEGORIES.iter().enumerate() {
        if roll < category.weight {
            return i;
        }
        roll -= category.weight;
    }
    CATEGORIES.len() - 1
}

fn new_group(
    category: &Category,
    used_dirs: &mut HashMap<String, u64>,
    rng: &mut SplitMix64,
) -> Group {
    let mut dir = category.prefix.to_owned();
    for level in category.levels {
        dir.push('/');
        dir.push_str(rng.pick(level));
    }
    dir.push('/');
    dir.push_str(rng.pick(category.groups));
    // A second group of the same name gets a suffix, as `enemies_2` next to `enemies`.
    let uses = used_dirs.entry(dir.clone()).or_insert(0);
    *uses += 1;
    if *uses > 1 {
        dir = format!("{dir}_{uses}");
    }
    let remaining = match rng.below(10) {
        0..=5 => rng.range(10, 60),
        6..=8 => rng.range(60, 150),
        _ => rng.range(150, 400),
    };
    Group {
        dir,
        remaining,
        next_number: 1,
    }
}

type Inputs = Vec<(String, Arc<[u8]>)>;

/// The input files of one asset and its output options.
fn inputs_for(
    category: &Category,
    word: &str,
    pool: &Pool,
    palette_images: &[usize],
    rng: &mut SplitMix64,
) -> (Inputs, OutputOptions) {
    let output = OutputOptions::default_for(category.kind);
    match category.kind {
        AssetKind::Image => {
            let two = rng.percent(15);
            let first = rng.index(pool.images.len());
            // Palette art is usually packed as palette art; sometimes flattened anyway.
            let indexed =
                pool.images[first].palette && !palette_images.is_empty() && rng.percent(60);
            let names = if !two {
                vec![format!("{word}.png")]
            } else {
                match rng.below(3) {
                    0 => vec!["frames/0.png".to_owned(), "frames/1.png".to_owned()],
                    1 => vec![format!("{word}_0.png"), format!("{word}_1.png")],
                    _ => vec![format!("{word}.png"), format!("{word}_normal.png")],
                }
            };
            let inputs = names
                .into_iter()
                .enumerate()
                .map(|(i, name)| {
                    let variant = match (i, indexed) {
                        (0, _) => first,
                        (_, true) => rng.pick(palette_images),
                        (_, false) => rng.index(pool.images.len()),
                    };
                    (name, pool.images[variant].bytes.clone())
                })
                .collect();
            let output = if indexed {
                OutputOptions::Image {
                    format: PixelFormat::Indexed8,
                }
            } else {
                output
            };
            (inputs, output)
        }
        AssetKind::Audio => {
            let names = if rng.percent(10) {
                vec![format!("{word}_a.wav"), format!("{word}_b.wav")]
            } else {
                vec![format!("{word}.wav")]
            };
            (with_content(names, &pool.sounds, rng), output)
        }
        AssetKind::Data => {
            let flavour = category.flavour.unwrap_or(DataFlavour::Config);
            let mut inputs = with_content(vec![format!("{word}.json")], pool.data(flavour), rng);
            if rng.percent(15) {
                inputs.extend(with_content(
                    vec!["meta.json".to_owned()],
                    pool.data(DataFlavour::Config),
                    rng,
                ));
            }
            (inputs, output)
        }
        AssetKind::Blob => {
            let extension = rng.pick(BLOB_EXTENSIONS);
            let mut names = vec![format!("{word}.{extension}")];
            if rng.percent(10) {
                names.push(format!("{word}_extra.{extension}"));
            }
            (with_content(names, &pool.blobs, rng), output)
        }
    }
}

fn with_content(names: Vec<String>, variants: &[Arc<[u8]>], rng: &mut SplitMix64) -> Inputs {
    names
        .into_iter()
        .map(|name| (name, variants[rng.index(variants.len())].clone()))
        .collect()
}

fn title_case(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
