//! Runs N dynamic two-label lookups plus increments (default 1,000,000), rotating through
//! the 12 bench combinations: a fixed workload for instruction counts, which stay stable
//! on a busy machine where wall-clock timings do not.
//!
//! ```text
//! cargo build --profile bench -p corral-benches --example lookup_profile
//! valgrind --tool=callgrind target/release/examples/lookup_profile 1000000
//! ```

use std::hint::black_box;

use corral_benches::COMBINATIONS;
use corral_core::{Counter, DynamicFamily};

static DYNAMIC: DynamicFamily<Counter, 2, 32> = DynamicFamily::new(["method", "status"]);

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let mut i = 0;
    for _ in 0..n {
        let (method, status) = black_box(COMBINATIONS[i]);
        DYNAMIC.with_labels([method, status]).inc();
        i = if i == 11 { 0 } else { i + 1 };
    }
    println!("{} series, {} increments", DYNAMIC.len(), n);
}
