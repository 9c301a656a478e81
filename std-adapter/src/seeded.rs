//! Dynamic label tables hashed with per-process random seeds.
//!
//! Core's [`DynamicFamily`] hashes label values with a fixed-seed hasher, because a
//! `no_std` target may have no entropy source. Label values often come from outside the
//! process (a tenant name, a path, a header), and an attacker who knows the seed can pick
//! values that all land in one probe chain. Here the hasher is `ahash`'s [`RandomState`],
//! whose keys are drawn from the operating system's random source once per process (and
//! varied per table), so collisions cannot be planned offline.
//!
//! Hashing with it allocates nothing; only creating a [`RandomState`] may (once, the first
//! time, to hold the process's keys). Families built here are not `const`, so a `static`
//! one lives in a [`LazyLock`](std::sync::LazyLock) or is defined through
//! [`runtime`](crate::runtime):
//!
//! ```
//! use std::sync::LazyLock;
//! use corral_std::core::{Counter, Desc, Registry};
//! use corral_std::seeded::{self, SeededFamily};
//!
//! static REGISTRY: Registry<4> = Registry::new();
//! static TENANTS: LazyLock<SeededFamily<Counter, 1, 64>> =
//!     LazyLock::new(|| seeded::family(["tenant"]));
//!
//! let tenants: &'static SeededFamily<Counter, 1, 64> = &TENANTS;
//! REGISTRY.register(Desc::new("requests_by_tenant_total", "Requests"), tenants)?;
//! TENANTS.with_labels(["acme"]).inc();
//! assert_eq!(TENANTS.with_labels(["acme"]).get(), 1);
//! # Ok::<(), corral_std::core::RegisterError>(())
//! ```

use corral_core::{DynamicFamily, HistogramCells, Metric};

pub use ahash::RandomState;

/// A [`DynamicFamily`] hashed with a per-process random [`RandomState`].
pub type SeededFamily<M, const LABELS: usize, const SERIES: usize, const KEY_BYTES: usize = 112> =
    DynamicFamily<M, LABELS, SERIES, KEY_BYTES, RandomState>;

/// A fresh hasher with this process's random keys (distinct for every call).
pub fn random_state() -> RandomState {
    RandomState::new()
}

/// A family of `M` (a counter, gauge or other cell without shared configuration) with
/// label `names`, hashed with a random seed.
pub fn family<M, const LABELS: usize, const SERIES: usize, const KEY_BYTES: usize>(
    names: [&'static str; LABELS],
) -> SeededFamily<M, LABELS, SERIES, KEY_BYTES>
where
    M: Metric<Config = ()>,
{
    DynamicFamily::with_hasher(names, (), random_state())
}

/// A histogram family with label `names` over `bounds`, hashed with a random seed.
///
/// The bounds are checked when the family is registered (registration fails with
/// `InvalidBuckets` if they are not finite and strictly increasing, or do not fit
/// `BUCKETS`).
pub fn histogram_family<
    const BUCKETS: usize,
    const LABELS: usize,
    const SERIES: usize,
    const KEY_BYTES: usize,
>(
    names: [&'static str; LABELS],
    bounds: &'static [f64],
) -> SeededFamily<HistogramCells<BUCKETS>, LABELS, SERIES, KEY_BYTES> {
    DynamicFamily::with_hasher(names, bounds, random_state())
}

#[cfg(test)]
mod tests {
    use corral_core::{Counter, Desc, Reason, RegisterError, Registry};

    use super::*;

    /// Label values the seed tests hash: short and long, ASCII and not.
    fn keys() -> Vec<String> {
        (0..64)
            .map(|i| match i % 4 {
                0 => format!("tenant-{i}"),
                1 => format!("/api/v{i}/orders"),
                2 => "x".repeat(i + 1),
                _ => format!("été-{i}"),
            })
            .collect()
    }

    /// Two states made independently hash the same values differently: with 64-bit hashes
    /// from random keys, one equal pair among 64 has a probability of about 2^-58, so any
    /// equal pair means the keys were not drawn independently.
    #[test]
    fn each_state_hashes_differently() {
        let (a, b) = (random_state(), random_state());
        let equal: Vec<String> = keys()
            .into_iter()
            .filter(|k| a.hash_one(k.as_str()) == b.hash_one(k.as_str()))
            .collect();
        assert!(equal.is_empty(), "two fresh states agreed on {equal:?}");
    }

    /// A seeded family finds every series again: one state's hash of a value does not
    /// change between lookups, so each value keeps one series and its count.
    #[test]
    fn a_seeded_family_resolves_each_value_to_one_series() {
        let fam: &'static SeededFamily<Counter, 1, 128> = Box::leak(Box::new(family(["key"])));
        let keys = keys();
        let first: Vec<*const Counter> = keys
            .iter()
            .map(|k| {
                let c = fam.with_labels([k.as_str()]);
                c.inc();
                core::ptr::from_ref(c)
            })
            .collect();
        for (k, &series) in keys.iter().zip(&first) {
            let again = fam.with_labels([k.as_str()]);
            again.inc();
            assert!(core::ptr::eq(again, series), "{k} moved to another series");
            assert_eq!(again.get(), 2, "{k}");
        }
        assert_eq!(fam.len(), keys.len());
    }

    /// Run as a child process: prints the hash of one key under the process's first state.
    const PROBE: &str = "CORRAL_SEED_PROBE";

    #[test]
    fn seeds_differ_between_processes() {
        if std::env::var_os(PROBE).is_some() {
            println!("seed-probe={}", random_state().hash_one("tenant-42"));
            return;
        }
        let probe = || {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "seeded::tests::seeds_differ_between_processes"])
                .args(["--nocapture", "--test-threads=1"])
                .env(PROBE, "1")
                .output()
                .unwrap();
            assert!(out.status.success());
            let text = String::from_utf8(out.stdout).unwrap();
            // The harness may print the test's name on the same line first.
            let at = text
                .find("seed-probe=")
                .expect("the child printed its hash");
            let rest = &text[at + "seed-probe=".len()..];
            rest.split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        let (first, second) = (probe(), probe());
        assert_ne!(first, second, "two processes hashed a key the same way");
    }

    #[test]
    fn seeded_family_records_and_registers() {
        static REGISTRY: Registry<2> = Registry::new();
        let fam: &'static SeededFamily<Counter, 2, 8> =
            Box::leak(Box::new(family(["method", "status"])));
        REGISTRY
            .register(Desc::new("seeded_requests_total", "Requests"), fam)
            .unwrap();
        fam.with_labels(["GET", "200"]).inc_by(3);
        fam.with_labels(["GET", "500"]).inc();
        assert_eq!(fam.with_labels(["GET", "200"]).get(), 3);
        assert_eq!(fam.len(), 2);
    }

    #[test]
    fn bad_histogram_bounds_are_refused_at_registration() {
        static REGISTRY: Registry<2> = Registry::new();
        let fam: &'static SeededFamily<HistogramCells<3>, 1, 8> =
            Box::leak(Box::new(histogram_family(["route"], &[5.0, 1.0])));
        let err: RegisterError = REGISTRY
            .register(Desc::new("seeded_latency_ms", "Latency"), fam)
            .unwrap_err();
        assert!(matches!(err.reason, Reason::InvalidBuckets(_)), "{err}");
    }
}
