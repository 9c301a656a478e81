//! Content negotiation as pure functions: `Accept` against a list of offered formats, and
//! `Accept-Encoding` against the offered codings. No HTTP types, so each is tested on
//! strings alone.
//!
//! ```
//! use corral_exporters::http::negotiate::{negotiate, Offer, TEXT_FORMATS};
//!
//! let prometheus_2_42 = "application/openmetrics-text;version=1.0.0,\
//!     application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
//! let chosen = negotiate(Some(prometheus_2_42), TEXT_FORMATS);
//! assert_eq!(chosen.content_type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
//!
//! // Missing, unknown or unparsable: the first offer (text 0.0.4).
//! assert_eq!(negotiate(None, TEXT_FORMATS).content_type, TEXT_FORMATS[0].content_type);
//! assert_eq!(negotiate(Some("application/json"), TEXT_FORMATS).content_type, TEXT_FORMATS[0].content_type);
//! # let _: &Offer<_> = chosen;
//! ```
//!
//! ## Rules
//!
//! - Each media range of `Accept` is `type/subtype` with parameters; `q` (0 to 1, default 1)
//!   is its weight. Ranges that do not parse are ignored, never an error.
//! - A range matches an offer when its type and subtype are equal (case-insensitive) or
//!   `*`, and each of its parameters other than `q` is one the offer has with the same
//!   value. `charset=utf-8` and `escaping=...` are accepted by every offer: the text is
//!   UTF-8, and every name Corral renders is already valid without escaping.
//! - An offer's weight is the `q` of the most specific range matching it (exact type
//!   beats `type/*` beats `*/*`; more matched parameters beat fewer), as RFC 9110 §12.5.1
//!   says.
//! - The offer with the highest weight above 0 wins; equal weights go to the offer listed
//!   first. When no offer has a weight above 0 the first offer is the answer: a scrape
//!   always gets a body with a known `Content-Type`, never a 406.
//!
//! [`FORMATS`], what the server offers, adds the Prometheus protobuf exposition to the text
//! formats: `application/vnd.google.protobuf` with `proto=io.prometheus.client.MetricFamily`
//! and `encoding=delimited`, which Prometheus asks for first when native histograms are
//! enabled.
//!
//! ```
//! use corral_core::encode::Format;
//! use corral_exporters::http::negotiate::{negotiate, FORMATS};
//!
//! let native_histograms = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;\
//!     encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,\
//!     application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
//! assert_eq!(negotiate(Some(native_histograms), FORMATS).value, Format::Protobuf);
//! assert_eq!(negotiate(None, FORMATS).value, Format::Prometheus);
//! ```

use corral_core::encode::{
    Format, OPENMETRICS_CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE, PROTOBUF_CONTENT_TYPE,
};

/// One format the server can answer with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Offer<T> {
    /// `type/subtype`, lower case.
    pub media_type: &'static str,
    /// The parameters that identify the format (`version=...`), lower-case names.
    pub params: &'static [(&'static str, &'static str)],
    /// The exact `Content-Type` answered with.
    pub content_type: &'static str,
    /// What the caller renders for it.
    pub value: T,
}

/// The text formats, in the order of preference on equal weights: Prometheus text 0.0.4
/// (also the answer to a missing or unknown `Accept`), then OpenMetrics 1.0.0.
pub const TEXT_FORMATS: &[Offer<Format>] = &[
    Offer {
        media_type: "text/plain",
        params: &[("version", "0.0.4")],
        content_type: PROMETHEUS_CONTENT_TYPE,
        value: Format::Prometheus,
    },
    Offer {
        media_type: "application/openmetrics-text",
        params: &[("version", "1.0.0")],
        content_type: OPENMETRICS_CONTENT_TYPE,
        value: Format::OpenMetrics,
    },
];

