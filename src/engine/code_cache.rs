//! V8's code cache for `load_libs`: the compiled code of a script, kept after its first
//! run — in memory for the process and, when asked, in a directory — and handed back to
//! V8 the next time the same script is loaded, so it skips most of the compile.
//!
//! Entries are keyed by the SHA-256 of the V8 version, the V8 flags, the script's name
//! and its source (a weaker hash would let a crafted library collide with another and
//! run its code: V8 checks only the source's length and the flags). A file holds its
//! entry behind a header of ours (a magic string, the entry's length and a checksum):
//! V8 checks an entry's own header but not the compiled code after it, and a damaged
//! byte there can crash the process; a file whose header or checksum does not match is
//! rejected and removed before V8 sees it. V8 checks an entry before using it; a
//! rejected one (damaged, or stale) falls back to a normal compile and is replaced.
//! The in-memory cache holds at most
//! [`MEMORY_LIMIT`] bytes, dropping the least recently used entries first; files are
//! written to a name of their own per writer and renamed into place, so processes and
//! threads sharing a directory never read a half-written entry.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;

/// Bytes of compiled code the in-memory cache keeps at most.
pub const MEMORY_LIMIT: usize = 64 << 20;

static MEMORY: Mutex<Lru> = Mutex::new(Lru::new(MEMORY_LIMIT));
static HITS: AtomicU64 = AtomicU64::new(0);
static MISSES: AtomicU64 = AtomicU64::new(0);
static REJECTED: AtomicU64 = AtomicU64::new(0);

/// An entry's code, and when it was last used.
type Entry = (Arc<Vec<u8>>, u64);

/// What an entry is found by: a SHA-256 digest (see the module documentation).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub(crate) struct Key([u8; 32]);

/// Entries by key, and the order they were last used in.
struct Lru {
    limit: usize,
    bytes: usize,
    clock: u64,
    entries: Option<HashMap<Key, Entry>>,
    by_use: BTreeMap<u64, Key>,
}

impl Lru {
    const fn new(limit: usize) -> Lru {
        Lru {
            limit,
            bytes: 0,
            clock: 0,
            entries: None,
            by_use: BTreeMap::new(),
        }
    }

    fn get(&mut self, key: Key) -> Option<Arc<Vec<u8>>> {
        self.clock += 1;
        let clock = self.clock;
        let (data, used) = self.entries.as_mut()?.get_mut(&key)?;
        self.by_use.remove(used);
        *used = clock;
        self.by_use.insert(clock, key);
        Some(Arc::clone(data))
    }

    fn insert(&mut self, key: Key, data: Arc<Vec<u8>>) {
        self.remove(key);
        if data.len() > self.limit {
            return;
        }
        self.clock += 1;
        self.bytes += data.len();
        self.by_use.insert(self.clock, key);
        let clock = self.clock;
        self.entries
            .get_or_insert_with(HashMap::new)
            .insert(key, (data, clock));
        while self.bytes > self.limit {
            let Some((_, oldest)) = self.by_use.pop_first() else {
                break;
            };
            self.remove(oldest);
        }
    }

    fn remove(&mut self, key: Key) {
        if let Some((data, used)) = self.entries.as_mut().and_then(|e| e.remove(&key)) {
            self.bytes -= data.len();
            self.by_use.remove(&used);
        }
    }
}

/// How the code cache has fared in this process: `(hits, misses, rejected)`.
pub fn stats() -> (u64, u64, u64) {
    (
        HITS.load(Ordering::Relaxed),
        MISSES.load(Ordering::Relaxed),
        REJECTED.load(Ordering::Relaxed),
    )
}

/// The key of `source` named `name` under this V8, its flags and the startup snapshot
/// `startup` (see `SnapshotContexts::startup_id`).
pub(crate) fn key(name: &str, source: &str, startup: u64) -> Key {
    use sha2::Digest;
    let flags = crate::engine::platform::flags();
    let startup = startup.to_le_bytes();
    let parts: [&[u8]; 5] = [
        crate::engine::platform::v8_version().as_bytes(),
        flags.as_bytes(),
        &startup,
        name.as_bytes(),
        source.as_bytes(),
    ];
    let mut hash = sha2::Sha256::new();
    for part in parts {
        // Each part after its length, so that no two lists of parts hash alike.
        hash.update((part.len() as u64).to_le_bytes());
        hash.update(part);
    }
    Key(hash.finalize().into())
}

