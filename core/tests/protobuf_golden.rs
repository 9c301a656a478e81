//! Golden bytes of the Prometheus protobuf exposition, one family per metric type, written
//! out field by field from `metrics.proto`; plus the native histogram's text rendering,
//! chunked protobuf renders, and the sink without `written_mut`.

use core::ops::ControlFlow;

use corral_core::encode::{self, Full, Progress, Renderer, Sink, SliceSink};
use corral_core::{
    Collect, Counter, CounterWithExemplar, Desc, DynamicFamily, Exemplar, FloatCounter, Gauge,
    Histogram, HistogramWithExemplars, IntGauge, MetricKind, NativeHistogram,
    NativeHistogramConfig, Registry, RegistryConfig, SeriesLabels, SeriesSink, SummaryValue, Value,
};

/// `key` of a field: number and wire type.
fn key(field: u8, wire: u8) -> u8 {
    field << 3 | wire
}

/// A length-delimited field whose content is `content` (lengths here are all below 128).
fn msg(field: u8, content: &[u8]) -> Vec<u8> {
    assert!(content.len() < 128);
    let mut out = vec![key(field, 2), content.len() as u8];
    out.extend_from_slice(content);
    out
}

fn string(field: u8, s: &str) -> Vec<u8> {
    msg(field, s.as_bytes())
}

fn double(field: u8, v: f64) -> Vec<u8> {
    let mut out = vec![key(field, 1)];
    out.extend_from_slice(&v.to_le_bytes());
    out
}

/// A varint field with a one-byte value.
fn small(field: u8, v: u8) -> Vec<u8> {
    assert!(v < 128);
    vec![key(field, 0), v]
}

fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

fn label(name: &str, value: &str) -> Vec<u8> {
    msg(1, &cat(&[string(1, name), string(2, value)]))
}

/// A length-delimited `MetricFamily` with `metrics`.
fn family(name: &str, help: &str, kind: u8, metrics: &[Vec<u8>]) -> Vec<u8> {
    let mut content = cat(&[string(1, name), string(2, help), small(3, kind)]);
    for m in metrics {
        content.extend(msg(4, m));
    }
    assert!(content.len() < 128, "{name}: use a two-byte length");
    let mut out = vec![content.len() as u8];
    out.extend(content);
    out
}

fn render(registry: &Registry<16>) -> Vec<u8> {
    let mut buf = vec![0u8; 8192];
    let mut sink = SliceSink::new(&mut buf);
    encode::protobuf(registry, &mut sink).unwrap();
    sink.as_bytes().to_vec()
}

fn registry() -> &'static Registry<16> {
    Box::leak(Box::new(Registry::with_config(
        RegistryConfig::DEFAULT.with_self_metrics(false),
    )))
}

#[test]
fn counters_and_gauges() {
    let r = registry();
    let c: &'static Counter = Box::leak(Box::new(Counter::new()));
    r.register(Desc::new("c_total", "C"), c).unwrap();
    c.inc_by(300);
    let f: &'static FloatCounter = Box::leak(Box::new(FloatCounter::new()));
    r.register(Desc::new("f_total", "F"), f).unwrap();
    f.inc_by(0.5);
    let g: &'static Gauge = Box::leak(Box::new(Gauge::new()));
    r.register(Desc::new("g", "G"), g).unwrap();
    g.set(-1.5);
    let i: &'static IntGauge = Box::leak(Box::new(IntGauge::new()));
    r.register(Desc::new("i", ""), i).unwrap();
    i.set(7);
    let d: &'static DynamicFamily<Counter, 1, 4> =
        Box::leak(Box::new(DynamicFamily::new(["path"])));
    r.register(Desc::new("d_total", "D"), d).unwrap();
    d.with_labels(["/a"]).inc();

    let counter = |v: f64| msg(3, &double(1, v));
    let gauge = |v: f64| msg(2, &double(1, v));
    let mut i_family = cat(&[string(1, "i"), small(3, 1), msg(4, &gauge(7.0))]);
    i_family.insert(0, i_family.len() as u8);
    let expected = cat(&[
        family("c_total", "C", 0, &[counter(300.0)]),
        family("f_total", "F", 0, &[counter(0.5)]),
        family("g", "G", 1, &[gauge(-1.5)]),
        // An empty help is not written.
        i_family,
        family(
            "d_total",
            "D",
            0,
            &[cat(&[label("path", "/a"), counter(1.0)])],
        ),
    ]);
    assert_eq!(render(r), expected);
}

