//! One trait ties every opaque C handle to the Rust value behind it and to how it is
//! owned (after rustls-ffi's `Castable`), so no export casts a pointer by hand.

use std::sync::Arc;

use crate::engine::Error;

/// A C handle type: the Rust value behind it, and its ownership.
pub(crate) trait Castable {
    /// [`OwnershipArc`], [`OwnershipBox`] or [`OwnershipRef`].
    type Ownership;
    /// The Rust value a handle points to.
    type RustType;
}

/// The handle is an `Arc::into_raw`: shared, freed when the last reference goes.
pub(crate) struct OwnershipArc;
/// The handle is a `Box::into_raw`: owned by the caller until its `_free`.
pub(crate) struct OwnershipBox;
/// The handle is borrowed from the library for the length of a callback.
pub(crate) struct OwnershipRef;

/// A new handle for `value`.
pub(crate) fn arc_into_handle<C: Castable<Ownership = OwnershipArc>>(
    value: Arc<C::RustType>,
) -> *mut C {
    Arc::into_raw(value) as *mut C
}

/// A reference of the caller's own to the value behind `handle`, for the length of a
/// call; `InvalidArgument` for NULL.
///
/// # Safety
/// `handle` is NULL or came from [`arc_into_handle`] and was not freed yet.
pub(crate) unsafe fn clone_arc<C: Castable<Ownership = OwnershipArc>>(
    handle: *const C,
) -> Result<Arc<C::RustType>, Error> {
    if handle.is_null() {
        return Err(Error::invalid_argument("a handle argument is NULL"));
    }
    let raw = handle as *const C::RustType;
    // SAFETY: by the caller's contract `raw` is a live `Arc`: take a reference more.
    unsafe {
        Arc::increment_strong_count(raw);
        Ok(Arc::from_raw(raw))
    }
}

/// A shared reference to the value behind an `Arc` handle, for the length of a call;
/// `None` for NULL.
///
/// # Safety
/// `handle` is NULL or came from [`arc_into_handle`] and is not freed during the call.
pub(crate) unsafe fn try_arc_ref<'a, C: Castable<Ownership = OwnershipArc>>(
    handle: *const C,
) -> Option<&'a C::RustType> {
    // SAFETY: by the caller's contract the pointer is NULL or a live `Arc`'s value.
    unsafe { (handle as *const C::RustType).as_ref() }
}

/// The handle's own reference back, once; `None` for NULL, and in a forked child
/// (where V8 must not be touched, not even to free: the handle leaks instead).
///
/// # Safety
/// As for [`clone_arc`]; the handle is invalid afterwards.
pub(crate) unsafe fn free_arc<C: Castable<Ownership = OwnershipArc>>(
    handle: *mut C,
) -> Option<Arc<C::RustType>> {
    if handle.is_null() || crate::engine::platform::in_forked_child() {
        return None;
    }
    // SAFETY: by the caller's contract the pointer is a live `Arc`.
    Some(unsafe { Arc::from_raw(handle as *const C::RustType) })
}

/// A new handle that owns `value`.
pub(crate) fn box_into_handle<C: Castable<Ownership = OwnershipBox>>(value: C::RustType) -> *mut C {
    Box::into_raw(Box::new(value)) as *mut C
}

/// The value behind an owned handle, to drop; `None` for NULL.
///
/// # Safety
/// `handle` is NULL or came from [`box_into_handle`] and was not freed yet.
pub(crate) unsafe fn free_box<C: Castable<Ownership = OwnershipBox>>(
    handle: *mut C,
) -> Option<Box<C::RustType>> {
    // SAFETY: by the caller's contract.
    (!handle.is_null()).then(|| unsafe { Box::from_raw(handle as *mut C::RustType) })
}

/// A shared reference to the value behind a boxed or borrowed handle; `None` for NULL.
///
/// # Safety
/// `handle` is NULL or a live handle of its type.
pub(crate) unsafe fn try_ref<'a, C: Castable>(handle: *const C) -> Option<&'a C::RustType> {
    // SAFETY: by the caller's contract.
    unsafe { (handle as *const C::RustType).as_ref() }
}

/// A mutable reference to the value behind a borrowed handle; `None` for NULL.
///
/// # Safety
/// `handle` is NULL or a live handle of its type that nothing else uses meanwhile.
pub(crate) unsafe fn try_mut<'a, C: Castable<Ownership = OwnershipRef>>(
    handle: *mut C,
) -> Option<&'a mut C::RustType> {
    // SAFETY: by the caller's contract.
    unsafe { (handle as *mut C::RustType).as_mut() }
}
