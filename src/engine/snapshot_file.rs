//! The file format of v8rs snapshots: V8's startup blob behind a header of ours — a
//! magic string, the V8 version and the V8 flags of the platform that made it, the web
//! APIs its default context holds, the heap it fills, and a checksum of all that — because
//! V8 aborts the process on a blob it cannot use. Here such a blob is an `InvalidArgument` error instead: garbage,
//! truncated or corrupted data, a blob from another V8 version, or one made under other
//! V8 flags.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::engine::error::Error;
use crate::engine::platform;

/// Revision 5: the default context holds the memory guard's stand-ins (`wasm.rs`), whose
/// natives older builds do not have. Revision 4: the header says the heap the snapshot fills, and the checksum covers the
/// header's fields too. Revision 3: functions refer to v8rs's natives (the default
/// context has the web APIs); revision 2 blobs had no natives, revision 1 blobs could not
/// live beside other VMs. Older revisions are refused.
const MAGIC: &[u8; 14] = b"v8rs-snapshot5";

/// Held for writing while a snapshot is made, for reading while a VM is created: one
/// creator at a time, and no isolate appears while it works.
pub(crate) static CREATING: parking_lot::RwLock<()> = parking_lot::RwLock::new(());

/// FNV-1a over the header's `fields`, then `data` in 64-bit words (then its tail bytes):
/// enough to tell a damaged snapshot (or code-cache file) from a good one, at memory
/// speed.
pub(crate) fn checksum(fields: &[u64], data: &[u8]) -> u64 {
    const PRIME: u64 = 0x100_0000_01b3;
    let mix = |h: u64, word: u64| (h ^ word).wrapping_mul(PRIME).rotate_left(29);
    let start = fields
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &f| mix(h, f));
    let mut chunks = data.chunks_exact(8);
    let mut hash = (&mut chunks).fold(start, |h, word| {
        let word = u64::from_le_bytes(word.try_into().expect("8 bytes"));
        (h ^ word).wrapping_mul(PRIME).rotate_left(29)
    });
    for &b in chunks.remainder() {
        hash = (hash ^ u64::from(b)).wrapping_mul(PRIME);
    }
    hash ^ data.len() as u64
}

fn identity() -> Vec<u8> {
    let mut id = platform::v8_version().as_bytes().to_vec();
    id.push(b'\n');
    id.extend_from_slice(platform::flags().as_bytes());
    id
}

/// `blob` (V8's startup data, whose default context holds the web APIs of the mask
/// `web`, and which filled `heap` bytes of heap when it was made) behind the header.
pub(crate) fn wrap(blob: &[u8], web: u32, heap: usize) -> Vec<u8> {
    let id = identity();
    let heap = heap as u64;
    let mut out = Vec::with_capacity(MAGIC.len() + 24 + id.len() + blob.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(id.len() as u32).to_le_bytes());
    out.extend_from_slice(&id);
    out.extend_from_slice(&web.to_le_bytes());
    out.extend_from_slice(&heap.to_le_bytes());
    out.extend_from_slice(&checksum(&[u64::from(web), heap], blob).to_le_bytes());
    out.extend_from_slice(blob);
    out
}

/// A snapshot whose header checked out, ready to start VMs from: open it once, start
/// any number of VMs from it (each keeps it alive while it needs it).
#[derive(Debug)]
pub struct Snapshot {
    /// V8's startup blob.
    pub(crate) blob: Box<[u8]>,
    /// The web APIs (a `WebFeatures` mask) its default context holds.
    pub(crate) web: u32,
    /// The bytes of heap in use when it was made (after a full collection): about what
    /// its startup part and default context fill in a VM made from it.
    pub(crate) heap: usize,
    /// Its checksum: tells it from other snapshots (code caches are kept apart per
    /// startup snapshot, since V8 refuses code made under another one).
    pub(crate) id: u64,
}

impl Snapshot {
    /// Checks the header of a snapshot file's bytes (see the module documentation).
    pub fn open(snapshot: &[u8]) -> Result<Snapshot, Error> {
        open(snapshot)
    }

