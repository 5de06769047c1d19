//! The build's check of a large `data` input: a tile map of 25 million numbers (50 MB of
//! JSON) checked by `json::validate`, which reads it without a tree, against
//! `json::parse`, which builds the tree the registry and declarations are read into.
//! Time and bytes allocated for each.

use std::time::Instant;

use anyhow::ensure;
use packer_domain::json;
use stats_alloc::{Region, StatsAlloc};

use crate::report::{Measurement, Report, ms};

/// Values in the generated tile map.
const TILES: usize = 25_000_000;

pub fn run(
    report: &mut Report,
    alloc: &'static StatsAlloc<std::alloc::System>,
    iterations: usize,
) -> anyhow::Result<()> {
    let text = tile_map();
    let mut checked = Vec::with_capacity(iterations);
    let mut built = Vec::with_capacity(iterations);
    let (mut check_bytes, mut tree_bytes) = (0, 0);
    for _ in 0..iterations {
        let region = Region::new(alloc);
        let t = Instant::now();
        let result = json::validate(&text);
        checked.push(ms(t.elapsed()));
        check_bytes = region.change().bytes_allocated;
        ensure!(result.is_ok(), "the tile map does not check: {result:?}");

        let region = Region::new(alloc);
        let t = Instant::now();
        let tree = json::parse(&text);
        built.push(ms(t.elapsed()));
        tree_bytes = region.change().bytes_allocated;
        ensure!(tree.is_ok(), "the tile map does not parse");
        drop(tree);
    }
    let size = text.len() as f64;
    report.push(Measurement::timings(
        format!("data input check, {} MB tile map", text.len() >> 20),
        checked,
    ));
    report.push(Measurement::info(
        "  bytes allocated by the check, per byte of input".to_owned(),
        check_bytes as f64 / size,
        "bytes",
        Vec::new(),
    ));
    report.push(Measurement::timings(
        "  the same read into the tree instead".to_owned(),
        built,
    ));
    report.push(Measurement::info(
        "  bytes allocated by the tree, per byte of input".to_owned(),
        tree_bytes as f64 / size,
        "bytes",
        Vec::new(),
    ));
    Ok(())
}

/// `{"width": 5000, "data": [0,1,2,3,4,0,1,...]}`, as a tile map editor exports it.
fn tile_map() -> Vec<u8> {
    let mut text = Vec::with_capacity(TILES * 2 + 64);
    text.extend_from_slice(b"{\"width\": 5000, \"data\": [");
    for i in 0..TILES {
        if i > 0 {
            text.push(b',');
        }
        // `i % 5` is a single digit.
        text.push(b'0' + (i % 5) as u8);
    }
    text.extend_from_slice(b"]}");
    text
}
