//! The process-wide label hash seed of core's [`GlobalSeed`](corral_core::GlobalSeed)
//! families, drawn from the operating system.
//!
//! ```
//! use corral_std::core::{Counter, DynamicFamily, GlobalSeed};
//!
//! static TENANTS: DynamicFamily<Counter, 1, 64, 112, GlobalSeed> = DynamicFamily::seeded(["tenant"]);
//!
//! fn main() {
//!     corral_std::seed::seed_from_os(); // first thing in main
//!     TENANTS.with_labels(["acme"]).inc();
//! }
//! ```
//!
//! [`default_registry`](crate::default_registry) and every
//! [`Families`](crate::runtime::Families) set it too, when nothing has yet.

use std::hash::BuildHasher;

use corral_core::SeedError;

/// Sets the process-wide label hash seed from the operating system's random source, unless
/// it was set already. Returns whether this call set it.
///
/// When a [`GlobalSeed`](corral_core::GlobalSeed) family has already hashed label values
/// with the published default seed, the seed cannot change any more: that is logged as a
/// warning (through `tracing`) and the default stays.
pub fn seed_from_os() -> bool {
    match corral_core::set_hash_seed(os_random()) {
        Ok(()) => true,
        Err(SeedError::AlreadySet) => false,
        Err(error) => {
            tracing::warn!(
                "corral: {error}; GlobalSeed families keep the published default seed \
                 (call corral_std::seed::seed_from_os() at the start of main)"
            );
            false
        }
    }
}

/// 64 random bits: std's `RandomState` draws its keys from the operating system.
fn os_random() -> u64 {
    std::collections::hash_map::RandomState::new().hash_one(0x636f_7272_616c_u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn two_draws_differ() {
        // Two independent 64-bit draws from the OS collide with probability 2^-64.
        assert_ne!(super::os_random(), super::os_random());
    }
}
