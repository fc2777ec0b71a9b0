//! Gives the library a fingerprint of its own sources (`V8RS_SOURCE_HASH`), part of the
//! key of the built-in snapshot's cache file (src/engine/startup.rs): a blob holds
//! what this code put in it, so a build with other code must not reuse one.

use std::hash::{DefaultHasher, Hasher};
use std::path::Path;

fn visit(dir: &Path, files: &mut Vec<std::path::PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            visit(&path, files);
        } else {
            files.push(path);
        }
    }
}

fn main() {
    println!("cargo:rerun-if-changed=src");
    let mut files = Vec::new();
    visit(Path::new("src"), &mut files);
    files.sort();
    let mut hash = DefaultHasher::new();
    for file in files {
        hash.write(file.to_string_lossy().as_bytes());
        if let Ok(bytes) = std::fs::read(&file) {
            hash.write_usize(bytes.len());
            hash.write(&bytes);
        }
    }
    println!("cargo:rustc-env=V8RS_SOURCE_HASH={:016x}", hash.finish());
}
