//! Size and nesting limits checked before the text reaches the YAML parser.
//!
//! The YAML scanner's time grows with the square of the nesting depth (it rescans its stack
//! of possible keys at every token), and the deserializer refuses a document only after the
//! scanner has seen it whole: 100,000 nested `[` in a 200 KB file take tens of seconds to be
//! refused. [`check`] bounds both in one linear pass, so such a file is refused at once.
//!
//! The pass follows YAML's rules closely enough that it never counts more levels than the
//! document has collections, plus one where a line's content opens no block collection (a
//! scalar after `- `, a flow collection at the start of a line):
//!
//! - flow collections: `[` and `{` open one level and `]` and `}` close it, except inside
//!   quoted scalars (`'…'` with `''`, `"…"` with backslash escapes, across lines) and
//!   comments (`#` at a line's start or after a space); outside flow collections a bracket
//!   opens a collection only where a value starts, as YAML reads it (`key: a[0]` is a
//!   plain scalar);
//! - block collections: each strictly deeper indentation (spaces) of a line outside flow
//!   collections, quoted scalars and block scalars (`|`, `>`) is one level, and each `- `
//!   or `? ` at the start of a line's content one more (`- - x`).

/// The largest configuration text read, in bytes (1 MiB).
pub const MAX_BYTES: usize = 1 << 20;

/// The deepest nesting of collections read (block and flow levels together).
///
/// The specification's configuration nests five levels deep; the YAML deserializer's own
/// limit is 128.
pub const MAX_DEPTH: usize = 64;

/// Why a text was refused before parsing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exceeded {
    /// The text has `len` bytes.
    Size { len: usize },
    /// Nesting first went past [`MAX_DEPTH`] at this line and column (both from 1).
    Depth { line: usize, column: usize },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Quote {
    None,
    Single,
    Double,
}

