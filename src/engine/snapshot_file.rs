//! The file format of v8rs snapshots: V8's startup blob behind a header of ours — a
//! magic string, the V8 version, the V8 flags of the platform that made it, and a
//! checksum — because V8 aborts the process on a blob it cannot use. Here such a blob
//! is an `InvalidArgument` error instead: garbage, truncated or corrupted data, a blob
//! from another V8 version, or one made under other V8 flags.

use crate::engine::error::Error;
use crate::engine::platform;

/// Revision 2: the read-only heap is V8's built-in one (see `snapshot.rs`); blobs of
/// revision 1 could not live beside other VMs, and are refused.
const MAGIC: &[u8; 14] = b"v8rs-snapshot2";

/// Held for writing while a snapshot is made, for reading while a VM is created: V8
/// crashes when a snapshot is made while another isolate lives in the process.
pub(crate) static CREATING: parking_lot::RwLock<()> = parking_lot::RwLock::new(());

/// FNV-1a, 64 bits: enough to tell a damaged blob from a good one.
fn checksum(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

fn identity() -> Vec<u8> {
    let mut id = platform::v8_version().as_bytes().to_vec();
    id.push(b'\n');
    id.extend_from_slice(platform::flags().as_bytes());
    id
}

/// `blob` (V8's startup data) behind the header.
pub(crate) fn wrap(blob: &[u8]) -> Vec<u8> {
    let id = identity();
    let mut out = Vec::with_capacity(MAGIC.len() + 12 + id.len() + blob.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(id.len() as u32).to_le_bytes());
    out.extend_from_slice(&id);
    out.extend_from_slice(&checksum(blob).to_le_bytes());
    out.extend_from_slice(blob);
    out
}

/// The V8 startup blob inside `snapshot`, once its header checks out.
pub(crate) fn open(snapshot: &[u8]) -> Result<Vec<u8>, Error> {
    let bad = |why: &str| Error::invalid_argument(format!("not a usable v8rs snapshot: {why}"));
    let rest = snapshot
        .strip_prefix(MAGIC.as_slice())
        .ok_or_else(|| bad("it does not start like one"))?;
    let (len, rest) = rest
        .split_at_checked(4)
        .ok_or_else(|| bad("it is truncated"))?;
    let len = u32::from_le_bytes(len.try_into().unwrap()) as usize;
    let (id, rest) = rest
        .split_at_checked(len)
        .ok_or_else(|| bad("it is truncated"))?;
    let (sum, blob) = rest
        .split_at_checked(8)
        .ok_or_else(|| bad("it is truncated"))?;
    let expected = identity();
    if id != expected.as_slice() {
        return Err(bad(&format!(
            "it was made by V8 {:?}, and this is V8 {:?} (the version and the V8 flags must match)",
            String::from_utf8_lossy(id),
            String::from_utf8_lossy(&expected)
        )));
    }
    if u64::from_le_bytes(sum.try_into().unwrap()) != checksum(blob) || blob.is_empty() {
        return Err(bad("its checksum does not match (truncated or corrupted)"));
    }
    Ok(blob.to_vec())
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
            assert_ne!(checksum(&changed), checksum(&data));
        }
    }
}
