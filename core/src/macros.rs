//! Internal macros.

/// Emits a function as `const fn` in normal builds and as a plain `fn` under loom, whose
/// atomics cannot be built in a constant context (tokio-rs/loom#170).
macro_rules! const_fn {
    ($(#[$attr:meta])* $vis:vis const fn $($rest:tt)*) => {
        #[cfg(not(corral_loom))]
        $(#[$attr])* $vis const fn $($rest)*
        #[cfg(corral_loom)]
        $(#[$attr])* $vis fn $($rest)*
    };
}

/// Builds a `[T; N]` of fresh values: an inline-const repeat normally, `from_fn` under loom.
/// This is the one body that must differ between the two builds.
macro_rules! fresh_array {
    ($init:expr; $n:expr) => {{
        #[cfg(not(corral_loom))]
        let array = [const { $init }; $n];
        #[cfg(corral_loom)]
        let array = core::array::from_fn(|_| $init);
        array
    }};
}

pub(crate) use const_fn;
pub(crate) use fresh_array;
