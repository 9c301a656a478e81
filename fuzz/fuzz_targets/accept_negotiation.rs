//! `Accept` and `Accept-Encoding` negotiation against a reference ranking written here
//! from RFC 9110 §12.5 and the rules in `exporters/src/http/negotiate.rs`:
//!
//! - raw header bytes: the answer is always one of the offers (a known `Content-Type`) or
//!   an offered coding or identity, and never a panic;
//! - headers assembled from media ranges, codings, parameters and weights (valid and
//!   invalid): the answer is the one the reference prefers. The reference parses each
//!   element by the RFC grammar (`qvalue = "0" ["." 0*3DIGIT] / "1" ["." 0*3"0"]`), gives
//!   each offer the weight of its most specific matching range (exact type, then exact
//!   subtype, then more matched parameters; the first listed among equals), and picks the
//!   highest weight above zero, the first offer among equals, the first offer when none.
//!
//! The offers are the server's own, [`FORMATS`] (both text formats and the Prometheus
//! protobuf exposition with its two parameters), in their order or reversed.

#![no_main]

use arbitrary::Arbitrary;
use corral_core::encode::Format;
use corral_exporters::http::negotiate::{Coding, FORMATS, Offer, negotiate, negotiate_coding};
use libfuzzer_sys::fuzz_target;

const KINDS: &[&str] = &[
    "text",
    "application",
    "*",
    "TEXT",
    "Application",
    "image",
    "",
    "te xt",
];
const SUBTYPES: &[&str] = &[
    "plain",
    "openmetrics-text",
    "*",
    "PLAIN",
    "OpenMetrics-Text",
    "json",
    "",
    "vnd.google.protobuf",
];
const PARAMS: &[&str] = &[
    "version=0.0.4",
    "version=1.0.0",
    "version=0.0.1",
    "version=\"1.0.0\"",
    "VERSION=0.0.4",
    "charset=utf-8",
    "charset=UTF-8",
    "charset=latin1",
    "escaping=allow-utf-8",
    "escaping=underscores",
    "proto=io.prometheus.client.MetricFamily",
    "encoding=delimited",
    "foo=bar",
    "novalue",
    "",
];
const QS: &[&str] = &[
    "1", "1.0", "1.000", "1.001", "0", "0.0", "0.", "0.5", "0.50", "0.500", "0.5000", "0.1",
    "0.001", "0.999", "2", "-0.5", ".5", "0.5x", "", " 0.5", "1.",
];
const CODINGS: &[&str] = &[
    "gzip", "GZIP", "zstd", "Zstd", "identity", "*", "br", "deflate", "", "gz ip", "x-gzip",
];

#[derive(Arbitrary, Debug)]
struct Range {
    kind: u8,
    subtype: u8,
    params: Vec<u8>,
    q: Option<u8>,
    space: bool,
}

#[derive(Arbitrary, Debug)]
struct Element {
    coding: u8,
    q: Option<u8>,
    extra: Option<u8>,
}

#[derive(Arbitrary, Debug)]
enum Input {
    Raw {
        accept: Option<String>,
        accept_encoding: Option<String>,
        offered: Vec<bool>,
    },
    Built {
        ranges: Vec<Range>,
        elements: Vec<Element>,
        offered: Vec<bool>,
        swap_offers: bool,
    },
}

fn pick<'a>(list: &[&'a str], i: u8) -> &'a str {
    list[usize::from(i) % list.len()]
}

/// The RFC 9110 `qvalue`, in thousandths.
fn reference_q(text: &str) -> Option<u16> {
    let bytes = text.as_bytes();
    let (first, rest) = bytes.split_first()?;
    let fraction = match rest {
        [] => &[][..],
        [b'.', digits @ ..] if digits.len() <= 3 => digits,
        _ => return None,
    };
    if !fraction.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut value = 0u16;
    for (i, &d) in fraction.iter().enumerate() {
        value += u16::from(d - b'0') * [100u16, 10, 1][i];
    }
    match first {
        b'0' => Some(value),
        b'1' if value == 0 => Some(1000),
        _ => None,
    }
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

struct ParsedRange {
    kind: String,
    subtype: String,
    params: Vec<(String, String)>,
    q: u16,
}

fn parse_range(text: &str) -> Option<ParsedRange> {
    let mut parts = text.split(';');
    let media = parts.next()?.trim();
    let (kind, subtype) = media.split_once('/')?;
    let (kind, subtype) = (kind.trim(), subtype.trim());
    if !is_token(kind) || !is_token(subtype) || (kind == "*" && subtype != "*") {
        return None;
    }
    let mut q = 1000;
    let mut params = Vec::new();
    for param in parts {
        if param.trim().is_empty() {
            continue;
        }
        let (name, value) = param.split_once('=')?;
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        if name == "q" {
            q = reference_q(value)?;
        } else {
            params.push((name, value.trim_matches('"').to_owned()));
        }
    }
    Some(ParsedRange {
        kind: kind.to_owned(),
        subtype: subtype.to_owned(),
        params,
        q,
    })
}

/// The weight the reference gives `offer` under `ranges`: `None` when nothing matches.
fn weight<T>(ranges: &[ParsedRange], offer: &Offer<T>) -> Option<u16> {
    let (kind, subtype) = offer.media_type.split_once('/').unwrap();
    let mut best: Option<((bool, bool, usize), u16)> = None;
    'ranges: for range in ranges {
        let exact_kind = range.kind.eq_ignore_ascii_case(kind);
        let exact_subtype = range.subtype.eq_ignore_ascii_case(subtype);
        if !(exact_kind || range.kind == "*") || !(exact_subtype || range.subtype == "*") {
            continue;
        }
        let mut matched = 0;
        for (name, value) in &range.params {
            match name.as_str() {
                "charset" if value.eq_ignore_ascii_case("utf-8") => {}
                "charset" => continue 'ranges,
                "escaping" => {}
                _ => match offer.params.iter().find(|(n, _)| n == name) {
                    Some((_, v)) if v == value => matched += 1,
                    _ => continue 'ranges,
                },
            }
        }
        let specificity = (exact_kind, exact_subtype, matched);
        if best.is_none_or(|(s, _)| specificity > s) {
            best = Some((specificity, range.q));
        }
    }
    best.map(|(_, q)| q)
}

