//! `include/v8rs.h` must be exactly what cbindgen generates from the sources.
//! Regenerate it with `V8RS_BLESS=1 cargo test --test header`.

use std::path::Path;

#[test]
fn header_is_fresh() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_crate(root)
        .with_config(config)
        .generate()
        .expect("cbindgen failed")
        .write(&mut generated);
    let path = root.join("include/v8rs.h");
    if std::env::var_os("V8RS_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write include/v8rs.h");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/v8rs.h is stale: run `V8RS_BLESS=1 cargo test --test header` and commit it"
    );
}
