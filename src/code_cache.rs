//! V8's code cache for `load_libs`: the compiled code of a script, kept after its first
//! run — in memory for the process and, when asked, in a directory — and handed back to
//! V8 the next time the same script is loaded, so it skips most of the compile.
//!
//! Entries are keyed by a hash of the V8 version, the V8 flags, the script's name and
//! its source. V8 checks an entry before using it; a rejected one (damaged, or stale)
//! falls back to a normal compile and is replaced.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

static MEMORY: Mutex<Option<HashMap<u64, Arc<Vec<u8>>>>> = Mutex::new(None);
static HITS: AtomicU64 = AtomicU64::new(0);
static MISSES: AtomicU64 = AtomicU64::new(0);
static REJECTED: AtomicU64 = AtomicU64::new(0);

/// How the code cache has fared in this process: `(hits, misses, rejected)`.
pub fn stats() -> (u64, u64, u64) {
    (
        HITS.load(Ordering::Relaxed),
        MISSES.load(Ordering::Relaxed),
        REJECTED.load(Ordering::Relaxed),
    )
}

/// The key of `source` named `name` under this V8 and its flags.
pub(crate) fn key(name: &str, source: &str) -> u64 {
    let flags = crate::platform::flags();
    let parts: [&[u8]; 4] = [
        crate::platform::v8_version().as_bytes(),
        flags.as_bytes(),
        name.as_bytes(),
        source.as_bytes(),
    ];
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for &b in part.iter().chain(&[0xff]) {
            hash = (hash ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }
    hash
}

fn file(dir: &Path, key: u64) -> PathBuf {
    dir.join(format!("{key:016x}.v8cache"))
}

/// The cached code for `key`, from memory or from `dir`.
pub(crate) fn lookup(key: u64, dir: Option<&Path>) -> Option<Arc<Vec<u8>>> {
    if let Some(found) = MEMORY.lock().as_ref().and_then(|m| m.get(&key)) {
        return Some(Arc::clone(found));
    }
    let data = Arc::new(std::fs::read(file(dir?, key)).ok()?);
    MEMORY
        .lock()
        .get_or_insert_with(HashMap::new)
        .insert(key, Arc::clone(&data));
    Some(data)
}

/// Keeps `data` for `key` in memory and, best effort, in `dir`.
pub(crate) fn store(key: u64, data: Vec<u8>, dir: Option<&Path>) {
    if let Some(dir) = dir {
        let path = file(dir, key);
        let temp = path.with_extension(format!("tmp{}", std::process::id()));
        if std::fs::create_dir_all(dir).is_ok() && std::fs::write(&temp, &data).is_ok() {
            let _ = std::fs::rename(&temp, &path);
        }
    }
    MEMORY
        .lock()
        .get_or_insert_with(HashMap::new)
        .insert(key, Arc::new(data));
}

/// Drops `key` (its entry was rejected by V8).
pub(crate) fn forget(key: u64, dir: Option<&Path>) {
    if let Some(memory) = MEMORY.lock().as_mut() {
        memory.remove(&key);
    }
    if let Some(dir) = dir {
        let _ = std::fs::remove_file(file(dir, key));
    }
}

pub(crate) fn hit() {
    HITS.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn miss() {
    MISSES.fetch_add(1, Ordering::Relaxed);
}

pub(crate) fn rejected() {
    REJECTED.fetch_add(1, Ordering::Relaxed);
}
