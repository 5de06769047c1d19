//! `cargo xtask gen-demo`: writes the small demo project committed under
//! `examples/demo-project`, or checks that a directory holds exactly it.

mod art;
mod files;
mod sound;

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use packer_domain::declaration::{
    AssetKind, Declaration, OutputOptions, PixelFormat, SampleFormat,
};
use packer_domain::path::AssetPath;

use crate::media;
use crate::project::{self, GeneratedAsset, GeneratedProject};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The project directory to write (it receives `assets/`).
    #[arg(long)]
    pub out: PathBuf,
    /// Write into a non-empty directory, replacing its `assets/`.
    #[arg(long)]
    pub force: bool,
    /// Write nothing; fail unless the directory holds exactly the demo project.
    #[arg(long, conflicts_with = "force")]
    pub check: bool,
}

pub fn run(args: &Args) -> anyhow::Result<()> {
    let demo = demo_project()?;
    if args.check {
        let differences = project::compare_with_dir(&args.out, &demo.files()?)?;
        if !differences.is_empty() {
            bail!(
                "{} differs from the demo project (regenerate it with `cargo xtask gen-demo --out {} --force`):\n  {}",
                args.out.display(),
                args.out.display(),
                differences.join("\n  ")
            );
        }
        eprintln!("gen-demo: {} holds the demo project", args.out.display());
        return Ok(());
    }
    project::prepare_out_dir(&args.out, args.force)?;
    let stats = project::write_project(&args.out, &demo, 1)?;
    eprintln!(
        "gen-demo: {} assets, {} files, {} bytes",
        demo.assets.len(),
        stats.files,
        stats.bytes
    );
    Ok(())
}

