//! Warm open: scanning, parsing and classifying a whole workspace, against the floor of
//! only reading and parsing every `asset.json` and `index.json` with the same parser and
//! the same thread count. Also the memory a snapshot holds per asset.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use packer_domain::declaration::Declaration;
use packer_domain::ports::{ReadRequest, ScanOptions, WorkspacePort};
use packer_domain::registry::Registry;
use packer_domain::snapshot::{MAX_DECLARATION_BYTES, MAX_REGISTRY_BYTES, Snapshot, registry_path};
use packer_fs::DiskWorkspace;
use stats_alloc::{Region, StatsAlloc};

use crate::report::{Measurement, Report, median, ms};

/// The goal of the foundation: opening costs at most 20% over reading and parsing.
const OPEN_GOAL: f64 = 1.2;

pub fn run(
    report: &mut Report,
    label: &str,
    assets: &Path,
    iterations: usize,
    alloc: &'static StatsAlloc<std::alloc::System>,
) -> anyhow::Result<()> {
    let port = DiskWorkspace::open(assets)
        .with_context(|| format!("cannot open the workspace {}", assets.display()))?;
    let declarations = declaration_paths(&port)?;
    let count = declarations.len() - 1;

    // Warm the page cache and the allocator for both paths before timing.
    let warm = Snapshot::load(&port, 0);
    anyhow::ensure!(
        warm.assets().len() == count,
        "the workspace changed under the benchmark"
    );
    drop(warm);
    floor(&port, &declarations)?;

    let mut open_samples = Vec::with_capacity(iterations);
    let mut floor_samples = Vec::with_capacity(iterations);
    let mut scan_samples = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let t = Instant::now();
        let entries = port.scan(ScanOptions::default())?;
        scan_samples.push(ms(t.elapsed()));
        drop(entries);
        // Alternate so that drift in the machine's state hits both sides alike.
        let t = Instant::now();
        let snapshot = Snapshot::load(&port, i as u64);
        open_samples.push(ms(t.elapsed()));
        drop(snapshot);
        let t = Instant::now();
        floor(&port, &declarations)?;
        floor_samples.push(ms(t.elapsed()));
    }
    let (value, floor_value) = report.push_against_floor(
        format!("warm open, {label} assets (scan+parse+classify)"),
        open_samples,
        format!("  floor: read+parse every file, {label}"),
        floor_samples,
        OPEN_GOAL,
    );
    // What any open that finds every asset.json must also do: list every directory.
    let scan_value = median(&mut scan_samples.clone());
    report.push(Measurement::info(
        format!("  scan alone (list every directory), {label}"),
        scan_value,
        "ms",
        scan_samples,
    ));
    let full_floor = floor_value + scan_value;
    report.push(Measurement {
        name: format!("warm open vs scan+read+parse floor, {label}"),
        value,
        unit: "ms",
        floor: Some(full_floor),
        ratio: Some(value / full_floor),
        goal: None,
        met: None,
        samples: Vec::new(),
    });

    let region = Region::new(alloc);
    let snapshot = Snapshot::load(&port, 0);
    let change = region.change();
    // `stats_alloc` adds a realloc's growth to `bytes_allocated` (and its shrinking to
    // `bytes_deallocated`) as well as to `bytes_reallocated`: the first two alone are the
    // net. Adding `bytes_reallocated` would count every transient growth twice.
    let held = change.bytes_allocated as f64 - change.bytes_deallocated as f64;
    report.push(Measurement::info(
        format!("snapshot memory per asset, {label}"),
        held / snapshot.assets().len().max(1) as f64,
        "bytes",
        Vec::new(),
    ));
    drop(snapshot);
    Ok(())
}

/// `index.json` and the `asset.json` of every registered root, known before timing
/// starts.
fn declaration_paths(port: &DiskWorkspace) -> anyhow::Result<Vec<ReadRequest>> {
    let index = port.read(&registry_path(), MAX_REGISTRY_BYTES)?;
    let registry = Registry::parse(&index.bytes)
        .map_err(|e| anyhow::anyhow!("the benchmark workspace's registry is invalid: {e:?}"))?;
    let mut requests = vec![ReadRequest {
        path: registry_path(),
        limit: MAX_REGISTRY_BYTES,
    }];
    requests.extend(registry.assets().iter().map(|e| ReadRequest {
        path: e.root.declaration_path(),
        limit: MAX_DECLARATION_BYTES,
    }));
    Ok(requests)
}

/// The floor: read and parse `index.json` and every `asset.json` in one parallel batch
/// (the registry first, so it parses while the others are read), nothing else.
fn floor(port: &DiskWorkspace, declarations: &[ReadRequest]) -> anyhow::Result<()> {
    let failures = std::sync::atomic::AtomicUsize::new(0);
    port.read_many(declarations, &|index, result| {
        let ok = result
            .ok()
            .map(|read| {
                if index == 0 {
                    Registry::parse(&read.bytes).is_ok()
                } else {
                    Declaration::parse(&read.bytes).is_ok()
                }
            })
            .unwrap_or(false);
        if !ok {
            failures.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let failed = failures.into_inner();
    anyhow::ensure!(failed == 0, "{failed} declarations did not read or parse");
    Ok(())
}