fn reference_format<'a, T>(accept: Option<&str>, offers: &'a [Offer<T>]) -> &'a Offer<T> {
    let Some(accept) = accept else {
        return &offers[0];
    };
    let ranges: Vec<ParsedRange> = accept.split(',').filter_map(parse_range).collect();
    let mut best: Option<(usize, u16)> = None;
    for (i, offer) in offers.iter().enumerate() {
        if let Some(q) = weight(&ranges, offer).filter(|&q| q > 0)
            && best.is_none_or(|(_, b)| q > b)
        {
            best = Some((i, q));
        }
    }
    &offers[best.map_or(0, |(i, _)| i)]
}

fn token_of(coding: Coding) -> &'static str {
    match coding {
        Coding::Identity => "identity",
        Coding::Gzip => "gzip",
        Coding::Zstd => "zstd",
    }
}

fn reference_coding(header: Option<&str>, offered: &[Coding]) -> Coding {
    let Some(header) = header else {
        return Coding::Identity;
    };
    // (token, q) of each element that parses, in order.
    let mut elements: Vec<(String, u16)> = Vec::new();
    for item in header.split(',') {
        let mut parts = item.split(';');
        let token = parts.next().unwrap_or("").trim();
        if !is_token(token) {
            continue;
        }
        let mut q = Some(1000);
        for param in parts {
            if let Some((name, value)) = param.split_once('=')
                && name.trim().eq_ignore_ascii_case("q")
            {
                q = reference_q(value.trim());
            }
        }
        if let Some(q) = q {
            elements.push((token.to_ascii_lowercase(), q));
        }
    }
    let star = elements
        .iter()
        .rev()
        .find(|(t, _)| t == "*")
        .map(|&(_, q)| q);
    let mut best: Option<(Coding, u16)> = None;
    for &coding in offered {
        let q = elements
            .iter()
            .find(|(t, _)| t == token_of(coding))
            .map(|&(_, q)| q)
            .or(star)
            .unwrap_or(0);
        if q > 0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((coding, q));
        }
    }
    best.map_or(Coding::Identity, |(c, _)| c)
}

fn offered_codings(flags: &[bool]) -> Vec<Coding> {
    let mut out = Vec::new();
    for (i, &on) in flags.iter().take(3).enumerate() {
        let coding = [Coding::Gzip, Coding::Zstd, Coding::Gzip][i];
        if on && !out.contains(&coding) {
            out.push(coding);
        }
    }
    if flags.get(3).copied().unwrap_or(false) {
        out.reverse();
    }
    out
}

fn check_raw(accept: Option<&str>, accept_encoding: Option<&str>, offered: &[Coding]) {
    let chosen = negotiate(accept, FORMATS);
    assert!(FORMATS.iter().any(|o| std::ptr::eq(o, chosen)));
    let coding = negotiate_coding(accept_encoding, offered);
    assert!(
        coding == Coding::Identity || offered.contains(&coding),
        "{coding:?} not offered"
    );
}

fuzz_target!(|input: Input| {
    match input {
        Input::Raw {
            accept,
            accept_encoding,
            offered,
        } => {
            check_raw(
                accept.as_deref(),
                accept_encoding.as_deref(),
                &offered_codings(&offered),
            );
        }
        Input::Built {
            ranges,
            elements,
            offered,
            swap_offers,
        } => {
            let mut accept = String::new();
            for (i, r) in ranges.iter().take(12).enumerate() {
                if i > 0 {
                    accept.push_str(if r.space { ", " } else { "," });
                }
                accept.push_str(pick(KINDS, r.kind));
                accept.push('/');
                accept.push_str(pick(SUBTYPES, r.subtype));
                for &p in r.params.iter().take(4) {
                    accept.push_str(if r.space { "; " } else { ";" });
                    accept.push_str(pick(PARAMS, p));
                }
                if let Some(q) = r.q {
                    accept.push_str(";q=");
                    accept.push_str(pick(QS, q));
                }
            }
            let mut encoding = String::new();
            for (i, e) in elements.iter().take(8).enumerate() {
                if i > 0 {
                    encoding.push_str(", ");
                }
                encoding.push_str(pick(CODINGS, e.coding));
                if let Some(q) = e.q {
                    encoding.push_str(";q=");
                    encoding.push_str(pick(QS, q));
                }
                if let Some(x) = e.extra {
                    encoding.push(';');
                    encoding.push_str(pick(PARAMS, x));
                }
            }
            let offered = offered_codings(&offered);
            let mut offers: Vec<Offer<Format>> = FORMATS.to_vec();
            if swap_offers {
                offers.reverse();
            }
            check_raw(Some(&accept), Some(&encoding), &offered);
            let chosen = negotiate(Some(&accept), &offers);
            let expected = reference_format(Some(&accept), &offers);
            assert_eq!(
                chosen.content_type, expected.content_type,
                "Accept: {accept}"
            );
            let coding = negotiate_coding(Some(&encoding), &offered);
            let expected = reference_coding(Some(&encoding), &offered);
            assert_eq!(
                coding, expected,
                "Accept-Encoding: {encoding} offered {offered:?}"
            );
        }
    }
});
