//! Startup snapshots: run scripts once, save the heap, and start VMs from it.
//!
//! A snapshot is V8's startup blob behind a header of ours — a magic string, the V8
//! version, the V8 flags of the platform that made it, and a checksum — because V8
//! aborts the process on a blob it cannot use. Here such a blob is an
//! `InvalidArgument` error instead: garbage, truncated or corrupted data, a blob from
//! another V8 version, or one made under other V8 flags.
//!
//! What a snapshot holds: the globals the scripts left (functions and closures
//! included; microtasks run first, a promise nothing can settle stays pending). What it
//! cannot hold: host functions (`expose`), which belong to a context of a running VM,
//! and `Intl` objects still reachable (V8 aborts the process). Nor can one be made while
//! other isolates live in the process (V8 crashes): see [`create`].

use crate::error::{Code, Error};
use crate::platform;

const MAGIC: &[u8; 14] = b"v8rs-snapshot\0";

/// Held for writing while a snapshot is made, for reading while a VM is created.
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

/// Runs `scripts` — `(name, source)` pairs, in order — in a fresh context and returns
/// the snapshot of the heap they leave.
pub fn create(scripts: &[(&[u8], &[u8])]) -> Result<Vec<u8>, Error> {
    let _platform = platform::acquire()?;
    crate::vm::check_not_inside_vm()?;
    // V8 crashes when a snapshot is made while any other isolate lives in the process
    // (two creators at once, or a creator beside running VMs): hold VM creation off,
    // and refuse while VMs are alive.
    let _no_new_vms = CREATING.write();
    if crate::Vm::live_count() > 0 {
        return Err(Error::invalid_state(format!(
            "a snapshot cannot be made in a process where VMs are alive ({} now): make it \
             before creating VMs, or in a separate process (v8cffi's create_snapshot does)",
            crate::Vm::live_count()
        )));
    }
    let mut creator = v8::Isolate::snapshot_creator(None, None);
    let outcome = {
        v8::scope!(let scope, &mut creator);
        let context = v8::Context::new(scope, Default::default());
        let scope = &mut v8::ContextScope::new(scope, context);
        let outcome = crate::context::run_for_snapshot(scope, scripts);
        scope.set_default_context(context);
        outcome
    };
    // The creator must make its blob before it goes, even after a failure.
    let blob = creator.create_blob(v8::FunctionCodeHandling::Keep);
    outcome?;
    let blob = blob.ok_or_else(|| Error::new(Code::Unknown, "V8 could not make the snapshot"))?;
    let id = identity();
    let mut out = Vec::with_capacity(MAGIC.len() + 12 + id.len() + blob.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(id.len() as u32).to_le_bytes());
    out.extend_from_slice(&id);
    out.extend_from_slice(&checksum(&blob).to_le_bytes());
    out.extend_from_slice(&blob);
    Ok(out)
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
            assert_eq!(error.code(), crate::Code::InvalidArgument);
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
