//! Shared fixtures for Corral's benches: the label combinations every labelled bench
//! rotates through, the values histograms observe, the raw baselines ([`raw`]) and the
//! set-up of each peer library ([`peers`]), so that the criterion benches and the
//! contention and memory binaries drive every library the same way.

pub mod peers;
pub mod raw;
pub mod shape;

pub use raw::RawLabelled;

/// HTTP methods of the labelled benches.
pub const METHODS: [&str; 3] = ["GET", "POST", "PUT"];
/// Status codes of the labelled benches.
pub const STATUSES: [&str; 4] = ["200", "404", "500", "503"];

/// The 12 `(method, status)` combinations, in the order the benches rotate through them.
pub const COMBINATIONS: [(&str, &str); 12] = {
    let mut out = [("", ""); 12];
    let mut i = 0;
    while i < 12 {
        out[i] = (METHODS[i / 4], STATUSES[i % 4]);
        i += 1;
    }
    out
};

corral_core::label_enum! {
    /// The methods as a closed label set.
    pub enum Method: "method" { Get = "GET", Post = "POST", Put = "PUT" }
}
corral_core::label_enum! {
    /// The statuses as a closed label set.
    pub enum Status: "status" { Ok = "200", NotFound = "404", Error = "500", Unavailable = "503" }
}

/// The 12 combinations as typed label sets, in the same order as [`COMBINATIONS`].
pub const TYPED_COMBINATIONS: [(Method, Status); 12] = {
    const M: [Method; 3] = [Method::Get, Method::Post, Method::Put];
    const S: [Status; 4] = [
        Status::Ok,
        Status::NotFound,
        Status::Error,
        Status::Unavailable,
    ];
    let mut out = [(Method::Get, Status::Ok); 12];
    let mut i = 0;
    while i < 12 {
        out[i] = (M[i / 4], S[i % 4]);
        i += 1;
    }
    out
};

/// The values every histogram bench observes, in this order, round and round: at least
/// one in each of the 14 latency buckets (`+Inf` included), so that no library profits
/// from a branch predictor that has learnt one bucket.
pub const OBSERVATIONS: [f64; 16] = [
    0.5, 1.5, 3.0, 7.0, 12.0, 30.0, 70.0, 120.0, 300.0, 700.0, 1200.0, 3000.0, 7000.0, 12000.0,
    42.0, 123.45,
];

/// The spec's latency bounds (`corral_core::buckets::LATENCY_MS`) as an array, for the
/// libraries that take one by value.
pub const LATENCY_BOUNDS: [f64; 13] = {
    let bounds = corral_core::buckets::LATENCY_MS;
    assert!(bounds.len() == 13);
    let mut out = [0.0; 13];
    let mut i = 0;
    while i < 13 {
        out[i] = bounds[i];
        i += 1;
    }
    out
};

/// Buckets of a latency histogram, `+Inf` included.
pub const LATENCY_BUCKETS: usize = 14;

/// Values of the `worker` label in the contention bench: one distinct value per thread.
pub const WORKERS: [&str; 64] = [
    "w00", "w01", "w02", "w03", "w04", "w05", "w06", "w07", "w08", "w09", "w10", "w11", "w12",
    "w13", "w14", "w15", "w16", "w17", "w18", "w19", "w20", "w21", "w22", "w23", "w24", "w25",
    "w26", "w27", "w28", "w29", "w30", "w31", "w32", "w33", "w34", "w35", "w36", "w37", "w38",
    "w39", "w40", "w41", "w42", "w43", "w44", "w45", "w46", "w47", "w48", "w49", "w50", "w51",
    "w52", "w53", "w54", "w55", "w56", "w57", "w58", "w59", "w60", "w61", "w62", "w63",
];

/// Steps a rotating index through `0..12`.
#[inline(always)]
pub fn next12(i: usize) -> usize {
    if i == 11 { 0 } else { i + 1 }
}

/// Steps a rotating index through `0..16`.
#[inline(always)]
pub fn next16(i: usize) -> usize {
    (i + 1) & 15
}

/// A flood label value, `agent-<n>`, formatted into a stack buffer (no allocation), as the
/// flood bench and its instruction-count workload use it.
#[derive(Debug)]
pub struct AgentValue {
    bytes: [u8; 32],
    len: usize,
}

impl AgentValue {
    /// `agent-<n>`.
    pub fn new(n: u64) -> Self {
        let mut bytes = [0u8; 32];
        bytes[..6].copy_from_slice(b"agent-");
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(n).as_bytes();
        bytes[6..6 + digits.len()].copy_from_slice(digits);
        Self {
            bytes,
            len: 6 + digits.len(),
        }
    }

    /// The value.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default()
    }
}
