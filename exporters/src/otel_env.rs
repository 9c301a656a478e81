//! Parsing shared by the OpenTelemetry exporters (traces and metrics): the value forms of
//! the standard `OTEL_*` environment variables.

use core::fmt;

use corral_std::config::ObservabilityConfig;

/// A setting that cannot be used; the message names the variable or key and the value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SettingsError {
    /// The environment variable or configuration key.
    pub source: String,
    /// What is wrong with its value.
    pub message: String,
}

impl SettingsError {
    pub(crate) fn new(source: &str, message: impl Into<String>) -> Self {
        Self {
            source: source.to_owned(),
            message: message.into(),
        }
    }
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.source, self.message)
    }
}

impl std::error::Error for SettingsError {}

/// The first of two variables that is set: `(name, value)`.
pub(crate) fn first<'n>(
    var: &impl Fn(&str) -> Option<String>,
    signal: &'n str,
    general: &'n str,
) -> Option<(&'n str, String)> {
    var(signal)
        .map(|v| (signal, v))
        .or_else(|| var(general).map(|v| (general, v)))
}

/// Checks that `url` is an `http://` or `https://` URL with something after the scheme.
pub(crate) fn check_url(source: &str, url: &str) -> Result<(), SettingsError> {
    let ok = ["http://", "https://"]
        .iter()
        .any(|s| url.strip_prefix(s).is_some_and(|rest| !rest.is_empty()));
    if ok {
        Ok(())
    } else {
        Err(SettingsError::new(
            source,
            format!("{url:?} is not an http:// or https:// URL"),
        ))
    }
}

/// `k=v,k2=v2`, keys trimmed, values trimmed and URL-decoded.
pub(crate) fn parse_pairs(
    source: &str,
    text: &str,
) -> Result<Vec<(String, String)>, SettingsError> {
    let mut pairs = Vec::new();
    for item in text.split(',') {
        if item.trim().is_empty() {
            continue;
        }
        let Some((key, value)) = item.split_once('=') else {
            return Err(SettingsError::new(
                source,
                format!("{item:?} is not a key=value pair"),
            ));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(SettingsError::new(
                source,
                format!("{item:?} has an empty key"),
            ));
        }
        let value = percent_encoding::percent_decode_str(value.trim())
            .decode_utf8()
            .map_err(|_| {
                SettingsError::new(
                    source,
                    format!("{item:?}: the value is not UTF-8 once decoded"),
                )
            })?;
        pairs.push((key.to_owned(), value.into_owned()));
    }
    Ok(pairs)
}

/// The resource attributes of `config` with `OTEL_RESOURCE_ATTRIBUTES` and
/// `OTEL_SERVICE_NAME` from `var` laid over them, `service.name` first; empty values are
/// left out.
pub(crate) fn resource(
    config: &ObservabilityConfig,
    var: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<(String, String)>, SettingsError> {
    let mut resource: Vec<(String, String)> = Vec::new();
    let mut put = |key: &str, value: &str| {
        if value.is_empty() {
            return;
        }
        match resource.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value.to_owned(),
            None => resource.push((key.to_owned(), value.to_owned())),
        }
    };
    put("service.name", &config.service.name);
    put("service.version", &config.service.version);
    put("deployment.environment.name", &config.service.environment);
    put("service.instance.id", &config.service.instance_id);
    for (key, value) in config.opentelemetry.resource.non_empty() {
        put(key, value);
    }
    if let Some(value) = var("OTEL_RESOURCE_ATTRIBUTES") {
        for (key, value) in parse_pairs("OTEL_RESOURCE_ATTRIBUTES", &value)? {
            put(&key, &value);
        }
    }
    if let Some(name) = var("OTEL_SERVICE_NAME") {
        put("service.name", name.trim());
    }
    Ok(resource)
}
