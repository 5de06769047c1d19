//! The demo project's pixel art, drawn as text so it can be read and touched up in
//! review: one character per pixel, a legend mapping characters to colours.

use anyhow::{Context as _, bail};

use crate::media::{Image, Pixels};

/// A colour of a legend: RGBA.
type Rgba = [u8; 4];

const CLEAR: Rgba = [0, 0, 0, 0];
const INK: Rgba = [34, 32, 52, 255];
const WHITE: Rgba = [255, 255, 255, 255];

/// The hero: a little adventurer in a green tunic, 16×16.
pub fn hero() -> anyhow::Result<Image> {
    rgba(
        &[
            "................",
            ".....KKKKKK.....",
            "....KHHHHHHK....",
            "...KHHHHHHHHK...",
            "...KHSSSSSSHK...",
            "...KSSKSSKSSK...",
            "...KSSWSSWSSK...",
            "....KSSSSSSK....",
            "...KKGGGGGGKK...",
            "..KSKGGGGGGKSK..",
            "..KSKBBYYBBKSK..",
            "...KKGGGGGGKK...",
            "....KLLLLLLK....",
            "....KLLKKLLK....",
            "...KBBBKKBBBK...",
            "...KKKK..KKKK...",
        ],
        &[
            ('.', CLEAR),
            ('K', INK),
            ('W', WHITE),
            ('H', [143, 86, 59, 255]),
            ('S', [238, 195, 154, 255]),
            ('G', [55, 148, 110, 255]),
            ('B', [102, 57, 49, 255]),
            ('Y', [251, 242, 54, 255]),
            ('L', [91, 110, 225, 255]),
        ],
    )
}

/// The slime, two frames of its bounce: resting, then squashed.
pub fn slime_frames() -> anyhow::Result<[Image; 2]> {
    let legend = [
        ('.', CLEAR),
        ('K', INK),
        ('W', WHITE),
        ('G', [106, 190, 48, 255]),
        ('D', [75, 105, 47, 255]),
        // The body is a little see-through.
        ('g', [153, 229, 80, 220]),
    ];
    let resting = rgba(
        &[
            "................",
            "................",
            "................",
            "................",
            "......KKKK......",
            "....KKgggGKK....",
            "...KgWggGGGGK...",
            "...KgWgGGGGGK...",
            "..KgGGGGGGGGGK..",
            "..KGGKGGGGKGGK..",
            "..KGGKGGGGKGGK..",
            "..KGGGGGGGGGGK..",
            "..KDGGGGGGGGDK..",
            "...KDDDDDDDDK...",
            "....KKKKKKKK....",
            "................",
        ],
        &legend,
    )?;
    let squashed = rgba(
        &[
            "................",
            "................",
            "................",
            "................",
            "................",
            "................",
            "................",
            ".......KK.......",
            ".....KKggGKK....",
            "...KKgWgGGGGKK..",
            ".KKgGGGGGGGGGGKK",
            "KGGGGKGGGGGKGGGK",
            "KGGGGKGGGGGKGGGK",
            "KDGGGGGGGGGGGGDK",
            ".KKDDDDDDDDDDKK.",
            "...KKKKKKKKKK...",
        ],
        &legend,
    )?;
    Ok([resting, squashed])
}

