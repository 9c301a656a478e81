//! The peers' own usage shape (see `corral_benches::shape`), beside the same peers:
//!
//! - `shape_lookup`: a two-label counter family, label values `GET|POST|PUT|DELETE` ×
//!   `200|404|500` passed as `&'static str` on every call, rotating over the 12
//!   combinations; Corral as a corral-std run-time family (seeded `ahash` table) and as a
//!   `static` `DynamicFamily` (fixed-seed foldhash), prometheus `with_label_values`,
//!   prometheus-client `get_or_create`, metrics `counter!`, measured `inc`.
//! - `shape_render_10k` / `shape_render_100k`: 100 (1,000) counter families of 100 series
//!   plus 100 (1,000) histogram series, names and label values (`v0`..`v99`) run-time
//!   `String`s, Corral's families defined through corral-std's `Families`; each encoder
//!   writes into a buffer it reuses (Corral and prometheus a `Vec<u8>`, prometheus-client a
//!   `String`, measured its `BufferedTextEncoder`; metrics' render returns a `String`).
//!   `corral-walk-only` visits Corral's registry with a visitor that only adds the values
//!   up: the walk's share of `corral`'s time. `corral-discard` renders into a sink that
//!   keeps only a byte count: what writing the output into the `Vec` costs.
//!
//! `cargo bench -p corral-benches --bench peer_shape`

use std::hint::black_box;
use std::ops::ControlFlow;
use std::time::Duration;

use corral_benches::shape::{self, Fixture, LOOKUPS, SHAPE_METHODS, SHAPE_STATUSES};
use corral_benches::{next12, peers};
use corral_core::encode::{Full, Renderer, Sink};
use corral_core::{Counter, DynamicFamily, FamilyInfo, Registry, SeriesLabels, Value, Visitor};
use corral_std::encode::VecSink;
use corral_std::runtime::{Families, Spec};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter as PcCounter;
use prometheus_client::metrics::family::Family as PcFamily;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PcLabels {
    method: &'static str,
    status: &'static str,
}

fn shape_lookup(c: &mut Criterion) {
    static REGISTRY: Registry<4> = Registry::new();
    static STATIC: DynamicFamily<Counter, 2, 32> = DynamicFamily::new(["method", "status"]);
    let families = Families::new(&REGISTRY);
    let runtime = families
        .family::<Counter, 2, 32>(
            &Spec::new("shape_lookup_total", "Requests"),
            ["method", "status"],
        )
        .unwrap();

    let mut group = c.benchmark_group("shape_lookup");
    group.bench_function("corral-runtime", |b| {
        let mut i = 0;
        b.iter(|| {
            runtime.with_labels(black_box(LOOKUPS[i])).inc();
            i = next12(i);
        });
        assert!(runtime.len() <= 12 && runtime.overflow().get() == 0);
    });
    group.bench_function("corral-static", |b| {
        let mut i = 0;
        b.iter(|| {
            STATIC.with_labels(black_box(LOOKUPS[i])).inc();
            i = next12(i);
        });
        assert!(STATIC.len() <= 12 && STATIC.overflow().get() == 0);
    });

    // The same two families through `with_static_labels`: the values are `&'static str`,
    // so the family remembers them by address.
    group.bench_function("corral-runtime-remembered", |b| {
        let mut i = 0;
        b.iter(|| {
            runtime.with_static_labels(black_box(LOOKUPS[i])).inc();
            i = next12(i);
        });
        assert!(runtime.len() <= 12 && runtime.overflow().get() == 0);
    });
    group.bench_function("corral-static-remembered", |b| {
        let mut i = 0;
        b.iter(|| {
            STATIC.with_static_labels(black_box(LOOKUPS[i])).inc();
            i = next12(i);
        });
        assert!(STATIC.len() <= 12 && STATIC.overflow().get() == 0);
    });

    let prom = prometheus::IntCounterVec::new(
        prometheus::Opts::new("shape_lookup_total", "help"),
        &["method", "status"],
    )
    .unwrap();
    group.bench_function("prometheus", |b| {
        let mut i = 0;
        b.iter(|| {
            prom.with_label_values(black_box(&LOOKUPS[i])).inc();
            i = next12(i);
        })
    });

    let pc = PcFamily::<PcLabels, PcCounter>::default();
    group.bench_function("prometheus-client", |b| {
        let mut i = 0;
        b.iter(|| {
            let [method, status] = black_box(LOOKUPS[i]);
            pc.get_or_create(&PcLabels { method, status }).inc();
            i = next12(i);
        })
    });

    peers::metrics_handle();
    group.bench_function("metrics", |b| {
        let mut i = 0;
        b.iter(|| {
            let [m, s] = black_box(LOOKUPS[i]);
            metrics::counter!("shape_lookup_total", "method" => m, "status" => s).increment(1);
            i = next12(i);
        })
    });

    let measured =
        measured::CounterVec::with_label_set(peers::measured_labels::StringLabelSet::new(
            measured::lasso::Rodeo::from_iter(SHAPE_METHODS).into_reader(),
            measured::lasso::Rodeo::from_iter(SHAPE_STATUSES).into_reader(),
        ));
    group.bench_function("measured", |b| {
        let mut i = 0;
        b.iter(|| {
            let [method, status] = black_box(LOOKUPS[i]);
            measured.inc(peers::measured_labels::StringLabels { method, status });
            i = next12(i);
        })
    });
    group.finish();
}