fn file(dir: &Path, key: Key) -> PathBuf {
    let hex: String = key.0.iter().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("{hex}.v8cache"))
}

/// What a cache file starts with (then the entry's length and checksum, 8 bytes each).
const FILE_MAGIC: &[u8; 12] = b"v8rs-cache1\n";

/// The length of a cache file's header.
const FILE_HEADER: usize = FILE_MAGIC.len() + 16;

/// `data` as a cache file holds it: behind [`FILE_MAGIC`], its length and checksum.
fn framed(data: &[u8]) -> Vec<u8> {
    let sum = crate::engine::snapshot_file::checksum(&[], data);
    let mut out = Vec::with_capacity(FILE_HEADER + data.len());
    out.extend_from_slice(FILE_MAGIC);
    out.extend_from_slice(&(data.len() as u64).to_le_bytes());
    out.extend_from_slice(&sum.to_le_bytes());
    out.extend_from_slice(data);
    out
}

/// The entry a cache file holds, or `None` when its header, length or checksum does not
/// match (damaged, cut short, grown, or from an older v8rs).
fn unframed(mut file: Vec<u8>) -> Option<Vec<u8>> {
    let header = file.get(..FILE_HEADER)?;
    let (magic, rest) = header.split_at(FILE_MAGIC.len());
    let len = u64::from_le_bytes(rest[..8].try_into().expect("8 bytes"));
    let sum = u64::from_le_bytes(rest[8..].try_into().expect("8 bytes"));
    let data = &file[FILE_HEADER..];
    let intact = magic == FILE_MAGIC
        && len == data.len() as u64
        && sum == crate::engine::snapshot_file::checksum(&[], data);
    intact.then(|| file.split_off(FILE_HEADER))
}

/// Marks `path` used now (the directory keeps the most recently used, see `prune`);
/// `false` when there is no such file.
fn touch(path: &Path) -> bool {
    match std::fs::File::options().append(true).open(path) {
        Ok(f) => {
            let _ = f.set_modified(std::time::SystemTime::now());
            true
        }
        Err(e) => e.kind() != std::io::ErrorKind::NotFound,
    }
}

/// What [`lookup`] found.
pub(crate) enum Found {
    /// The entry's code, for V8 to check and use.
    Code(Arc<Vec<u8>>),
    /// No entry.
    Nothing,
    /// A file whose header or checksum does not match: removed.
    Damaged,
}

/// The cached code for `key`, from memory or from `dir`. An entry found in memory is
/// also written to `dir` when that has none (so the next process finds it), and a file
/// that does not check out is removed.
pub(crate) fn lookup(key: Key, dir: Option<&Path>) -> Found {
    if let Some(found) = MEMORY.lock().get(key) {
        if let Some(dir) = dir {
            let path = file(dir, key);
            if !touch(&path) {
                write(dir, &path, &found);
            }
        }
        return Found::Code(found);
    }
    let Some(dir) = dir else {
        return Found::Nothing;
    };
    let path = file(dir, key);
    let Ok(read) = std::fs::read(&path) else {
        return Found::Nothing;
    };
    let Some(data) = unframed(read) else {
        let _ = std::fs::remove_file(&path);
        return Found::Damaged;
    };
    let data = Arc::new(data);
    touch(&path);
    MEMORY.lock().insert(key, Arc::clone(&data));
    Found::Code(data)
}

/// Keeps `data` for `key` in memory and, best effort, in `dir` (which then keeps at most
/// [`DISK_LIMIT`] bytes of entries).
pub(crate) fn store(key: Key, data: Vec<u8>, dir: Option<&Path>) {
    if let Some(dir) = dir {
        write(dir, &file(dir, key), &data);
    }
    MEMORY.lock().insert(key, Arc::new(data));
}

/// Writes the entry `data` to `path` in `dir`, then prunes `dir`.
fn write(dir: &Path, path: &Path, data: &[u8]) {
    // A write cut short (a full disk) leaves no temporary file behind.
    crate::engine::snapshot_file::write_atomically(path, &framed(data));
    prune(dir, path, DISK_LIMIT);
}

/// Bytes of entries a cache directory keeps at most: past that, the least recently used
/// go when an entry is stored.
pub const DISK_LIMIT: u64 = 256 << 20;

