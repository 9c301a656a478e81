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
    DEFAULT.get_or_init(DefaultRegistry::new)
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
