//! The pure build formats of Prometeu Packer: the codecs that turn an asset's inputs
//! into its payload (`codec`), the pack file with its writer and verifying reader
//! (`pack`), the build cache's entries and index (`cache`) and the manifest for people
//! (`manifest`). Bytes in, bytes out: nothing here touches a file, a thread, a clock or
//! the environment; `packer-app` runs the build through the ports.

pub mod cache;
pub mod codec;
pub mod manifest;
pub mod pack;
