//! Heap bytes per series of the peer-shape render fixture (`corral_benches::shape`): 100
//! counter families of 100 series plus 100 histogram series (`--families 1000`: ten times
//! that), names and label values run-time `String`s, Corral's families defined through
//! corral-std's run-time families.
//!
//! `cargo run --release -p corral-benches --bin shape_memory [-- --families N]`
//!
//! The fixture's strings are made before counting starts, so no library is charged for
//! them. Each library builds the fixture in turn under a counting allocator
//! (`stats_alloc`), and its series are read back through its text output and counted.
//! Corral's tables are fixed-capacity slot arrays (128 slots per 100 series) that
//! corral-std allocates once per family and never frees, so its heap is its whole storage.

use std::alloc::System;
use std::hint::black_box;

use corral_benches::shape::{self, Fixture};
use corral_core::encode::Renderer;
use corral_std::encode::VecSink;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Bytes live and allocations made while `build` ran (what it returned is still alive).
fn heap<T>(build: impl FnOnce() -> T) -> (T, i64, usize) {
    let region = Region::new(GLOBAL);
    let built = black_box(build());
    let change = region.change();
    let live = change.bytes_allocated as i64 - change.bytes_deallocated as i64
        + change.bytes_reallocated as i64;
    (built, live, change.allocations + change.reallocations)
}

fn samples(text: &[u8]) -> usize {
    text.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && l[0] != b'#')
        .count()
}

fn main() {
    let mut families = 100;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--families" => {
                families = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--families N (a multiple of 100)");
            }
            other => panic!("unknown argument {other}; usage: shape_memory [--families N]"),
        }
    }
    let fixture = Fixture::new(families);
    let series = fixture.series();
    println!(
        "fixture: {families} counter families of 100 series + {families} histogram series = {series} series\n"
    );
    println!("| library | heap live bytes | allocations | heap bytes per series |");
    println!("|---|---:|---:|---:|");
    let row = |name: &str, live: i64, allocs: usize| {
        println!(
            "| {name} | {live} | {allocs} | {:.1} |",
            live as f64 / series as f64
        );
    };

    let (registry, live, allocs) = heap(|| shape::corral(&fixture));
    let mut out = Vec::new();
    Renderer::prometheus()
        .render(registry, &mut VecSink::new(&mut out))
        .unwrap();
    assert_eq!(samples(&out), fixture.samples(), "corral");
    row("corral (corral-std run-time families)", live, allocs);

    let (registry, live, allocs) = heap(|| shape::pc::registry(&fixture));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    assert_eq!(
        samples(text.as_bytes()),
        fixture.samples(),
        "prometheus-client"
    );
    row("prometheus-client", live, allocs);

    let (registry, live, allocs) = heap(|| shape::prometheus(&fixture));
    let mut out = Vec::new();
    prometheus::Encoder::encode(
        &prometheus::TextEncoder::new(),
        &registry.gather(),
        &mut out,
    )
    .unwrap();
    assert_eq!(samples(&out), fixture.samples(), "prometheus");
    row("prometheus", live, allocs);

    let (metrics, live, allocs) = heap(|| shape::ms::metrics(&fixture));
    let mut encoder = measured::text::BufferedTextEncoder::new();
    {
        use measured::MetricGroup as _;
        metrics.collect_group_into(&mut encoder).unwrap();
    }
    assert_eq!(samples(&encoder.finish()), fixture.samples(), "measured");
    row("measured", live, allocs);
}
