//! std adapters for `corral-core`. Filled in by the corral-std issue.
#![forbid(unsafe_code)]

pub use corral_core as core;

pub mod encode;