/// Every format the server answers with: [`TEXT_FORMATS`], then the Prometheus protobuf
/// exposition (only a scraper that names it gets it; `*/*` alone still gets text 0.0.4).
pub const FORMATS: &[Offer<Format>] = &[
    TEXT_FORMATS[0],
    TEXT_FORMATS[1],
    Offer {
        media_type: "application/vnd.google.protobuf",
        params: &[
            ("proto", "io.prometheus.client.MetricFamily"),
            ("encoding", "delimited"),
        ],
        content_type: PROTOBUF_CONTENT_TYPE,
        value: Format::Protobuf,
    },
];

/// Parameters every offer accepts whatever their value (see the module docs), besides
/// `charset`, which must be `utf-8`.
const ALWAYS_ACCEPTED: &[&str] = &["escaping"];

/// Picks the offer for an `Accept` header value (see the module docs for the rules).
///
/// # Panics
///
/// If `offers` is empty.
pub fn negotiate<'a, T>(accept: Option<&str>, offers: &'a [Offer<T>]) -> &'a Offer<T> {
    assert!(!offers.is_empty(), "negotiate needs at least one offer");
    let Some(accept) = accept else {
        return &offers[0];
    };
    let mut best: Option<(usize, u16)> = None;
    for (index, offer) in offers.iter().enumerate() {
        let mut chosen: Option<(Specificity, u16)> = None;
        for range in accept.split(',') {
            let Some(range) = MediaRange::parse(range) else {
                continue;
            };
            let Some(specificity) = range.matches(offer) else {
                continue;
            };
            if chosen.is_none_or(|(s, _)| specificity > s) {
                chosen = Some((specificity, range.q));
            }
        }
        if let Some((_, q)) = chosen
            && q > 0
            && best.is_none_or(|(_, best_q)| q > best_q)
        {
            best = Some((index, q));
        }
    }
    &offers[best.map_or(0, |(index, _)| index)]
}

/// How closely a range matched an offer: exact type, exact subtype, parameters matched.
type Specificity = (bool, bool, usize);

/// One parsed media range of an `Accept` value, weight in thousandths.
struct MediaRange<'h> {
    kind: &'h str,
    subtype: &'h str,
    params: &'h str,
    q: u16,
}

impl<'h> MediaRange<'h> {
    fn parse(text: &'h str) -> Option<Self> {
        let (media, params) = text.split_once(';').unwrap_or((text, ""));
        let (kind, subtype) = media.trim().split_once('/')?;
        let (kind, subtype) = (kind.trim(), subtype.trim());
        if !is_token(kind) || !is_token(subtype) || (kind == "*" && subtype != "*") {
            return None;
        }
        let mut q = 1000;
        for param in params.split(';').filter(|p| !p.trim().is_empty()) {
            let (name, value) = param.split_once('=')?;
            if name.trim().eq_ignore_ascii_case("q") {
                q = parse_q(value.trim())?;
            }
        }
        Some(Self {
            kind,
            subtype,
            params,
            q,
        })
    }

    fn matches<T>(&self, offer: &Offer<T>) -> Option<Specificity> {
        let (kind, subtype) = offer.media_type.split_once('/')?;
        let exact_kind = self.kind.eq_ignore_ascii_case(kind);
        let exact_subtype = self.subtype.eq_ignore_ascii_case(subtype);
        if !(exact_kind || self.kind == "*") || !(exact_subtype || self.subtype == "*") {
            return None;
        }
        let mut matched = 0;
        for param in self.params.split(';').filter(|p| !p.trim().is_empty()) {
            let (name, value) = param.split_once('=')?;
            let name = name.trim();
            let value = value.trim().trim_matches('"');
            if name.eq_ignore_ascii_case("q") {
                continue;
            }
            if name.eq_ignore_ascii_case("charset") {
                if !value.eq_ignore_ascii_case("utf-8") {
                    return None;
                }
                continue;
            }
            if ALWAYS_ACCEPTED.iter().any(|a| name.eq_ignore_ascii_case(a)) {
                continue;
            }
            let offered = offer
                .params
                .iter()
                .find(|(n, _)| name.eq_ignore_ascii_case(n))?;
            if offered.1 != value {
                return None;
            }
            matched += 1;
        }
        Some((exact_kind, exact_subtype, matched))
    }
}

fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// `q` as thousandths: `0`, `1`, `0.5`, `0.125`, `1.000`; anything else is not a weight.
fn parse_q(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut thousandths = 0u16;
    for (i, digit) in fraction.bytes().enumerate() {
        thousandths += u16::from(digit - b'0') * [100, 10, 1][i];
    }
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// A response body coding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    /// The body as rendered.
    Identity,
    /// `gzip`.
    Gzip,
    /// `zstd` (only offered with the `zstd` feature).
    Zstd,
}

impl Coding {
    /// The `Content-Encoding` value, `None` for identity.
    pub const fn header_value(self) -> Option<&'static str> {
        match self {
            Coding::Identity => None,
            Coding::Gzip => Some("gzip"),
            Coding::Zstd => Some("zstd"),
        }
    }

    fn token(self) -> &'static str {
        match self {
            Coding::Identity => "identity",
            Coding::Gzip => "gzip",
            Coding::Zstd => "zstd",
        }
    }
}

/// The codings this build offers, in the order of preference on equal weights: gzip
/// (the one Prometheus decodes), then zstd when the `zstd` feature is on.
pub const CODINGS: &[Coding] = &[
    Coding::Gzip,
    #[cfg(feature = "zstd")]
    Coding::Zstd,
];

/// Picks the coding for an `Accept-Encoding` value among `offered`: the offered coding with
/// the highest weight above 0 (`*` stands for every coding not named; equal weights go to
/// the one listed first), else identity. Identity is the answer to a missing or empty
/// header too. (A client refusing identity with `identity;q=0` still gets identity when
/// nothing else is acceptable: a body it may not like beats none.)
///
/// ```
/// use corral_exporters::http::negotiate::{Coding, negotiate_coding};
///
/// let offered = [Coding::Gzip, Coding::Zstd];
/// assert_eq!(negotiate_coding(Some("gzip"), &offered), Coding::Gzip);
/// assert_eq!(negotiate_coding(Some("zstd, gzip;q=0.5"), &offered), Coding::Zstd);
/// assert_eq!(negotiate_coding(Some("br"), &offered), Coding::Identity);
/// assert_eq!(negotiate_coding(None, &offered), Coding::Identity);
/// ```
pub fn negotiate_coding(accept_encoding: Option<&str>, offered: &[Coding]) -> Coding {
    let Some(header) = accept_encoding else {
        return Coding::Identity;
    };
    let mut star: Option<u16> = None;
    let mut named: Vec<(&str, u16)> = Vec::new();
    for item in header.split(',') {
        let (token, params) = item.split_once(';').unwrap_or((item, ""));
        let token = token.trim();
        if token.is_empty() || !is_token(token) {
            continue;
        }
        let mut q = Some(1000);
        for param in params.split(';').filter(|p| !p.trim().is_empty()) {
            match param.split_once('=') {
                Some((name, value)) if name.trim().eq_ignore_ascii_case("q") => {
                    q = parse_q(value.trim());
                }
                _ => {}
            }
        }
        let Some(q) = q else { continue };
        if token == "*" {
            star = Some(q);
        } else {
            named.push((token, q));
        }
    }
    let mut best: Option<(Coding, u16)> = None;
    for &coding in offered {
        let q = named
            .iter()
            .find(|(t, _)| t.eq_ignore_ascii_case(coding.token()))
            .map(|&(_, q)| q)
            .or(star)
            .unwrap_or(0);
        if q > 0 && best.is_none_or(|(_, b)| q > b) {
            best = Some((coding, q));
        }
    }
    best.map_or(Coding::Identity, |(coding, _)| coding)
}
