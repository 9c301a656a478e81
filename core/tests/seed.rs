//! The process-wide label hash seed: set once before use, refused after, and the same
//! seed gives the same slots. (Its own test binary: the seed is global to the process.)

use core::hash::{BuildHasher, Hasher};
use corral_core::{
    Counter, DefaultHashBuilder, DynamicFamily, GlobalSeed, SeedError, hash_seed_is_set,
    set_hash_seed,
};

static TENANTS: DynamicFamily<Counter, 1, 64, 112, GlobalSeed> = DynamicFamily::seeded(["tenant"]);

fn hash(builder: &impl BuildHasher, value: &str) -> u64 {
    let mut hasher = builder.build_hasher();
    hasher.write(value.as_bytes());
    hasher.finish()
}

#[test]
fn set_once_before_use_then_fixed() {
    assert!(!hash_seed_is_set());
    set_hash_seed(0x5eed).unwrap();
    assert!(hash_seed_is_set());
    assert_eq!(set_hash_seed(1), Err(SeedError::AlreadySet));

    TENANTS.with_labels(["acme"]).inc();
    TENANTS.with_labels(["acme"]).inc();
    assert_eq!(TENANTS.with_labels(["acme"]).get(), 2);
    assert_eq!(set_hash_seed(2), Err(SeedError::AlreadyUsed));

    // The family hashes exactly as a fixed-seed hasher with the seed that was set, and
    // not as one with the published default.
    for value in ["acme", "globex", ""] {
        assert_eq!(
            hash(&GlobalSeed, value),
            hash(&DefaultHashBuilder::with_seed(0x5eed), value)
        );
    }
    assert_ne!(
        hash(&GlobalSeed, "acme"),
        hash(
            &DefaultHashBuilder::with_seed(0x636f_7272_616c_5f31),
            "acme"
        )
    );
    assert!(
        SeedError::AlreadyUsed
            .to_string()
            .contains("before the first label lookup")
    );
}
