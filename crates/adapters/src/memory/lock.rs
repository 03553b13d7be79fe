//! Lock helper: a poisoned lock (a panic while holding it) still yields the
//! state, because every mutation below completes before it could panic.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`, recovering the state from a poisoned lock.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
