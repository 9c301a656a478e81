//! Key paths in error messages: `observability.prometheus.endpoint.port`,
//! `observability.prometheus.histograms.latency_ms_buckets[3]`,
//! `observability.opentelemetry.resource.attributes["cloud.region"]`.

use core::fmt;

use yaml_serde::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Key(String),
    Index(usize),
}

/// A path from the document root to one value.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct KeyPath {
    segments: Vec<Segment>,
}

impl KeyPath {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A path from dotted plain keys (`"observability.service.name"`).
    pub(crate) fn parse(dotted: &str) -> Self {
        let mut path = Self::new();
        for key in dotted.split('.') {
            path.push_key(key);
        }
        path
    }

    pub(crate) fn push_key(&mut self, key: &str) {
        self.segments.push(Segment::Key(key.to_owned()));
    }

    pub(crate) fn push_index(&mut self, index: usize) {
        self.segments.push(Segment::Index(index));
    }

    pub(crate) fn pop(&mut self) {
        self.segments.pop();
    }

    /// This path extended by a key.
    pub(crate) fn key(&self, key: &str) -> Self {
        let mut path = self.clone();
        path.push_key(key);
        path
    }

    /// This path extended by an index.
    pub(crate) fn index(&self, index: usize) -> Self {
        let mut path = self.clone();
        path.push_index(index);
        path
    }

    /// The path serde_path_to_error recorded.
    pub(crate) fn from_serde(path: &serde_path_to_error::Path) -> Self {
        use serde_path_to_error::Segment as S;
        let mut out = Self::new();
        for segment in path.iter() {
            match segment {
                S::Seq { index } => out.push_index(*index),
                S::Map { key } => out.push_key(key),
                S::Enum { variant } => out.push_key(variant),
                S::Unknown => out.push_key("?"),
                // `Segment` is non-exhaustive upstream.
                #[allow(unreachable_patterns)]
                _ => out.push_key("?"),
            }
        }
        out
    }

    /// How a mapping key is shown in a path.
    pub(crate) fn key_text(key: &Value) -> String {
        match key {
            Value::String(s) => s.clone(),
            Value::Bool(b) => b.to_string(),
            Value::Number(n) => n.to_string(),
            Value::Null => "null".to_owned(),
            other => format!("{other:?}"),
        }
    }
}

fn is_plain(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segments.is_empty() {
            return f.write_str("(document)");
        }
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Key(key) if is_plain(key) => {
                    if i > 0 {
                        f.write_str(".")?;
                    }
                    f.write_str(key)?;
                }
                Segment::Key(key) => write!(f, "[{key:?}]")?,
                Segment::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders() {
        let mut p = KeyPath::parse("observability.opentelemetry.resource.attributes");
        p.push_key("cloud.region");
        assert_eq!(
            p.to_string(),
            r#"observability.opentelemetry.resource.attributes["cloud.region"]"#
        );
        let q = KeyPath::parse("observability.prometheus.histograms.latency_ms_buckets").index(3);
        assert_eq!(
            q.to_string(),
            "observability.prometheus.histograms.latency_ms_buckets[3]"
        );
        assert_eq!(KeyPath::new().to_string(), "(document)");
    }
}