#[test]
fn counter_with_exemplar() {
    let r = registry();
    let c: &'static CounterWithExemplar = Box::leak(Box::new(CounterWithExemplar::new()));
    r.register(Desc::new("x_total", "X"), c).unwrap();
    c.inc_by_with_exemplar(
        2,
        &Exemplar::new(&[("trace_id", "ab")]).with_timestamp_unix_nanos(1_500_000_000_250_000_000),
    )
    .unwrap();
    // Timestamp { seconds: 1500000000, nanos: 250000000 }.
    let seconds = 1_500_000_000u64;
    let nanos = 250_000_000u64;
    let varint = |mut v: u64| {
        let mut out = Vec::new();
        while v >= 0x80 {
            out.push(v as u8 | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
        out
    };
    let timestamp = cat(&[
        vec![key(1, 0)],
        varint(seconds),
        vec![key(2, 0)],
        varint(nanos),
    ]);
    let exemplar = cat(&[label("trace_id", "ab"), double(2, 2.0), msg(3, &timestamp)]);
    let counter = msg(3, &cat(&[double(1, 2.0), msg(2, &exemplar)]));
    assert_eq!(render(r), family("x_total", "X", 0, &[counter]));
}

#[test]
fn classic_histogram_and_its_exemplars() {
    let r = registry();
    let h: &'static Histogram<3> = Box::leak(Box::new(Histogram::new(&[1.0, 2.0])));
    r.register(Desc::new("h", "H"), h).unwrap();
    for v in [0.5, 1.5, 1.5, 9.0] {
        h.observe(v);
    }
    let bucket =
        |cumulative: u8, upper: f64| msg(3, &cat(&[small(1, cumulative), double(2, upper)]));
    let histogram = msg(
        7,
        &cat(&[small(1, 4), double(2, 12.5), bucket(1, 1.0), bucket(3, 2.0)]),
    );
    assert_eq!(render(r), family("h", "H", 4, &[histogram]));

    let r = registry();
    let e: &'static HistogramWithExemplars<2> =
        Box::leak(Box::new(HistogramWithExemplars::new(&[1.0])));
    r.register(Desc::new("e", "E"), e).unwrap();
    e.observe_with_exemplar(0.25, &Exemplar::new(&[("span_id", "f0")]))
        .unwrap();
    let exemplar = cat(&[label("span_id", "f0"), double(2, 0.25)]);
    let histogram = msg(
        7,
        &cat(&[
            small(1, 1),
            double(2, 0.25),
            msg(3, &cat(&[small(1, 1), double(2, 1.0), msg(3, &exemplar)])),
        ]),
    );
    assert_eq!(render(r), family("e", "E", 4, &[histogram]));
}

struct FixedSummary;

impl Collect for FixedSummary {
    fn kind(&self) -> MetricKind {
        MetricKind::Summary
    }

    fn collect(&self, from: usize, sink: &mut SeriesSink<'_>) -> ControlFlow<usize> {
        const QUANTILES: &[(f64, f64)] = &[(0.5, 12.0), (0.99, 40.0)];
        let value = Value::Summary(SummaryValue::new(QUANTILES, 9, 100.5));
        if from == 0 && sink(0, &SeriesLabels::NONE, &value).is_break() {
            return ControlFlow::Break(0);
        }
        ControlFlow::Continue(())
    }
}

#[test]
fn summary() {
    let r = registry();
    r.register(Desc::new("s", "S"), Box::leak(Box::new(FixedSummary)))
        .unwrap();
    let quantile = |q: f64, v: f64| msg(3, &cat(&[double(1, q), double(2, v)]));
    let summary = msg(
        4,
        &cat(&[
            small(1, 9),
            double(2, 100.5),
            quantile(0.5, 12.0),
            quantile(0.99, 40.0),
        ]),
    );
    assert_eq!(render(r), family("s", "S", 2, &[summary]));
}

/// Schema 0, zero threshold 0.5: 1.0 is in bucket -1 `(0.5, 1]`, 3 and 3.5 in bucket 1
/// `(2, 4]`, 100 in bucket 6 `(64, 128]`, -2 in negative bucket 0 `[-2, -1)`, 0.25 and 0 in
/// the zero bucket.
fn native_registry() -> &'static Registry<16> {
    let r = registry();
    let n: &'static NativeHistogram<16, 3, 0> = Box::leak(Box::new(NativeHistogram::new(
        NativeHistogramConfig::new(0.5).with_classic(&[1.0, 10.0]),
    )));
    r.register(Desc::new("n", "N"), n).unwrap();
    for v in [1.0, 3.0, 3.5, 100.0, -2.0, 0.25, 0.0] {
        n.observe(v);
    }
    r
}