/// Adds up every counter value and histogram count a visit passes it.
struct ValueSum(u64);

impl Visitor for ValueSum {
    fn series(
        &mut self,
        _: &FamilyInfo<'_>,
        _: &SeriesLabels<'_>,
        value: &Value<'_>,
    ) -> ControlFlow<()> {
        self.0 = self.0.wrapping_add(match value {
            Value::Counter(v) => *v,
            Value::Histogram(h) => h.count(),
            _ => 0,
        });
        ControlFlow::Continue(())
    }
}

/// A sink that counts the bytes it is given and drops them.
struct Discard(usize);

impl Sink for Discard {
    fn write(&mut self, bytes: &[u8]) -> Result<(), Full> {
        black_box(bytes);
        self.0 += bytes.len();
        Ok(())
    }

    fn len(&self) -> usize {
        self.0
    }

    fn truncate(&mut self, len: usize) {
        self.0 = self.0.min(len);
    }

    fn remaining(&self) -> Option<usize> {
        Some(usize::MAX - self.0)
    }
}

fn samples(text: &[u8]) -> usize {
    text.split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && l[0] != b'#')
        .count()
}

fn shape_render(c: &mut Criterion, families: usize, name: &str) {
    let fixture = Fixture::new(families);
    let corral = shape::corral(&fixture);
    let prom = shape::prometheus(&fixture);
    let pc = shape::pc::registry(&fixture);
    let metrics = shape::metrics(&fixture);
    let ms = shape::ms::metrics(&fixture);

    // Every encoder's output has every sample line.
    let mut bytes = Vec::new();
    Renderer::prometheus()
        .render(corral, &mut VecSink::new(&mut bytes))
        .unwrap();
    assert_eq!(samples(&bytes), fixture.samples(), "corral");
    let corral_len = bytes.len();
    let mut discard = Discard(0);
    Renderer::prometheus().render(corral, &mut discard).unwrap();
    assert_eq!(
        discard.0, corral_len,
        "corral-discard: the same bytes, dropped"
    );
    let mut prom_bytes = Vec::new();
    prometheus::Encoder::encode(
        &prometheus::TextEncoder::new(),
        &prom.gather(),
        &mut prom_bytes,
    )
    .unwrap();
    assert_eq!(samples(&prom_bytes), fixture.samples(), "prometheus");
    let mut string = String::new();
    prometheus_client::encoding::text::encode(&mut string, &pc).unwrap();
    assert_eq!(
        samples(string.as_bytes()),
        fixture.samples(),
        "prometheus-client"
    );
    assert_eq!(
        samples(metrics.render().as_bytes()),
        fixture.samples(),
        "metrics"
    );
    let mut ms_encoder = measured::text::BufferedTextEncoder::new();
    {
        use measured::MetricGroup as _;
        ms.collect_group_into(&mut ms_encoder).unwrap();
    }
    assert_eq!(samples(&ms_encoder.finish()), fixture.samples(), "measured");
    println!(
        "{name}: {} series, corral output {corral_len} bytes",
        fixture.series()
    );

    let mut group = c.benchmark_group(name);
    group.throughput(Throughput::Elements(fixture.series() as u64));
    if families > 100 {
        group.sample_size(10);
    }
    group.bench_function("corral", |b| {
        b.iter(|| {
            bytes.clear();
            Renderer::prometheus()
                .render(black_box(corral), &mut VecSink::new(&mut bytes))
                .unwrap();
        })
    });
    // Not a peer: the same visit with the text encoder replaced by a visitor that only
    // adds the values up, to tell the walk's share of `corral` from the formatting's.
    group.bench_function("corral-walk-only", |b| {
        b.iter(|| {
            let mut sum = ValueSum(0);
            black_box(corral).visit(&mut sum);
            black_box(sum.0)
        })
    });
    // Not a peer either: the same render into a sink that drops the bytes, to tell the
    // cost of writing them into a `Vec` larger than the caches from the rest.
    group.bench_function("corral-discard", |b| {
        b.iter(|| {
            let mut sink = Discard(0);
            Renderer::prometheus()
                .render(black_box(corral), &mut sink)
                .unwrap();
            black_box(sink.0)
        })
    });
    group.bench_function("prometheus", |b| {
        let encoder = prometheus::TextEncoder::new();
        b.iter(|| {
            prom_bytes.clear();
            prometheus::Encoder::encode(&encoder, &black_box(&prom).gather(), &mut prom_bytes)
                .unwrap();
        })
    });
    group.bench_function("prometheus-client", |b| {
        b.iter(|| {
            string.clear();
            prometheus_client::encoding::text::encode(&mut string, black_box(&pc)).unwrap();
        })
    });
    group.bench_function("metrics", |b| b.iter(|| black_box(&metrics).render()));
    group.bench_function("measured", |b| {
        use measured::MetricGroup as _;
        b.iter(|| {
            black_box(&ms).collect_group_into(&mut ms_encoder).unwrap();
            black_box(ms_encoder.finish());
        })
    });
    group.finish();
}

fn shape_render_10k(c: &mut Criterion) {
    shape_render(c, 100, "shape_render_10k");
}

fn shape_render_100k(c: &mut Criterion) {
    shape_render(c, 1000, "shape_render_100k");
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = shape_lookup, shape_render_10k, shape_render_100k
}
criterion_main!(benches);
