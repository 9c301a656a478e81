//! Shared fixtures for Corral's benches: the label combinations every labelled bench
//! rotates through, and the raw baselines the libraries are compared with.

use std::sync::atomic::{AtomicU64, Ordering};

use corral_core::CachePadded;

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

/// The raw-atomic labelled baseline: not a library, a hand-written `match` on the two
/// strings into a static array of cache-padded atomics. No registry, no rendering.
#[derive(Debug)]
pub struct RawLabelled {
    cells: [CachePadded<AtomicU64>; 12],
}

impl RawLabelled {
    /// All cells at zero.
    pub const fn new() -> Self {
        Self {
            cells: [const { CachePadded::new(AtomicU64::new(0)) }; 12],
        }
    }

    /// Resolves `(method, status)` by hand and increments its cell.
    #[inline]
    pub fn inc(&self, method: &str, status: &str) {
        let m = match method {
            "GET" => 0,
            "POST" => 1,
            "PUT" => 2,
            _ => return,
        };
        let s = match status {
            "200" => 0,
            "404" => 1,
            "500" => 2,
            "503" => 3,
            _ => return,
        };
        self.cells[m * 4 + s].fetch_add(1, Ordering::Relaxed);
    }

    /// The total over all cells.
    pub fn total(&self) -> u64 {
        self.cells.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}

impl Default for RawLabelled {
    fn default() -> Self {
        Self::new()
    }
}
