//! Compiles every `.proto` under the repository's `proto/` folder.
//!
//! protoc comes from the `protoc-bin-vendored` crate, so a build never downloads a binary
//! and never depends on what the machine happens to have installed.

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Read at run time: a build script binary reused from another checkout (a copied target
    // directory) must still compile this checkout's protos.
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let mut files = Vec::new();
    collect(&root, &mut files)?;
    files.sort();

    // An explicit PROTOC wins (e.g. Debian's protobuf-compiler); otherwise the vendored one.
    let protoc = match std::env::var_os("PROTOC") {
        Some(path) => PathBuf::from(path),
        None => protoc_bin_vendored::protoc_bin_path()?,
    };
    let descriptor = PathBuf::from(std::env::var("OUT_DIR")?).join("tongxin_descriptor.bin");
    let mut config = tonic_prost_build::Config::new();
    config.protoc_executable(protoc);
    build(config, &root, &files, &descriptor)
}

fn build(
    config: tonic_prost_build::Config,
    root: &Path,
    files: &[PathBuf],
    descriptor: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    tonic_prost_build::configure()
        .file_descriptor_set_path(descriptor)
        .compile_with_config(config, files, &[root.to_path_buf()])?;
    for file in files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    println!("cargo:rerun-if-changed={}", root.display());
    Ok(())
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
    Ok(())
}
