//! Native-histogram recording (standalone and in a dynamic family) and the protobuf render
//! into a fixed buffer allocate nothing; a counting global allocator proves it.

mod common;

use common::{CountingAllocator, allocations_in};
use corral_core::encode::{self, SliceSink};
use corral_core::{
    Desc, DynamicFamily, NativeHistogram, NativeHistogramCells, NativeHistogramConfig, Registry,
    RegistryConfig,
};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

static REGISTRY: Registry<4> =
    Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));
static NATIVE: NativeHistogram<128, 4> =
    NativeHistogram::new(NativeHistogramConfig::new(1e-3).with_classic(&[0.1, 1.0, 10.0]));
static BY_ROUTE: DynamicFamily<NativeHistogramCells<128, 0, 4>, 1, 8> =
    DynamicFamily::native(["route"], NativeHistogramConfig::new(1e-3));

#[test]
fn recording_and_protobuf_render_allocate_nothing() {
    REGISTRY
        .register(Desc::new("native_seconds", "N"), &NATIVE)
        .unwrap();
    REGISTRY
        .register(Desc::new("route_seconds", "R"), &BY_ROUTE)
        .unwrap();
    let values = [
        0.0,
        5e-4,
        0.01,
        0.5,
        2.0,
        -3.0,
        1e12,
        f64::INFINITY,
        f64::NAN,
    ];
    let (allocations, ()) = allocations_in(|| {
        for v in values {
            NATIVE.observe(v);
            BY_ROUTE.with_labels(["/a"]).observe(v);
            BY_ROUTE.with_labels(["/b"]).observe(v * 2.0);
        }
    });
    assert_eq!(allocations, 0, "recording allocated");
    // NaN is ignored; everything else is counted, the infinity and 1e12 beyond the row.
    assert_eq!(NATIVE.count(), 8);
    assert_eq!(NATIVE.overflow(), 2);

    let mut buf = [0u8; 4096];
    let (allocations, written) = allocations_in(|| {
        let mut sink = SliceSink::new(&mut buf);
        encode::protobuf(&REGISTRY, &mut sink).unwrap();
        sink.as_bytes().len()
    });
    assert_eq!(allocations, 0, "the protobuf render allocated");
    assert!(written > 100, "{written} bytes");
}
