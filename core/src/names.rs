//! The name rules of the exposition formats: metric names and label names.

/// Whether `name` matches `[a-zA-Z_<colon>][a-zA-Z0-9_<colon>]*`, with `:` allowed only
/// when `colon` is.
const fn is_valid_name(name: &str, colon: bool) -> bool {
    let bytes = name.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let ok = b.is_ascii_alphabetic()
            || b == b'_'
            || (colon && b == b':')
            || (i > 0 && b.is_ascii_digit());
        if !ok {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether `name` is a valid metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub const fn is_valid_metric_name(name: &str) -> bool {
    is_valid_name(name, true)
}

/// Whether `name` is a valid label name: `[a-zA-Z_][a-zA-Z0-9_]*`. Names starting with `__`
/// are valid syntax but reserved for Prometheus' own use; registration refuses them.
pub const fn is_valid_label_name(name: &str) -> bool {
    is_valid_name(name, false)
}