/// Checks `text` against [`MAX_BYTES`] and [`MAX_DEPTH`] in one pass over its bytes.
pub(crate) fn check(text: &str) -> Result<(), Exceeded> {
    if text.len() > MAX_BYTES {
        return Err(Exceeded::Size { len: text.len() });
    }
    // Indentations of the open block levels, strictly increasing; at most MAX_DEPTH + 1 long.
    let mut block: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    let mut quote = Quote::None;
    // The indentation of the line that opened a block scalar: more-indented lines are its text.
    let mut block_scalar: Option<usize> = None;

    for (index, line) in text.split('\n').enumerate() {
        let bytes = line.as_bytes();
        let indent = bytes.iter().take_while(|&&b| b == b' ').count();
        let rest = &bytes[indent..];
        let blank = rest.iter().all(|b| b.is_ascii_whitespace());
        let too_deep = |depth: usize, at: usize| {
            if depth > MAX_DEPTH {
                Err(Exceeded::Depth {
                    line: index + 1,
                    column: at + 1,
                })
            } else {
                Ok(())
            }
        };

        let mut pos = 0;
        // Where a value may start: a quote or a bracket here opens a scalar or a collection.
        let mut value_start = true;
        if quote == Quote::None && flow == 0 {
            if let Some(parent) = block_scalar {
                if blank || indent > parent {
                    continue;
                }
                block_scalar = None;
            }
            if blank || rest[0] == b'#' {
                continue;
            }
            pos = indent;
            if rest.starts_with(b"---") || rest.starts_with(b"...") {
                let after = rest.get(3).copied();
                if indent == 0 && after.is_none_or(|b| b == b' ' || b == b'\t' || b == b'\r') {
                    block.clear();
                    pos = 3;
                }
            }
            if pos == indent {
                while block.last().is_some_and(|&top| top > indent) {
                    block.pop();
                }
                if block.last().is_none_or(|&top| top < indent) {
                    block.push(indent);
                }
                // `- ` and `? ` entries: each opens a level at the column after it.
                while matches!(bytes.get(pos), Some(b'-' | b'?'))
                    && bytes
                        .get(pos + 1)
                        .is_none_or(|&b| b == b' ' || b == b'\t' || b == b'\r')
                {
                    pos += 1;
                    while matches!(bytes.get(pos), Some(b' ' | b'\t')) {
                        pos += 1;
                    }
                    block.push(pos);
                }
                too_deep(block.len(), pos)?;
            }
        }

        let mut previous = b' ';
        while pos < bytes.len() {
            let b = bytes[pos];
            match quote {
                Quote::Double => match b {
                    b'\\' => pos += 1,
                    b'"' => {
                        quote = Quote::None;
                        value_start = false;
                    }
                    _ => {}
                },
                Quote::Single => {
                    if b == b'\'' {
                        if bytes.get(pos + 1) == Some(&b'\'') {
                            pos += 1;
                        } else {
                            quote = Quote::None;
                            value_start = false;
                        }
                    }
                }
                Quote::None => match b {
                    b'#' if previous == b' ' || previous == b'\t' => break,
                    b' ' | b'\t' | b'\r' => {}
                    b'"' if value_start => quote = Quote::Double,
                    b'\'' if value_start => quote = Quote::Single,
                    b'[' | b'{' if value_start || flow > 0 => {
                        flow += 1;
                        too_deep(block.len() + flow, pos)?;
                        value_start = true;
                    }
                    b']' | b'}' if flow > 0 => {
                        flow -= 1;
                        value_start = false;
                    }
                    b',' if flow > 0 => value_start = true,
                    b':' if bytes.get(pos + 1).is_none_or(|&n| {
                        matches!(n, b' ' | b'\t' | b'\r')
                            || (flow > 0 && matches!(n, b',' | b'[' | b']' | b'{' | b'}'))
                    }) =>
                    {
                        value_start = true;
                    }
                    // An anchor or a tag before a value: the value still starts after it.
                    b'&' | b'!' if value_start => {
                        while bytes.get(pos + 1).is_some_and(|&n| n != b' ' && n != b'\t') {
                            pos += 1;
                        }
                    }
                    b'|' | b'>' if value_start && flow == 0 => {
                        block_scalar = Some(indent);
                        break;
                    }
                    _ => value_start = false,
                },
            }
            previous = b;
            pos += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_error(text: &str) -> bool {
        matches!(check(text), Err(Exceeded::Depth { .. }))
    }

    #[test]
    fn deep_flow_and_block_nesting_are_refused() {
        // The first line's indentation counts as a block level too: one more than the
        // document has for a flow-only document.
        assert!(depth_error(&"[".repeat(MAX_DEPTH)));
        assert!(!depth_error(&"[".repeat(MAX_DEPTH - 1)));
        assert!(depth_error(&format!("a: {}", "{b: ".repeat(MAX_DEPTH))));
        let block: String = (0..=MAX_DEPTH)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        assert!(depth_error(&block));
        assert!(depth_error(&"- ".repeat(MAX_DEPTH + 1)));
        // Block and flow levels add up.
        let half: String = (0..MAX_DEPTH / 2)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect();
        let both = format!("{half}{}k: {}", " ".repeat(MAX_DEPTH / 2), "[".repeat(40));
        assert_eq!(
            check(&both),
            Err(Exceeded::Depth {
                line: MAX_DEPTH / 2 + 1,
                column: MAX_DEPTH / 2 + 3 + 32
            })
        );
    }

    #[test]
    fn brackets_that_open_nothing_are_not_counted() {
        let deep = "[".repeat(200);
        for text in [
            format!("a: \"{deep}\"\n"),
            format!("a: '{deep}'' {deep}'\n"),
            format!("a: \"x\\\" {deep}\"\n"),
            format!("a: b # {deep}\n"),
            format!("# {deep}\n"),
            format!("a: x{deep}\n"),
            format!("a: |\n  {deep}\n    {deep}\n\n  {deep}\nb: 1\n"),
            format!("a: >-\n  {deep}\nb: 1\n"),
            format!("a: [\"{deep}\", '{deep}']\n"),
            format!("a: \"multi\n  line {deep}\"\n"),
        ] {
            assert_eq!(check(&text), Ok(()), "{text}");
        }
        // A block scalar's text, however indented, is text.
        let ladder: String = (0..200)
            .map(|i| format!("{}x\n", " ".repeat(i + 2)))
            .collect();
        assert_eq!(check(&format!("a: |\n{ladder}b: 1\n")), Ok(()));
        // Closing a flow collection returns to block context: the next line's indentation counts.
        assert_eq!(check("a: [1,\n  2]\nb: {c: [3]}\n"), Ok(()));
    }

    #[test]
    fn size_is_checked_first() {
        let big = " ".repeat(MAX_BYTES + 1);
        assert_eq!(check(&big), Err(Exceeded::Size { len: MAX_BYTES + 1 }));
        assert_eq!(check(&" ".repeat(MAX_BYTES)), Ok(()));
    }
}
