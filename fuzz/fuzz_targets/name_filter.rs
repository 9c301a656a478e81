//! The `name[]` filter of `/metrics` on any query string.
//!
//! - The names taken from the query equal those of a reference
//!   `application/x-www-form-urlencoded` decoder written here (pairs split on `&`, name and
//!   value on the first `=`, `+` is a space, `%XX` decoded, other `%` kept, bytes read as
//!   UTF-8 with replacement), keys decoded the same way before comparing with `name[]`.
//! - The filtered body, in both formats, is exactly the blocks of the unfiltered body
//!   (each family's metadata and samples) whose registered name was asked for, in
//!   registration order, then `# EOF` for OpenMetrics; no names means the whole body.

#![no_main]

use std::sync::Once;

use arbitrary::Arbitrary;
use corral_core::encode::Format;
use corral_core::{Counter, Desc, DynamicFamily, Gauge, Histogram, Registry, RegistryConfig};
use corral_exporters::http::{query_names, render_names};
use libfuzzer_sys::fuzz_target;

static REGISTRY: Registry<8> =
    Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));
static ALPHA: Counter = Counter::new();
static BETA: Gauge = Gauge::new();
static GAMMA: Histogram<3> = Histogram::new(&[0.5, 1.0]);
static DELTA: DynamicFamily<Counter, 1, 4> = DynamicFamily::new(["path"]);
static EPSILON: Counter = Counter::new();

/// Registered names, in registration order.
const NAMES: [&str; 5] = [
    "alpha_total",
    "beta",
    "gamma_seconds",
    "delta_total",
    "a:b_total",
];

fn registry() -> &'static Registry<8> {
    static SETUP: Once = Once::new();
    SETUP.call_once(|| {
        REGISTRY
            .register(Desc::new(NAMES[0], "A counter"), &ALPHA)
            .unwrap();
        REGISTRY
            .register(Desc::new(NAMES[1], "A gauge"), &BETA)
            .unwrap();
        REGISTRY
            .register(
                Desc::new(NAMES[2], "A histogram").with_unit("seconds"),
                &GAMMA,
            )
            .unwrap();
        REGISTRY
            .register(Desc::new(NAMES[3], "By path"), &DELTA)
            .unwrap();
        REGISTRY
            .register(Desc::new(NAMES[4], "With a colon"), &EPSILON)
            .unwrap();
        ALPHA.inc_by(3);
        BETA.set(-1.5);
        GAMMA.observe(0.7);
        DELTA.with_labels(["/a&b=c"]).inc();
        DELTA.with_labels(["/x y"]).inc();
        EPSILON.inc();
    });
    &REGISTRY
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

fn decode_component(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn reference_names(query: &str) -> Vec<String> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode_component(key) == "name[]").then(|| decode_component(value))
        })
        .collect()
}

/// The body split into one block per family: a block starts at a `#` line that follows
/// a sample line (every family here has samples and help).
fn blocks(body: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut in_samples = true;
    for line in body.split_inclusive('\n') {
        let meta = line.starts_with('#');
        if meta && in_samples {
            out.push(String::new());
        }
        in_samples = !meta;
        out.last_mut()
            .expect("the body starts with metadata")
            .push_str(line);
    }
    out
}

const KEYS: &[&str] = &[
    "name[]",
    "name%5B%5D",
    "name%5b%5d",
    "name",
    "NAME[]",
    "name[]x",
    "",
    "name[",
    "name%5B]",
];

#[derive(Arbitrary, Debug)]
enum Part {
    Key(u8),
    Name(u8),
    Encoded(u8),
    Text(String),
    Amp,
    Eq,
    Plus,
    Percent,
}

#[derive(Arbitrary, Debug)]
enum Input {
    Raw(String),
    Built(Vec<Part>),
}

fuzz_target!(|input: Input| {
    let query = match input {
        Input::Raw(q) => q,
        Input::Built(parts) => {
            let mut q = String::new();
            for part in parts {
                match part {
                    Part::Key(i) => q.push_str(KEYS[usize::from(i) % KEYS.len()]),
                    Part::Name(i) => q.push_str(NAMES[usize::from(i) % NAMES.len()]),
                    Part::Encoded(i) => {
                        for b in NAMES[usize::from(i) % NAMES.len()].bytes() {
                            q.push_str(&format!("%{b:02X}"));
                        }
                    }
                    Part::Text(t) => q.push_str(&t),
                    Part::Amp => q.push('&'),
                    Part::Eq => q.push('='),
                    Part::Plus => q.push('+'),
                    Part::Percent => q.push('%'),
                }
            }
            q
        }
    };
    let names = query_names(&query);
    assert_eq!(names, reference_names(&query), "query {query:?}");

    let registry = registry();
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let mut full = Vec::new();
        render_names(registry, format, &[], &mut full, usize::MAX).unwrap();
        let full = String::from_utf8(full).unwrap();
        let mut filtered = Vec::new();
        render_names(registry, format, &names, &mut filtered, usize::MAX).unwrap();
        let filtered = String::from_utf8(filtered).unwrap();
        let eof = format == Format::OpenMetrics;
        let body = if eof {
            full.strip_suffix("# EOF\n").unwrap()
        } else {
            full.as_str()
        };
        let blocks = blocks(body);
        assert_eq!(blocks.len(), NAMES.len(), "one block per family:\n{full}");
        let expected: String = if names.is_empty() {
            full.clone()
        } else {
            let mut e: String = NAMES
                .iter()
                .zip(&blocks)
                .filter(|(n, _)| names.iter().any(|m| m == *n))
                .map(|(_, b)| b.as_str())
                .collect();
            if eof {
                e.push_str("# EOF\n");
            }
            e
        };
        assert_eq!(filtered, expected, "{format:?}, names {names:?}");
    }
});