#[test]
fn native_histogram_spans_and_deltas() {
    let span = |offset: u8, length: u8| cat(&[small(1, offset), small(2, length)]);
    let bucket =
        |cumulative: u8, upper: f64| msg(3, &cat(&[small(1, cumulative), double(2, upper)]));
    // Positive: buckets -1, (0 empty), 1 make one span [-1, 3) with counts 1, 0, 2; bucket 6
    // starts a second span 4 buckets later. Deltas 1, -1, 2, -1 zigzag to 2, 1, 4, 1.
    // Zigzag of -1 as the first span's offset is 1.
    let histogram = msg(
        7,
        &cat(&[
            small(1, 7),
            double(2, 105.75),
            bucket(4, 1.0),
            bucket(6, 10.0),
            small(5, 0),
            double(6, 0.5),
            small(7, 2),
            msg(9, &span(0, 1)),
            msg(10, &[2]),
            msg(12, &span(1, 3)),
            msg(12, &span(8, 1)),
            msg(13, &[2, 1, 4, 1]),
        ]),
    );
    assert_eq!(render(native_registry()), family("n", "N", 4, &[histogram]));
}

#[test]
fn empty_native_histogram_has_the_noop_span() {
    let r = registry();
    let n: &'static NativeHistogram<4> = Box::leak(Box::new(NativeHistogram::new(
        NativeHistogramConfig::new(0.5),
    )));
    r.register(Desc::new("n", "N"), n).unwrap();
    let histogram = msg(
        7,
        &cat(&[
            small(1, 0),
            double(2, 0.0),
            small(5, 6), // schema 3, zigzag
            double(6, 0.5),
            small(7, 0),
            msg(12, &cat(&[small(1, 0), small(2, 0)])),
        ]),
    );
    assert_eq!(render(r), family("n", "N", 4, &[histogram]));
}

#[test]
fn schema_is_lowered_to_fit_the_bucket_bound() {
    let r = registry();
    // Schema 2, at most 2 buckets: 1.1 (bucket 0 at schema 2), 1.5 (bucket 2), 3.0
    // (bucket 6) need schema 0 to fit two buckets: (1, 2] and (2, 4].
    let n: &'static NativeHistogram<32, 0, 2> = Box::leak(Box::new(NativeHistogram::new(
        NativeHistogramConfig::new(0.5).with_max_buckets(2),
    )));
    r.register(Desc::new("n", "N"), n).unwrap();
    for v in [1.1, 1.5, 3.0] {
        n.observe(v);
    }
    n.read(|value| {
        let Value::NativeHistogram(h) = value else {
            panic!("{value:?}")
        };
        assert_eq!(h.recorded_schema(), 2);
        assert_eq!(h.schema(), 0);
        assert_eq!(h.positive().collect::<Vec<_>>(), [(0, 2), (1, 1)]);
    });
    let histogram = msg(
        7,
        &cat(&[
            small(1, 3),
            double(2, 1.1 + 1.5 + 3.0),
            small(5, 0),
            double(6, 0.5),
            small(7, 0),
            msg(12, &cat(&[small(1, 0), small(2, 2)])),
            msg(13, &[4, 1]), // 2, then -1
        ]),
    );
    assert_eq!(render(r), family("n", "N", 4, &[histogram]));
}

