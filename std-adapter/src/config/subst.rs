//! `${VAR}` and `${VAR:-default}` substitution in the string values of a YAML tree.
//!
//! Substitution runs on parsed string scalars (quoted or not), never on the raw text, so a
//! variable's value cannot change the document's structure, and an error can name the key
//! it occurred under. Mapping keys and comments are left alone.
//!
//! | form | variable set | variable set but empty | variable unset |
//! | --- | --- | --- | --- |
//! | `${VAR}` | its value | `""` | error |
//! | `${VAR:-default}` | its value | `default` | `default` |
//!
//! `$$` writes a literal `$` (so `$${VAR}` is the text `${VAR}`); a `$` not followed by `{`
//! or `$` is literal. Names match `[A-Za-z_][A-Za-z0-9_]*`; a default is plain text and
//! cannot contain `}`.

use yaml_serde::Value;

use super::path::KeyPath;

/// Why a string could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SubstError {
    /// `${NAME}` without a default, and `NAME` is not set.
    Missing { name: String },
    /// A `${` without its `}`, a bad name, or an unsupported operator.
    Malformed { reason: String },
}

/// Expands every string value under `value`, whose key path is `path`.
pub(crate) fn substitute(
    value: &mut Value,
    path: &mut KeyPath,
    vars: &dyn Fn(&str) -> Option<String>,
) -> Result<(), (String, SubstError)> {
    match value {
        Value::String(s) => {
            if s.contains('$') {
                *s = expand(s, vars).map_err(|e| (path.to_string(), e))?;
            }
            Ok(())
        }
        Value::Sequence(items) => {
            for (index, item) in items.iter_mut().enumerate() {
                path.push_index(index);
                let r = substitute(item, path, vars);
                path.pop();
                r?;
            }
            Ok(())
        }
        Value::Mapping(map) => {
            for (key, item) in map.iter_mut() {
                path.push_key(&KeyPath::key_text(key));
                let r = substitute(item, path, vars);
                path.pop();
                r?;
            }
            Ok(())
        }
        Value::Tagged(tagged) => substitute(&mut tagged.value, path, vars),
        Value::Null | Value::Bool(_) | Value::Number(_) => Ok(()),
    }
}

/// Expands the references in `text`.
pub(crate) fn expand(
    text: &str,
    vars: &dyn Fn(&str) -> Option<String>,
) -> Result<String, SubstError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some(body) = after.strip_prefix('{') {
            let Some(end) = body.find('}') else {
                return Err(SubstError::Malformed {
                    reason: format!("`${{` without a closing `}}` in {text:?}"),
                });
            };
            out.push_str(&resolve(&body[..end], vars)?);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// Resolves the inside of one `${...}`.
fn resolve(inner: &str, vars: &dyn Fn(&str) -> Option<String>) -> Result<String, SubstError> {
    let name_len = inner
        .char_indices()
        .find(|&(i, c)| !(c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit())))
        .map_or(inner.len(), |(i, _)| i);
    let (name, op) = inner.split_at(name_len);
    if name.is_empty() {
        return Err(SubstError::Malformed {
            reason: format!("`${{{inner}}}` does not start with a variable name"),
        });
    }
    if op.is_empty() {
        return vars(name).ok_or_else(|| SubstError::Missing {
            name: name.to_owned(),
        });
    }
    if let Some(default) = op.strip_prefix(":-") {
        return Ok(vars(name)
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_owned()));
    }
    Err(SubstError::Malformed {
        reason: format!(
            "`${{{inner}}}` is not supported: write `${{{name}}}` or `${{{name}:-default}}`"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("box1".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    #[test]
    fn forms() {
        assert_eq!(expand("${HOST}", &env).unwrap(), "box1");
        assert_eq!(expand("a-${HOST}-b", &env).unwrap(), "a-box1-b");
        assert_eq!(expand("${NOPE:-dflt}", &env).unwrap(), "dflt");
        assert_eq!(expand("${EMPTY:-dflt}", &env).unwrap(), "dflt");
        assert_eq!(expand("${EMPTY}", &env).unwrap(), "");
        assert_eq!(expand("${NOPE:-}", &env).unwrap(), "");
        assert_eq!(expand("${HOST:-x}${HOST}", &env).unwrap(), "box1box1");
        assert_eq!(
            expand("$${HOST} costs $5 $", &env).unwrap(),
            "${HOST} costs $5 $"
        );
        assert_eq!(expand("${NOPE:-a b:c}", &env).unwrap(), "a b:c");
    }

    #[test]
    fn errors() {
        assert_eq!(
            expand("${NOPE}", &env),
            Err(SubstError::Missing {
                name: "NOPE".into()
            })
        );
        for bad in [
            "${HOST",
            "${}",
            "${1X}",
            "${HOST-x}",
            "${HOST:?x}",
            "${HO ST}",
        ] {
            assert!(
                matches!(expand(bad, &env), Err(SubstError::Malformed { .. })),
                "{bad}"
            );
        }
    }
}