/// A forest tileset of four 16×16 tiles in one palette image: grass, a dirt path, a
/// tree top and water. Colour 0 is transparent, as palette art usually has it.
pub fn forest_tiles() -> anyhow::Result<Image> {
    const GRASS: [&str; 16] = [
        "GGGGGGGGGGGGGGGG",
        "GGgGGGGGGGGgGGGG",
        "GGGGGGGGGGGGGGGG",
        "GGGGGGgGGGGGGGGG",
        "GGGGGGGGGGGGGgGG",
        "GgGGGGGGGGGGGGGG",
        "GGGGGGGGGGGGGGGG",
        "GGGGGGGGGgGGGGGG",
        "GGGGGGGGGGGGGGGG",
        "GGGgGGGGGGGGGGGG",
        "GGGGGGGGGGGGgGGG",
        "GGGGGGGGGGGGGGGG",
        "GGGGGgGGGGGGGGGG",
        "GGGGGGGGGGGGGGgG",
        "GgGGGGGGGGGGGGGG",
        "GGGGGGGGGgGGGGGG",
    ];
    const PATH: [&str; 16] = [
        "GGGddddddddddGGG",
        "GGdddddDdddddGGG",
        "GGddddddddddddGG",
        "GGdDddddddddddGG",
        "GgddddddddddddGG",
        "GGddddddddDdddGG",
        "GGdddddddddddgGG",
        "GGddddDddddddDGG",
        "GGddddddddddddGG",
        "GGdddddddddddDGG",
        "GGdDdddddddddGgG",
        "GGGdddddddddddGG",
        "GGdddddDddddddGG",
        "GgddddddddddddGG",
        "GGdddddddddDddGG",
        "GGGddddddddddGGG",
    ];
    const TREE: [&str; 16] = [
        "....KKKKKKKK....",
        "..KKTTTTTTTTKK..",
        ".KTTTtTTTTTTTTK.",
        ".KTTtTTTTTtTTTK.",
        "KTTTTTTTTTTTTTTK",
        "KTtTTTTTtTTTTTTK",
        "KTTTTTTTTTTTtTTK",
        "KTTTTtTTTTTTTTTK",
        ".KTTTTTTTtTTTTK.",
        ".KTTtTTTTTTTTTK.",
        "..KKTTTTTTTTKK..",
        "....KKKbbKKK....",
        "......KbbK......",
        "......KbbK......",
        ".....KbbbbK.....",
        ".....KKKKKK.....",
    ];
    const WATER: [&str; 16] = [
        "wwwwwwwwwwwwwwww",
        "wwWWwwwwwwwwwwww",
        "wwwwwwwwwwwwwwww",
        "wwwwwwwwwWWwwwww",
        "wwwwwwwwwwwwwwww",
        "wwwwwwwwwwwwwwww",
        "wWWwwwwwwwwwwwww",
        "wwwwwwwwwwwwwwww",
        "wwwwwwwwwwwwWWww",
        "wwwwwwwwwwwwwwww",
        "wwwwwWWwwwwwwwww",
        "wwwwwwwwwwwwwwww",
        "wwwwwwwwwwwwwwww",
        "wwWWwwwwwwwwwwww",
        "wwwwwwwwwwwwwwww",
        "wwwwwwwwwWWwwwww",
    ];
    let rows: Vec<String> = (0..16)
        .map(|y| [GRASS[y], PATH[y], TREE[y], WATER[y]].concat())
        .collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    palette(
        &rows,
        &[
            ('.', [0, 0, 0], 0),
            ('K', [34, 32, 52], 255),
            ('G', [106, 190, 48], 255),
            ('g', [75, 105, 47], 255),
            ('d', [143, 86, 59], 255),
            ('D', [102, 57, 49], 255),
            ('T', [55, 148, 110], 255),
            ('t', [153, 229, 80], 255),
            ('b', [102, 57, 49], 255),
            ('w', [91, 110, 225], 255),
            ('W', [203, 219, 252], 255),
        ],
    )
}

/// A coin icon, 12×12.
pub fn coin() -> anyhow::Result<Image> {
    rgba(
        &[
            "....KKKK....",
            "..KKYYYYKK..",
            ".KYYWWYYOYK.",
            ".KYWYYYYOYK.",
            "KYYWYOOYYOYK",
            "KYYYYOYYYOYK",
            "KYYYYOYYYOYK",
            "KYYYYOOYYOYK",
            ".KYYYYYYOOK.",
            ".KOYYYYYOOK.",
            "..KKOOOOKK..",
            "....KKKK....",
        ],
        &[
            ('.', CLEAR),
            ('K', INK),
            ('W', WHITE),
            ('Y', [251, 242, 54, 255]),
            ('O', [223, 113, 38, 255]),
        ],
    )
}

/// The digits 0–9 of a 3×5 pixel font on a 4×7 grid, in grey levels (white glyphs with
/// a grey drop shadow on black), as a UI font atlas would be.
pub fn digits() -> anyhow::Result<Image> {
    const GLYPHS: [[&str; 5]; 10] = [
        ["###", "#.#", "#.#", "#.#", "###"],
        [".#.", "##.", ".#.", ".#.", "###"],
        ["###", "..#", "###", "#..", "###"],
        ["###", "..#", ".##", "..#", "###"],
        ["#.#", "#.#", "###", "..#", "..#"],
        ["###", "#..", "###", "..#", "###"],
        ["###", "#..", "###", "#.#", "###"],
        ["###", "..#", ".#.", ".#.", ".#."],
        ["###", "#.#", "###", "#.#", "###"],
        ["###", "#.#", "###", "..#", "###"],
    ];
    let (cell_w, cell_h) = (4usize, 7usize);
    let width = cell_w * GLYPHS.len();
    let mut levels = vec![0u8; width * cell_h];
    for (n, glyph) in GLYPHS.iter().enumerate() {
        for (y, row) in glyph.iter().enumerate() {
            for (x, c) in row.bytes().enumerate() {
                if c != b'#' {
                    continue;
                }
                let (px, py) = (n * cell_w + x, y + 1);
                levels[py * width + px] = 255;
                let shadow = (py + 1) * width + px + 1;
                if levels[shadow] == 0 {
                    levels[shadow] = 96;
                }
            }
        }
    }
    Ok(Image {
        width: u32::try_from(width)?,
        height: u32::try_from(cell_h)?,
        pixels: Pixels::Gray { depth: 8, levels },
    })
}