#[test]
fn text_renders_native_histograms_through_classic_buckets() {
    let r = native_registry();
    let mut buf = vec![0u8; 4096];
    let mut sink = SliceSink::new(&mut buf);
    encode::prometheus(r, &mut sink).unwrap();
    assert_eq!(
        sink.as_str(),
        "# HELP n N\n# TYPE n histogram\nn_bucket{le=\"1.0\"} 4\nn_bucket{le=\"10.0\"} 6\n\
         n_bucket{le=\"+Inf\"} 7\nn_sum 105.75\nn_count 7\n"
    );

    let r = registry();
    let n: &'static NativeHistogram<8> = Box::leak(Box::new(NativeHistogram::new(
        NativeHistogramConfig::new(0.5),
    )));
    r.register(Desc::new("m", "M"), n).unwrap();
    n.observe(2.0);
    let mut sink = SliceSink::new(&mut buf);
    encode::openmetrics(r, &mut sink).unwrap();
    assert_eq!(
        sink.as_str(),
        "# TYPE m histogram\n# HELP m M\nm_bucket{le=\"+Inf\"} 1\nm_sum 2.0\nm_count 1\n# EOF\n"
    );
}

/// A sink over a `Vec` that does not hand its bytes back.
struct Streaming(Vec<u8>);

impl Sink for Streaming {
    fn write(&mut self, bytes: &[u8]) -> Result<(), Full> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }

    fn len(&self) -> usize {
        self.0.len()
    }

    fn truncate(&mut self, len: usize) {
        self.0.truncate(len);
    }
}

fn labelled_registry() -> &'static Registry<16> {
    let r = registry();
    let d: &'static DynamicFamily<Counter, 1, 8> = Box::leak(Box::new(DynamicFamily::new(["k"])));
    r.register(Desc::new("d_total", "D"), d).unwrap();
    for k in ["a", "b", "c"] {
        d.with_labels([k]).inc();
    }
    let g: &'static Gauge = Box::leak(Box::new(Gauge::new()));
    r.register(Desc::new("g", "G"), g).unwrap();
    r
}

/// Splits a delimited stream into `(name, metric count)` per message.
fn messages(mut bytes: &[u8]) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    while let Some((&len, rest)) = bytes.split_first() {
        assert!(len < 128);
        let (mut body, tail) = rest.split_at(usize::from(len));
        bytes = tail;
        let mut name = String::new();
        let mut metrics = 0;
        while let Some((&k, rest)) = body.split_first() {
            if k & 7 == 0 {
                body = &rest[1..];
                continue;
            }
            let l = usize::from(rest[0]);
            let (content, tail) = rest[1..].split_at(l);
            match k >> 3 {
                1 => name = String::from_utf8(content.to_vec()).unwrap(),
                4 => metrics += 1,
                _ => {}
            }
            body = tail;
        }
        out.push((name, metrics));
    }
    out
}

#[test]
fn a_sink_without_written_mut_gets_a_family_per_series() {
    let r = labelled_registry();
    let mut sink = Streaming(Vec::new());
    encode::protobuf(r, &mut sink).unwrap();
    assert_eq!(
        messages(&sink.0),
        [
            ("d_total".to_string(), 1),
            ("d_total".to_string(), 1),
            ("d_total".to_string(), 1),
            ("g".to_string(), 1)
        ]
    );
    // The same metrics as one message per family.
    assert_eq!(
        messages(&render(r)),
        [("d_total".to_string(), 3), ("g".to_string(), 1)]
    );
}

#[test]
fn chunks_close_and_reopen_families() {
    let r = labelled_registry();
    let whole = render(r);
    // A chunk of 40 bytes holds one family header and one or two series.
    let mut out = Vec::new();
    let mut renderer = Renderer::protobuf();
    let mut buf = [0u8; 40];
    let mut chunks = 0;
    loop {
        let mut sink = SliceSink::new(&mut buf);
        let progress = renderer.render_chunk(r, &mut sink).unwrap();
        out.extend_from_slice(sink.as_bytes());
        chunks += 1;
        if progress == Progress::Done {
            break;
        }
    }
    assert!(chunks > 1);
    let split = messages(&out);
    let total: usize = split
        .iter()
        .filter(|(n, _)| n == "d_total")
        .map(|(_, m)| m)
        .sum();
    assert_eq!(total, 3, "{split:?}");
    assert!(
        split.iter().filter(|(n, _)| n == "d_total").count() > 1,
        "{split:?}"
    );
    assert_eq!(split.last().unwrap(), &("g".to_string(), 1));
    assert_ne!(out, whole);
}