/// One asset of the demo, as written in the table below.
struct DemoAsset {
    root: &'static str,
    /// Fixed, so the committed project and every regeneration agree.
    uuid: &'static str,
    name: &'static str,
    kind: AssetKind,
    output: OutputOptions,
    included_in_build: bool,
    inputs: Vec<(&'static str, Vec<u8>)>,
}

/// The demo project: a dozen assets of every kind, ids 1..=N in table order.
pub fn demo_project() -> anyhow::Result<GeneratedProject> {
    let png = |image: &media::Image| media::encode_png(image);
    let wav = |sound: &media::Sound| media::encode_wav(sound);
    let rgba8 = OutputOptions::Image {
        format: PixelFormat::Rgba8,
    };
    let pcm16 = OutputOptions::Audio {
        format: SampleFormat::Pcm16,
    };
    let [slime_0, slime_1] = art::slime_frames()?;
    let table = vec![
        DemoAsset {
            root: "sprites/hero",
            uuid: "20db63a0-2e7e-4517-af1c-a5a45b309e62",
            name: "hero",
            kind: AssetKind::Image,
            output: rgba8,
            included_in_build: true,
            inputs: vec![("hero.png", png(&art::hero()?)?)],
        },
        DemoAsset {
            root: "sprites/slime",
            uuid: "c14fb390-31c3-4ce5-8341-4176008b1457",
            name: "slime",
            kind: AssetKind::Image,
            output: rgba8,
            included_in_build: true,
            inputs: vec![
                ("slime_0.png", png(&slime_0)?),
                ("slime_1.png", png(&slime_1)?),
            ],
        },
        DemoAsset {
            root: "tiles/forest",
            uuid: "9fba2124-7223-473c-a039-2893f174f9f7",
            name: "forest tiles",
            kind: AssetKind::Image,
            output: OutputOptions::Image {
                format: PixelFormat::Indexed8,
            },
            included_in_build: true,
            inputs: vec![("forest.png", png(&art::forest_tiles()?)?)],
        },
        DemoAsset {
            root: "ui/icons/coin",
            uuid: "936281b2-3ffe-4b10-8653-bb07c0d50d8b",
            name: "coin icon",
            kind: AssetKind::Image,
            output: rgba8,
            included_in_build: true,
            inputs: vec![("coin.png", png(&art::coin()?)?)],
        },
        DemoAsset {
            root: "ui/fonts/digits",
            uuid: "8d63918c-abe1-4f0c-aba0-5967ed5c3da3",
            name: "digits",
            kind: AssetKind::Image,
            output: rgba8,
            included_in_build: true,
            inputs: vec![("digits.png", png(&art::digits()?)?)],
        },
        DemoAsset {
            root: "audio/sfx/jump",
            uuid: "e7e95708-38b7-4fb8-8755-2b413956d997",
            name: "jump",
            kind: AssetKind::Audio,
            output: pcm16,
            included_in_build: true,
            inputs: vec![("jump.wav", wav(&sound::jump())?)],
        },
        DemoAsset {
            root: "audio/sfx/coin",
            uuid: "560b3bb0-c135-428c-a875-b6d22a07db5d",
            name: "coin",
            kind: AssetKind::Audio,
            output: pcm16,
            included_in_build: true,
            inputs: vec![("coin.wav", wav(&sound::coin())?)],
        },
        DemoAsset {
            root: "audio/music/theme",
            uuid: "986485d9-d708-4e0b-8666-8e312543a3dd",
            name: "title theme",
            kind: AssetKind::Audio,
            output: pcm16,
            included_in_build: true,
            inputs: vec![("theme.wav", wav(&sound::theme())?)],
        },
        DemoAsset {
            root: "data/levels/level1",
            uuid: "fca4fd8a-12d6-453f-8422-4eeac62f88e2",
            name: "level 1",
            kind: AssetKind::Data,
            output: OutputOptions::Data,
            included_in_build: true,
            inputs: vec![("level1.json", files::level1().into_bytes())],
        },
        DemoAsset {
            root: "data/items",
            uuid: "a5a9e513-92da-4a03-9447-587e3d0f4f4b",
            name: "items",
            kind: AssetKind::Data,
            output: OutputOptions::Data,
            included_in_build: true,
            inputs: vec![("items.json", files::items().into_bytes())],
        },
        DemoAsset {
            root: "blobs/credits",
            uuid: "1fb11cdd-030f-4e0b-a3e3-a5c16d1a171c",
            name: "credits",
            kind: AssetKind::Blob,
            output: OutputOptions::Blob,
            included_in_build: true,
            inputs: vec![("credits.txt", files::CREDITS.as_bytes().to_vec())],
        },
        DemoAsset {
            root: "blobs/shader",
            uuid: "17b786ab-dc16-4e96-a653-42cfdd6b3c15",
            name: "palette shader",
            kind: AssetKind::Blob,
            output: OutputOptions::Blob,
            included_in_build: true,
            inputs: vec![("palette.shd", files::shader())],
        },
        DemoAsset {
            root: "sprites/unused_boss",
            uuid: "a0946a70-687e-4704-9e01-f2c9b1541c6b",
            name: "unused boss",
            kind: AssetKind::Image,
            output: rgba8,
            included_in_build: false,
            inputs: vec![("boss.png", png(&art::boss())?)],
        },
    ];
    let assets = table
        .into_iter()
        .zip(1u64..)
        .map(|(asset, asset_id)| build_asset(asset, asset_id))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(GeneratedProject {
        next_asset_id: assets.len() as u64 + 1,
        assets,
    })
}

fn build_asset(asset: DemoAsset, asset_id: u64) -> anyhow::Result<GeneratedAsset> {
    let context = || format!("demo asset `{}`", asset.root);
    let (names, contents): (Vec<_>, Vec<_>) = asset.inputs.into_iter().unzip();
    Ok(GeneratedAsset {
        asset_id,
        root: AssetPath::new(asset.root).with_context(context)?,
        included_in_build: asset.included_in_build,
        declaration: Declaration {
            asset_uuid: asset.uuid.parse().with_context(context)?,
            name: asset.name.to_owned(),
            kind: asset.kind,
            inputs: names
                .into_iter()
                .map(AssetPath::new)
                .collect::<Result<_, _>>()
                .with_context(context)?,
            output: asset.output,
        },
        contents: contents.into_iter().map(Arc::from).collect(),
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::project::read_tree;
    use crate::testing::verify_project;

    fn committed_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/demo-project")
    }

    #[test]
    fn matches_the_committed_demo_project() {
        let dir = tempfile::tempdir().unwrap();
        run(&Args {
            out: dir.path().to_path_buf(),
            force: false,
            check: false,
        })
        .unwrap();
        let generated = read_tree(dir.path()).unwrap();
        let committed = read_tree(&committed_dir()).unwrap();
        let names =
            |t: &std::collections::BTreeMap<String, Vec<u8>>| t.keys().cloned().collect::<Vec<_>>();
        assert_eq!(names(&generated), names(&committed));
        for (path, bytes) in &generated {
            assert!(
                committed[path] == *bytes,
                "{path} differs; regenerate with `cargo xtask gen-demo --out examples/demo-project --force`"
            );
        }
        run(&Args {
            out: committed_dir(),
            force: false,
            check: true,
        })
        .unwrap();
    }

    #[test]
    fn the_demo_project_is_valid_and_covers_every_kind() {
        let census = verify_project(&committed_dir());
        assert_eq!(census.assets, 13);
        assert_eq!(census.kinds, [6, 3, 2, 2]);
        assert_eq!(census.excluded, 1);
        assert_eq!(census.indexed8, 1);
        assert_eq!(census.png_colour_types.len(), 4);
    }

    #[test]
    fn check_reports_a_changed_file() {
        let dir = tempfile::tempdir().unwrap();
        let args = Args {
            out: dir.path().to_path_buf(),
            force: false,
            check: false,
        };
        run(&args).unwrap();
        std::fs::write(
            dir.path().join("assets/blobs/credits/credits.txt"),
            "edited",
        )
        .unwrap();
        std::fs::write(dir.path().join("assets/stray.txt"), "").unwrap();
        let error = run(&Args {
            check: true,
            ..args
        })
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("differs: assets/blobs/credits/credits.txt"),
            "{error}"
        );
        assert!(error.contains("unexpected: assets/stray.txt"), "{error}");
    }
}