/// Removes the least recently used entries of `dir` (never `kept`) until at most `limit`
/// bytes of them are left.
fn prune(dir: &Path, kept: &Path, limit: u64) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
        .flatten()
        .filter(|entry| entry.file_name().to_string_lossy().ends_with(".v8cache"))
        .filter_map(|entry| {
            let meta = entry.metadata().ok()?;
            Some((meta.modified().ok()?, meta.len(), entry.path()))
        })
        .collect();
    let mut total: u64 = files.iter().map(|f| f.1).sum();
    if total <= limit {
        return;
    }
    files.sort_by_key(|f| f.0); // the least recently used first
    for (_, len, path) in files {
        if total <= limit {
            break;
        }
        if path != kept && std::fs::remove_file(&path).is_ok() {
            total -= len;
        }
    }
}

/// Drops `key` (its entry was rejected by V8).
pub(crate) fn forget(key: Key, dir: Option<&Path>) {
    MEMORY.lock().remove(key);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "writes files")]
    fn writers_sharing_a_directory_never_leave_a_half_written_entry() {
        let dir = std::env::temp_dir().join(format!("v8rs-code-cache-{}", std::process::id()));
        let key = Key([0x12; 32]);
        std::thread::scope(|scope| {
            for fill in [1u8, 2] {
                let dir = &dir;
                scope.spawn(move || {
                    for _ in 0..50 {
                        store(key, vec![fill; 100_000], Some(dir));
                    }
                });
            }
        });
        let data = unframed(std::fs::read(file(&dir, key)).unwrap()).unwrap();
        assert!(data == vec![1; 100_000] || data == vec![2; 100_000]);
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 1, "temporary files were left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    #[cfg_attr(miri, ignore = "writes files")]
    fn a_directory_keeps_the_most_recently_used_entries_within_its_bytes() {
        let dir =
            std::env::temp_dir().join(format!("v8rs-code-cache-prune-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let at = |secs: u64| std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
        let entry = |n: u8, used: u64| {
            let path = file(&dir, Key([n; 32]));
            std::fs::write(&path, vec![n; 40]).unwrap();
            std::fs::File::options()
                .append(true)
                .open(&path)
                .unwrap()
                .set_modified(at(used))
                .unwrap();
            path
        };
        let (old, newer, newest) = (entry(1, 1000), entry(2, 2000), entry(3, 3000));
        std::fs::write(dir.join("other.txt"), vec![0; 500]).unwrap(); // not an entry: stays
        prune(&dir, &old, 100); // 120 bytes: the least recently used goes, but not `kept`
        assert!(old.exists() && !newer.exists() && newest.exists());
        prune(&dir, &newest, 100); // 80 bytes: nothing to do
        assert!(old.exists() && newest.exists() && dir.join("other.txt").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_file_whose_entry_changed_in_any_byte_is_not_read() {
        let data: Vec<u8> = (0..=255).cycle().take(1000).collect();
        let good = framed(&data);
        assert_eq!(unframed(good.clone()).as_deref(), Some(&data[..]));
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x10;
            assert_eq!(unframed(bad), None, "a change at byte {at} went unseen");
        }
        for cut in [0, 5, FILE_HEADER - 1, FILE_HEADER, good.len() - 1] {
            assert_eq!(unframed(good[..cut].to_vec()), None, "cut at {cut}");
        }
        let mut grown = good.clone();
        grown.extend_from_slice(&[0; 64]);
        assert_eq!(unframed(grown), None);
        assert_eq!(
            unframed(data.clone()),
            None,
            "an unframed entry (an older v8rs)"
        );
    }

    #[test]
    fn the_memory_cache_keeps_the_recently_used_within_its_bytes() {
        let mut lru = Lru::new(100);
        let data = |n: usize| Arc::new(vec![0u8; n]);
        let k = |n: u8| Key([n; 32]);
        lru.insert(k(1), data(40));
        lru.insert(k(2), data(40));
        assert!(lru.get(k(1)).is_some()); // 1 is now more recent than 2
        lru.insert(k(3), data(40)); // 120 > 100: the least recently used (2) goes
        assert!(lru.get(k(2)).is_none());
        assert!(lru.get(k(1)).is_some() && lru.get(k(3)).is_some());
        assert_eq!(lru.bytes, 80);
        lru.insert(k(4), data(101)); // larger than the whole cache: not kept
        assert!(lru.get(k(4)).is_none());
        lru.insert(k(1), data(10)); // replacing an entry frees its bytes
        assert_eq!(lru.bytes, 50);
        lru.remove(k(3));
        lru.remove(k(3));
        assert_eq!(lru.bytes, 10);
    }
}
