//! Padding and memory per series, asserted: slot stride, alignment, and the bytes each
//! series of each metric type costs on this target.

use std::mem::{align_of, size_of};

use corral_core::{
    CACHE_LINE, CachePadded, Counter, DynamicFamily, Gauge, HistogramCells, ShardedCounter,
    TypedFamily,
};

/// Bytes one more series adds: the difference between two table sizes, divided.
fn dynamic_stride<const SMALL: usize, const LARGE: usize, A, B>() -> usize {
    (size_of::<B>() - size_of::<A>()) / (LARGE - SMALL)
}

#[test]
fn cache_line_matches_the_target() {
    if cfg!(any(target_arch = "x86_64", target_arch = "aarch64")) {
        assert_eq!(CACHE_LINE, 128);
    }
    assert_eq!(align_of::<CachePadded<u8>>(), CACHE_LINE);
    assert_eq!(size_of::<CachePadded<Counter>>(), CACHE_LINE);
}

#[test]
fn padded_slots_do_not_share_a_cache_line() {
    static STRIPES: ShardedCounter<4> = ShardedCounter::new();
    assert_eq!(size_of::<ShardedCounter<4>>(), 4 * CACHE_LINE);
    assert_eq!(std::ptr::from_ref(&STRIPES).addr() % CACHE_LINE, 0);

    corral_core::label_enum! { enum Two: "two" { A = "a", B = "b" } }
    static TYPED: TypedFamily<Counter, Two, 2> = TypedFamily::new();
    let a = std::ptr::from_ref(TYPED.with_labels(Two::A)).addr();
    let b = std::ptr::from_ref(TYPED.with_labels(Two::B)).addr();
    assert_eq!(b - a, CACHE_LINE, "typed series stride");
    assert_eq!(a % CACHE_LINE, 0, "typed series alignment");

    static DYNAMIC: DynamicFamily<Counter, 1, 64> = DynamicFamily::new(["k"]);
    let addresses: Vec<usize> = (0..20)
        .map(|i| std::ptr::from_ref(DYNAMIC.with_labels([&format!("v{i}")])).addr())
        .collect();
    for address in &addresses {
        assert_eq!(
            address % CACHE_LINE,
            0,
            "every dynamic series starts a cache line"
        );
    }
    for (i, a) in addresses.iter().enumerate() {
        for b in &addresses[i + 1..] {
            assert!(
                a.abs_diff(*b) >= CACHE_LINE,
                "two series share a cache line"
            );
        }
    }
}

#[test]
#[cfg(target_arch = "x86_64")]
fn bytes_per_series_on_x86_64() {
    // A counter slot with up to 112 bytes of label values (two short labels use ~8):
    // exactly one 128-byte line, padding and label storage included, plus its one-byte
    // probe hint and its byte of the presence filter. At the three-quarter load bound a
    // series costs 4/3 of a slot.
    let counter = dynamic_stride::<
        1024,
        2048,
        DynamicFamily<Counter, 2, 1024>,
        DynamicFamily<Counter, 2, 2048>,
    >();
    assert_eq!(counter, 130);
    let gauge =
        dynamic_stride::<1024, 2048, DynamicFamily<Gauge, 2, 1024>, DynamicFamily<Gauge, 2, 2048>>(
        );
    assert_eq!(gauge, 130);
    // A typed counter series stores no labels at all: one padded counter.
    let typed = size_of::<CachePadded<Counter>>();
    assert_eq!(typed, 128);
    // A 13-bound histogram series: 14 bucket counts + sum + state + 112 key bytes -> 2 lines.
    let histogram = dynamic_stride::<
        256,
        512,
        DynamicFamily<HistogramCells<14>, 2, 256>,
        DynamicFamily<HistogramCells<14>, 2, 512>,
    >();
    assert_eq!(histogram, 258);
    // A smaller key buffer shrinks nothing below the line: padding rounds up.
    let small_key = dynamic_stride::<
        1024,
        2048,
        DynamicFamily<Counter, 2, 1024, 16>,
        DynamicFamily<Counter, 2, 2048, 16>,
    >();
    assert_eq!(small_key, 130);
}
