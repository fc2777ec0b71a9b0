//! The layers of `src/` point one way: the engine never reaches into the ABI, and each
//! engine module uses only the modules declared before it in `src/engine/mod.rs` (the
//! bottom layer first). The engine exports nothing to C and has no C types.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The engine's modules, in declaration (layer) order.
fn engine_order() -> Vec<String> {
    let text = fs::read_to_string(root().join("engine/mod.rs")).unwrap();
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            let rest = line
                .strip_prefix("pub mod ")
                .or_else(|| line.strip_prefix("pub(crate) mod "))
                .or_else(|| line.strip_prefix("mod "))?;
            Some(rest.trim_end_matches(';').to_string())
        })
        .collect()
}

/// Every `.rs` file under `dir`, with the engine module it belongs to.
fn files(dir: &Path, module: Option<&str>, out: &mut Vec<(String, PathBuf)>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().to_string();
        let owner = module.map(str::to_string).unwrap_or(name.clone());
        if path.is_dir() {
            files(&path, Some(&owner), out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((owner, path));
        }
    }
}

/// The code of `text` without its `#[cfg(test)]` module and comments.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => text,
    };
    text.lines()
        .filter(|line| {
            let line = line.trim_start();
            !line.starts_with("//")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The engine modules that `code` names through `crate::engine::<module>`.
fn uses(code: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("crate::engine::") {
        rest = &rest[at + "crate::engine::".len()..];
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        found.push(name);
    }
    found
}

#[test]
fn engine_modules_only_use_the_layers_below_them() {
    let order = engine_order();
    assert!(order.len() > 10, "cannot read src/engine/mod.rs");
    let rank: HashMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    // Re-exports at the top of the engine (`pub use context::Context;`) are not uses.
    let re_exports = ["mod.rs"];
    let mut all = Vec::new();
    files(&root().join("engine"), None, &mut all);
    let mut upward = Vec::new();
    for (module, path) in &all {
        if re_exports.contains(&path.file_name().unwrap().to_str().unwrap())
            && path.parent() == Some(&root().join("engine"))
        {
            continue;
        }
        let text = code(&fs::read_to_string(path).unwrap());
        assert!(
            !text.contains("crate::abi"),
            "{} reaches into the ABI",
            path.display()
        );
        let own = *rank
            .get(module.as_str())
            .unwrap_or_else(|| panic!("{module} is not declared in src/engine/mod.rs"));
        for used in uses(&text) {
            let Some(&theirs) = rank.get(used.as_str()) else {
                continue; // a re-exported item (`crate::engine::Code`), checked at its module
            };
            if theirs > own || (theirs == own && used != *module) {
                upward.push(format!("{} uses {used}", path.display()));
            }
        }
        // Children of a folder module use the engine's modules, not their parent's items.
        if path.file_name().unwrap() != "mod.rs" && path.parent() != Some(&root().join("engine")) {
            assert!(
                !text.lines().any(|l| l.starts_with("use super::")),
                "{} uses its parent module",
                path.display()
            );
        }
    }
    assert!(upward.is_empty(), "upward uses:\n{}", upward.join("\n"));
}

#[test]
fn the_engine_has_no_c_types_and_exports_nothing() {
    let mut all = Vec::new();
    files(&root().join("engine"), None, &mut all);
    for (_, path) in &all {
        let text = code(&fs::read_to_string(path).unwrap());
        for banned in [
            "#[no_mangle]",
            "#[repr(C)]",
            "pub extern \"C\"",
            "pub unsafe extern \"C\"",
        ] {
            assert!(!text.contains(banned), "{} has {banned}", path.display());
        }
        // No raw pointers in public signatures.
        for line in text.lines() {
            let line = line.trim_start();
            if line.starts_with("pub fn") || line.starts_with("pub unsafe fn") {
                assert!(
                    !line.contains("*const") && !line.contains("*mut"),
                    "{}: a raw pointer in `{line}`",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn every_export_is_in_the_abi_layer_behind_the_boundary() {
    let mut all = Vec::new();
    files(&root().join("abi"), None, &mut all);
    let mut exports = 0;
    for (_, path) in &all {
        let text = code(&fs::read_to_string(path).unwrap());
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next() {
            if line.trim() != "#[no_mangle]" {
                continue;
            }
            exports += 1;
            // The body of every export goes through `guarded` or `shielded` — directly,
            // through a helper of error.rs that does, or through another export.
            let mut body = String::new();
            for next in lines.by_ref() {
                body.push_str(next);
                body.push('\n');
                if next.starts_with('}') {
                    break;
                }
            }
            assert!(
                [
                    "guarded(",
                    "shielded(",
                    "text_view(",
                    "js_number(",
                    "unsafe { v8rs_"
                ]
                .iter()
                .any(|boundary| body.contains(boundary)),
                "{}: an export without the panic boundary:\n{body}",
                path.display()
            );
        }
    }
    assert!(exports > 40, "found only {exports} exports");
}
