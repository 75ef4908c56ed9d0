//! Puts the explorer's assets (GraphiQL and React, from the npm packages pinned in
//! services/gateway/explorer/package-lock.json) into OUT_DIR for `include_bytes!`, so the
//! guard serves them itself and the page loads in an intranet with no CDN.
//!
//! `npm ci` runs in OUT_DIR, never in the source tree (builders with separate target dirs
//! do not race), and fetches from the npm registry only; the installed tree is deleted once
//! the four files and their licences are copied. It reruns only when the lock changes.

use std::path::{Path, PathBuf};
use std::process::Command;

/// (file in node_modules, name served under /explorer/).
const ASSETS: &[(&str, &str)] = &[
    ("graphiql/graphiql.min.js", "graphiql.min.js"),
    ("graphiql/graphiql.min.css", "graphiql.min.css"),
    (
        "react/umd/react.production.min.js",
        "react.production.min.js",
    ),
    (
        "react-dom/umd/react-dom.production.min.js",
        "react-dom.production.min.js",
    ),
];
/// The packages whose code is served, for the licence file.
const LICENSED: &[&str] = &["graphiql", "react", "react-dom"];

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let source = manifest.join("../../services/gateway/explorer");
    for file in ["package.json", "package-lock.json"] {
        println!("cargo:rerun-if-changed={}", source.join(file).display());
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it"));
    let npm_dir = out.join("explorer-npm");
    let assets = out.join("explorer");
    let _ = std::fs::remove_dir_all(&npm_dir);
    std::fs::create_dir_all(&npm_dir).expect("OUT_DIR is writable");
    std::fs::create_dir_all(&assets).expect("OUT_DIR is writable");
    for file in ["package.json", "package-lock.json"] {
        std::fs::copy(source.join(file), npm_dir.join(file))
            .unwrap_or_else(|e| panic!("copying services/gateway/explorer/{file}: {e}"));
    }
    npm_ci(&npm_dir);
    let modules = npm_dir.join("node_modules");
    for (from, to) in ASSETS {
        let mut bytes = std::fs::read(modules.join(from))
            .unwrap_or_else(|e| panic!("{from} is missing from the npm package: {e}"));
        strip_source_map_comment(&mut bytes);
        std::fs::write(assets.join(to), bytes).expect("OUT_DIR is writable");
    }
    let mut licences = String::from(
        "The explorer served under /explorer/ is GraphiQL and React, unmodified from npm.\n",
    );
    for package in LICENSED {
        let text = std::fs::read_to_string(modules.join(package).join("LICENSE"))
            .unwrap_or_else(|e| panic!("{package}/LICENSE is missing: {e}"));
        licences.push_str(&format!("\n== {package} ==\n\n{text}"));
    }
    std::fs::write(assets.join("LICENSES.txt"), licences).expect("OUT_DIR is writable");
    // 100+ MB of dependencies the UMD bundles already contain.
    let _ = std::fs::remove_dir_all(&npm_dir);
}

fn npm_ci(dir: &Path) {
    let status = Command::new("npm")
        .args([
            "ci",
            "--ignore-scripts",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
        ])
        .current_dir(dir)
        .status();
    match status {
        Ok(status) if status.success() => {}
        Ok(status) => panic!(
            "`npm ci` for the explorer's assets failed ({status}); it needs the npm registry (or a warm npm cache)"
        ),
        Err(e) => panic!(
            "the gateway guard bundles GraphiQL from npm at build time and needs `npm` (Node.js 18+) on PATH: {e}"
        ),
    }
}

/// The bundles end with `//# sourceMappingURL=…` naming a map that is not served.
fn strip_source_map_comment(bytes: &mut Vec<u8>) {
    let text = String::from_utf8_lossy(bytes);
    if let Some(at) = text.rfind("\n//# sourceMappingURL=") {
        bytes.truncate(at + 1);
    } else if let Some(at) = text.rfind("/*# sourceMappingURL=") {
        bytes.truncate(at);
    }
}