    /// The size of V8's startup blob in bytes.
    pub fn blob_len(&self) -> usize {
        self.blob.len()
    }
}

/// The V8 startup blob inside `snapshot`, once its header checks out.
pub(crate) fn open(snapshot: &[u8]) -> Result<Snapshot, Error> {
    let bad = |why: &str| Error::invalid_argument(format!("not a usable v8rs snapshot: {why}"));
    let truncated = || bad("it is truncated");
    let Some(rest) = snapshot.strip_prefix(MAGIC.as_slice()) else {
        if snapshot.starts_with(b"v8rs-snapshot") {
            return Err(bad(
                "it was made by an older v8rs (make it again with this version)",
            ));
        }
        return Err(bad("it does not start like one"));
    };
    let (len, rest) = rest.split_at_checked(4).ok_or_else(truncated)?;
    let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
    let (id, rest) = rest.split_at_checked(len).ok_or_else(truncated)?;
    let (web, rest) = rest.split_at_checked(4).ok_or_else(truncated)?;
    let (heap, rest) = rest.split_at_checked(8).ok_or_else(truncated)?;
    let (sum, blob) = rest.split_at_checked(8).ok_or_else(truncated)?;
    let web = u32::from_le_bytes(web.try_into().expect("4 bytes"));
    let heap = u64::from_le_bytes(heap.try_into().expect("8 bytes"));
    let expected = identity();
    if id != expected.as_slice() {
        return Err(bad(&format!(
            "it was made by V8 {:?}, and this is V8 {:?} (the version and the V8 flags must match)",
            String::from_utf8_lossy(id),
            String::from_utf8_lossy(&expected)
        )));
    }
    let sum = u64::from_le_bytes(sum.try_into().expect("8 bytes"));
    if sum != checksum(&[u64::from(web), heap], blob) || blob.is_empty() {
        return Err(bad("its checksum does not match (truncated or corrupted)"));
    }
    Ok(Snapshot {
        blob: blob.into(),
        web,
        heap: usize::try_from(heap).map_err(|_| bad("its heap size does not fit"))?,
        id: sum,
    })
}

/// Writes `data` to `path` through a temporary file of its own, renamed into place, so
/// that a reader never sees half of it (best effort: a failure leaves no file).
pub(crate) fn write_atomically(path: &Path, data: &[u8]) {
    static WRITERS: AtomicU64 = AtomicU64::new(0);
    let Some(dir) = path.parent() else { return };
    let writer = WRITERS.fetch_add(1, Ordering::Relaxed);
    let temp = path.with_extension(format!("tmp.{}.{writer}", std::process::id()));
    let written = std::fs::create_dir_all(dir).is_ok() && std::fs::write(&temp, data).is_ok();
    if !written || std::fs::rename(&temp, path).is_err() {
        let _ = std::fs::remove_file(&temp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_truncated_snapshots_are_refused_before_any_v8_call() {
        for bad in [
            &b""[..],
            &b"not a snapshot"[..],
            &MAGIC[..],
            &MAGIC[..MAGIC.len() - 1],
        ] {
            let error = open(bad).unwrap_err();
            assert_eq!(error.code(), crate::engine::Code::InvalidArgument);
        }
        let mut cut = MAGIC.to_vec();
        cut.extend_from_slice(&1000u32.to_le_bytes());
        cut.extend_from_slice(b"short");
        assert!(open(&cut)
            .unwrap_err()
            .message()
            .to_str_lossy()
            .contains("truncated"));
    }

    #[test]
    fn the_checksum_sees_every_byte() {
        let data = b"snapshot blob".to_vec();
        for i in 0..data.len() {
            let mut changed = data.clone();
            changed[i] ^= 1;
            assert_ne!(checksum(&[1, 2], &changed), checksum(&[1, 2], &data));
        }
        assert_ne!(checksum(&[1, 3], &data), checksum(&[1, 2], &data));
        assert_ne!(checksum(&[2, 2], &data), checksum(&[1, 2], &data));
    }
}