/// A one-eyed horned boss, 32×32, in RGB with the magenta colour key that old sprite
/// sheets use instead of alpha. Drawn from circles rather than text, being round.
pub fn boss() -> Image {
    const KEY: [u8; 3] = [255, 0, 255];
    let size = 32usize;
    let centre = 15.5f64;
    let mut data = Vec::with_capacity(size * size * 3);
    for y in 0..size {
        for x in 0..size {
            let (fx, fy) = (x as f64 - centre, y as f64 - centre - 2.0);
            let body = (fx * fx + fy * fy).sqrt();
            let (ex, ey) = (fx, fy + 3.0);
            let eye = (ex * ex + ey * ey).sqrt();
            // Horns: two triangles rising from the top of the body.
            let horn_x = (fx.abs() - 9.0).abs();
            let horn = fy < -7.0 && fy > -16.0 && horn_x < (fy + 16.0) * 0.35;
            let mouth = fy > 6.0 && fy < 9.0 && fx.abs() < 7.0;
            let tooth = mouth && fy < 7.5 && (x % 3 == 0);
            let pixel = if horn {
                [238, 232, 213]
            } else if body > 13.5 {
                KEY
            } else if body > 12.5 {
                [34, 32, 52]
            } else if eye < 2.0 {
                [20, 12, 28]
            } else if eye < 4.0 {
                [217, 87, 99]
            } else if eye < 6.5 {
                [255, 255, 255]
            } else if eye < 7.5 {
                [34, 32, 52]
            } else if tooth {
                [255, 255, 255]
            } else if mouth {
                [69, 40, 60]
            } else if fx + fy < -8.0 {
                // Light from the top left.
                [170, 110, 200]
            } else {
                [118, 66, 138]
            };
            data.extend_from_slice(&pixel);
        }
    }
    Image {
        width: 32,
        height: 32,
        pixels: Pixels::Rgb8(data),
    }
}

/// An RGBA image from rows of legend characters.
fn rgba(rows: &[&str], legend: &[(char, Rgba)]) -> anyhow::Result<Image> {
    let (width, height) = grid_size(rows)?;
    let mut data = Vec::with_capacity(width * height * 4);
    for c in rows.iter().flat_map(|r| r.chars()) {
        let colour = legend
            .iter()
            .find(|(key, _)| *key == c)
            .map(|(_, colour)| *colour)
            .with_context(|| format!("`{c}` is not in the legend"))?;
        data.extend_from_slice(&colour);
    }
    Ok(Image {
        width: u32::try_from(width)?,
        height: u32::try_from(height)?,
        pixels: Pixels::Rgba8(data),
    })
}

/// A palette image from rows of legend characters; the legend's order is the palette's.
fn palette(rows: &[&str], legend: &[(char, [u8; 3], u8)]) -> anyhow::Result<Image> {
    let (width, height) = grid_size(rows)?;
    let mut indices = Vec::with_capacity(width * height);
    for c in rows.iter().flat_map(|r| r.chars()) {
        let index = legend
            .iter()
            .position(|(key, _, _)| *key == c)
            .with_context(|| format!("`{c}` is not in the legend"))?;
        indices.push(u8::try_from(index)?);
    }
    // tRNS only needs the entries up to the last translucent one.
    let last_translucent = legend.iter().rposition(|(_, _, a)| *a != 255);
    let alpha = match last_translucent {
        Some(last) => legend[..=last].iter().map(|(_, _, a)| *a).collect(),
        None => Vec::new(),
    };
    Ok(Image {
        width: u32::try_from(width)?,
        height: u32::try_from(height)?,
        pixels: Pixels::Palette {
            depth: 8,
            palette: legend.iter().map(|(_, rgb, _)| *rgb).collect(),
            alpha,
            indices,
        },
    })
}

fn grid_size(rows: &[&str]) -> anyhow::Result<(usize, usize)> {
    let width = rows.first().map_or(0, |r| r.chars().count());
    if width == 0 {
        bail!("a drawing needs at least one pixel");
    }
    if let Some(row) = rows.iter().find(|r| r.chars().count() != width) {
        bail!("row `{row}` is not {width} pixels wide");
    }
    Ok((width, rows.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_drawing_is_rectangular_and_uses_its_legend() {
        hero().unwrap();
        slime_frames().unwrap();
        forest_tiles().unwrap();
        coin().unwrap();
        digits().unwrap();
    }
}
