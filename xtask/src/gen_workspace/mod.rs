//! `cargo xtask gen-workspace`: writes a large, realistic, deterministic synthetic
//! project for benchmarks and soak tests of the packer.

mod layout;
mod pool;

use std::path::PathBuf;
use std::time::Instant;

use crate::project;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// How many assets to generate.
    #[arg(long)]
    pub assets: usize,
    /// The project directory to write (it receives `assets/`).
    #[arg(long)]
    pub out: PathBuf,
    /// Seed of the generator: the same seed and count give the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write into a non-empty directory, replacing its `assets/`.
    #[arg(long)]
    pub force: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let started = Instant::now();
    project::prepare_out_dir(&args.out, args.force)?;
    let pool = pool::Pool::build(args.seed)?;
    let generated = layout::plan(args.assets, args.seed, &pool)?;
    let stats = project::write_project(&args.out, &generated, project::writer_threads())?;
    eprintln!(
        "gen-workspace: {} assets, {} files, {:.1} MiB, {:.2} s",
        generated.assets.len(),
        stats.files,
        stats.bytes as f64 / (1024.0 * 1024.0),
        started.elapsed().as_secs_f64(),
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::read_tree;
    use crate::testing::verify_project;

    fn generate(dir: &std::path::Path, assets: usize, seed: u64) {
        run(&Args {
            assets,
            out: dir.to_path_buf(),
            seed,
            force: false,
        })
        .unwrap();
    }

    #[test]
    fn generates_a_project_the_packer_can_read() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), 300, 7);
        let census = verify_project(dir.path());
        assert_eq!(census.assets, 300);
        // The mix the brief asks for, with room for chance: ~50/20/20/10 %.
        let [image, audio, data, blob] = census.kinds;
        assert!((120..=180).contains(&image), "{census:?}");
        assert!((35..=85).contains(&audio), "{census:?}");
        assert!((35..=85).contains(&data), "{census:?}");
        assert!((10..=50).contains(&blob), "{census:?}");
        assert!((10..=60).contains(&census.excluded), "{census:?}");
        assert!(census.multi_input > 10, "{census:?}");
        assert!(census.indexed8 > 0, "{census:?}");
        assert_eq!(census.png_colour_types.len(), 4, "{census:?}");
        assert_eq!(census.wav_formats.len(), 8, "{census:?}");
    }

    #[test]
    fn nests_assets_in_groups() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), 300, 3);
        let tree = read_tree(dir.path()).unwrap();
        let roots: Vec<&str> = tree
            .keys()
            .filter_map(|p| p.strip_suffix("/asset.json"))
            .collect();
        let mut parents: Vec<&str> = roots
            .iter()
            .filter_map(|r| r.rsplit_once('/').map(|(parent, _)| parent))
            .collect();
        parents.dedup();
        assert!(
            roots.iter().all(|r| r.matches('/').count() >= 3),
            "{roots:?}"
        );
        assert!(parents.len() >= 10 && parents.len() <= 60, "{parents:?}");
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        generate(a.path(), 200, 42);
        generate(b.path(), 200, 42);
        generate(c.path(), 200, 43);
        let tree_a = read_tree(a.path()).unwrap();
        assert!(tree_a == read_tree(b.path()).unwrap());
        assert!(tree_a != read_tree(c.path()).unwrap());
    }

    #[test]
    fn refuses_a_non_empty_directory_without_force() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "keep me").unwrap();
        let mut args = Args {
            assets: 5,
            out: dir.path().to_path_buf(),
            seed: 1,
            force: false,
        };
        let error = run(&args).unwrap_err().to_string();
        assert!(error.contains("--force"), "{error}");
        assert!(!dir.path().join("assets").exists());

        // With --force, a previous `assets/` is replaced, other files stay.
        args.force = true;
        args.assets = 50;
        run(&args).unwrap();
        args.assets = 5;
        run(&args).unwrap();
        assert_eq!(verify_project(dir.path()).assets, 5);
        assert!(dir.path().join("notes.txt").exists());
    }
}
