//! The process-wide default registry.

use core::fmt;
use std::sync::OnceLock;

use corral_core::{Registry, RegistryConfig};

/// Families the default registry holds (each entry is a few machine words).
pub const DEFAULT_FAMILIES: usize = 256;

/// The type of the process-wide registry.
pub type DefaultRegistry = Registry<DEFAULT_FAMILIES>;

static DEFAULT: OnceLock<DefaultRegistry> = OnceLock::new();

/// The process-wide registry, created with [`RegistryConfig::DEFAULT`] on first use unless
/// [`init_default_registry`] configured it before.
///
/// Getting it is one atomic load; keep the handles you register, not the registry, on hot
/// paths.
pub fn default_registry() -> &'static DefaultRegistry {
    DEFAULT.get_or_init(|| {
        crate::seed::seed_from_os();
        DefaultRegistry::new()
    })
}

/// Creates the process-wide registry with `config` (for example from
/// [`ObservabilityConfig::registry_config`](crate::config::ObservabilityConfig::registry_config)).
///
/// # Errors
///
/// [`AlreadyInitialized`] if the registry exists already (created by an earlier call or by
/// [`default_registry`]); it keeps the configuration it was created with.
pub fn init_default_registry(
    config: RegistryConfig,
) -> Result<&'static DefaultRegistry, AlreadyInitialized> {
    let mut created = false;
    let registry = DEFAULT.get_or_init(|| {
        crate::seed::seed_from_os();
        created = true;
        DefaultRegistry::with_config(config)
    });
    if created {
        Ok(registry)
    } else {
        Err(AlreadyInitialized {
            existing: *registry.config(),
        })
    }
}

/// The default registry existed already, so the configuration was not applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AlreadyInitialized {
    /// The configuration the registry has.
    pub existing: RegistryConfig,
}

impl fmt::Display for AlreadyInitialized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the default registry was already created; configure it before its first use")
    }
}

impl core::error::Error for AlreadyInitialized {}

#[cfg(test)]
mod tests {
    use corral_core::Counter;

    use super::*;
    use crate::runtime::{Spec, default_families};

    // The only unit test that touches the process-wide registry.
    #[test]
    fn configured_once_then_shared() {
        let config = RegistryConfig::DEFAULT.with_max_total_series(1234);
        let registry = init_default_registry(config).unwrap();
        assert_eq!(registry.config().max_total_series, 1234);
        assert!(core::ptr::eq(registry, default_registry()));
        let again = init_default_registry(RegistryConfig::DEFAULT).unwrap_err();
        assert_eq!(again.existing.max_total_series, 1234);

        let c: &'static Counter = default_families()
            .counter(&Spec::new("default_registry_test_total", "x"))
            .unwrap();
        c.inc();
        assert_eq!(default_registry().len(), 1);
        assert!(
            default_families()
                .get::<Counter>("default_registry_test_total")
                .is_some()
        );
    }
}
