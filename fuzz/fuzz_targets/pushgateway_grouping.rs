//! Pushgateway grouping keys: any job name and label values encode to a URL path the
//! gateway accepts, and decoding that path the way the Pushgateway does gives the job and
//! labels back.
//!
//! The decoder here follows the Pushgateway's documented URL scheme:
//! `/metrics/job/<job>{/<label>/<value>}`, where a name ending in `@base64` carries its
//! value in base64url (padding optional; `=` alone is the empty value) and any other
//! value is taken as it stands. Checked too: every byte of the path is an unreserved URL
//! character (letters, digits, `-._~`) or `/`, `=`, `@`, so no proxy or router rewrites
//! it; no segment is empty; and `group_url` refuses exactly the inputs it documents (an
//! empty job, an invalid, reserved (`__`), repeated or `job` label name).

#![no_main]

use arbitrary::Arbitrary;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use corral_exporters::push::Pushgateway;
use libfuzzer_sys::fuzz_target;

const BASE: &str = "http://127.0.0.1:9091/prefix";
const NAMES: &[&str] = &[
    "instance",
    "zone",
    "a",
    "_x",
    "job",
    "__meta",
    "9lives",
    "with-dash",
    "",
    "é",
];
const VALUES: &[&str] = &[
    "", "x", "a/b", "=", "==", "a b", "héllo", "..", ".", "~", "%2F", "@base64", "a\nb", "-",
];

#[derive(Arbitrary, Debug)]
enum Text {
    Pool(u8),
    Any(String),
}

impl Text {
    fn get<'a>(&'a self, pool: &'a [&'a str]) -> &'a str {
        match self {
            Text::Pool(i) => pool[usize::from(*i) % pool.len()],
            Text::Any(s) => s,
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    job: Text,
    grouping: Vec<(Text, Text)>,
}

fn valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z' | b'A'..=b'Z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Decodes one `<name>/<value>` pair as the Pushgateway does.
fn decode(name: &str, value: &str) -> (String, String) {
    match name.strip_suffix("@base64") {
        Some(name) => {
            let bytes = URL_SAFE_NO_PAD
                .decode(value.trim_end_matches('='))
                .unwrap_or_else(|e| panic!("{name}: {value:?} is not base64url: {e}"));
            let text = String::from_utf8(bytes).expect("the gateway wants UTF-8 label values");
            (name.to_owned(), text)
        }
        None => (name.to_owned(), value.to_owned()),
    }
}

fuzz_target!(|input: Input| {
    let gateway = Pushgateway::new(BASE).expect("a valid base URL");
    let job = input.job.get(VALUES);
    let grouping: Vec<(&str, &str)> = input
        .grouping
        .iter()
        .take(8)
        .map(|(n, v)| (n.get(NAMES), v.get(VALUES)))
        .collect();

    let refused = job.is_empty()
        || grouping.iter().enumerate().any(|(i, &(name, _))| {
            !valid_label_name(name)
                || name.starts_with("__")
                || name == "job"
                || grouping[..i].iter().any(|&(n, _)| n == name)
        });
    let url = match gateway.group_url(job, &grouping) {
        Ok(url) => {
            assert!(!refused, "accepted {job:?} {grouping:?}");
            url
        }
        Err(error) => {
            assert!(refused, "refused {job:?} {grouping:?}: {error}");
            return;
        }
    };
    let path = url.strip_prefix(BASE).expect("the URL keeps the base");
    let path = path
        .strip_prefix("/metrics/")
        .unwrap_or_else(|| panic!("{url}"));
    assert!(
        path.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~/=@".contains(&b)),
        "a byte that needs escaping in {url:?}"
    );
    let segments: Vec<&str> = path.split('/').collect();
    assert!(
        segments.iter().all(|s| !s.is_empty()),
        "an empty segment in {url:?}"
    );
    assert!(
        segments.iter().all(|s| *s != "." && *s != ".."),
        "a dot segment a router would resolve in {url:?}"
    );
    assert_eq!(segments.len() % 2, 0, "pairs in {url:?}");
    let pairs: Vec<(String, String)> = segments
        .chunks(2)
        .map(|pair| decode(pair[0], pair[1]))
        .collect();
    assert_eq!(
        pairs[0],
        ("job".to_owned(), job.to_owned()),
        "job in {url:?}"
    );
    let back: Vec<(&str, &str)> = pairs[1..]
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(back, grouping, "grouping in {url:?}");
});
