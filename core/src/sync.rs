//! The one place that names an atomic type's crate.
//!
//! Every other module takes its atomics, `UnsafeCell` and spin hint from here, so the whole
//! core can be model-checked by swapping in loom's types (`--cfg corral_loom` together with
//! the `loom` feature). Outside loom the atomics come from `portable-atomic`, which is
//! `core::sync::atomic` itself on targets that have the operation natively and a fallback
//! (lock-based for 64-bit values on 32-bit CAS targets) where they do not.
//!
//! `.ci/run` greps `core/src` and fails if any other file names `core::sync::atomic`,
//! `portable_atomic`, `loom` or `core::cell::UnsafeCell`.

#[cfg(all(corral_loom, not(feature = "loom")))]
compile_error!(
    "`--cfg corral_loom` needs the `loom` feature of corral-core: run the models with \
     `RUSTFLAGS=\"--cfg corral_loom\" cargo test -p corral-loom-tests --release`"
);

#[cfg(corral_loom)]
pub(crate) use loom::{
    hint::spin_loop,
    sync::atomic::{AtomicI64, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering},
};

#[cfg(not(corral_loom))]
pub(crate) use core::hint::spin_loop;
#[cfg(not(corral_loom))]
pub(crate) use portable_atomic::{
    AtomicI64, AtomicPtr, AtomicU8, AtomicU32, AtomicU64, AtomicUsize, Ordering,
};

/// A 64-bit atomic for `static` items, in every build: loom's atomics cannot be `const`,
/// so the process-wide hash seed (`seed.rs`) uses portable-atomic's even under loom; no
/// model checks it.
pub(crate) use portable_atomic::AtomicU64 as StaticU64;

/// `UnsafeCell` with loom's closure-based access API, so that every access to cell
/// contents is visible to the model checker when loom is on.
#[cfg(corral_loom)]
pub(crate) use loom::cell::UnsafeCell;

#[cfg(not(corral_loom))]
#[derive(Debug)]
#[repr(transparent)]
pub(crate) struct UnsafeCell<T>(core::cell::UnsafeCell<T>);

#[cfg(not(corral_loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        Self(core::cell::UnsafeCell::new(value))
    }

    /// Runs `f` with a shared raw pointer to the contents.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Runs `f` with an exclusive raw pointer to the contents.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}
