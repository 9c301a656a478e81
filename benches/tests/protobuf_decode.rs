//! Corral's protobuf exposition read back by an independent decoder: `prometheus-client`'s
//! prost types of `io.prometheus.client` (generated from Prometheus' `metrics.proto`),
//! decoding the length-delimited `MetricFamily` stream. Every metric type must come back
//! with the values Corral recorded, native buckets expanded from their spans and deltas.

use corral_core::encode::{self, Renderer, SliceSink};
use corral_core::{
    Counter, Desc, DynamicFamily, FloatCounter, Gauge, Histogram, IntGauge, NativeHistogram,
    NativeHistogramConfig, Registry, RegistryConfig, Summary, SummaryConfig, Value,
};
use prometheus_client::encoding::prometheus_protobuf::prometheus_data_model::{
    BucketSpan, MetricFamily, MetricType,
};
use prost::Message;

fn decode(mut bytes: &[u8]) -> Vec<MetricFamily> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let family = MetricFamily::decode_length_delimited(&mut bytes)
            .unwrap_or_else(|e| panic!("undecodable at {} bytes left: {e}", bytes.len()));
        out.push(family);
    }
    out
}

/// `(index, count)` of the buckets that spans and deltas describe, empty ones left out.
fn expand(spans: &[BucketSpan], deltas: &[i64]) -> Vec<(i32, u64)> {
    let mut out = Vec::new();
    let mut deltas = deltas.iter();
    let mut index = 0i32;
    let mut count = 0i64;
    for (n, span) in spans.iter().enumerate() {
        index = if n == 0 {
            span.offset
        } else {
            index + span.offset
        };
        for _ in 0..span.length {
            count += deltas.next().expect("a delta per bucket");
            if count != 0 {
                out.push((index, u64::try_from(count).unwrap()));
            }
            index += 1;
        }
    }
    assert!(deltas.next().is_none(), "more deltas than buckets");
    out
}

type Native = NativeHistogram<64, 3, 2>;

#[test]
fn prometheus_client_types_read_every_metric_type_back() {
    let r: &'static Registry<16> = Box::leak(Box::new(Registry::with_config(
        RegistryConfig::DEFAULT.with_self_metrics(false),
    )));
    let c: &'static Counter = Box::leak(Box::new(Counter::new()));
    r.register(Desc::new("requests_total", "Requests"), c)
        .unwrap();
    c.inc_by(1 << 40);
    let f: &'static FloatCounter = Box::leak(Box::new(FloatCounter::new()));
    r.register(Desc::new("cost_usd_total", "Cost"), f).unwrap();
    f.inc_by(0.125);
    let g: &'static Gauge = Box::leak(Box::new(Gauge::new()));
    r.register(Desc::new("temperature", "T"), g).unwrap();
    g.set(-3.5);
    let i: &'static IntGauge = Box::leak(Box::new(IntGauge::new()));
    r.register(Desc::new("queue_depth", "Q"), i).unwrap();
    i.set(-9);
    let d: &'static DynamicFamily<Counter, 2, 8> =
        Box::leak(Box::new(DynamicFamily::new(["method", "path"])));
    r.register(Desc::new("hits_total", "Hits"), d).unwrap();
    d.with_labels(["GET", "/é\"x\""]).inc_by(5);
    d.with_labels(["POST", ""]).inc_by(6);
    let h: &'static Histogram<4> = Box::leak(Box::new(Histogram::new(&[0.1, 1.0, 10.0])));
    r.register(Desc::new("latency_seconds", "L"), h).unwrap();
    for v in [0.05, 0.5, 0.7, 50.0] {
        h.observe(v);
    }
    let s: &'static Summary<512> = Box::leak(Box::new(Summary::new(SummaryConfig::new(0.01))));
    r.register(Desc::new("size_bytes", "S"), s).unwrap();
    for v in 1..=100 {
        s.observe(f64::from(v));
    }
    let n: &'static Native = Box::leak(Box::new(Native::new(
        NativeHistogramConfig::new(1e-3).with_classic(&[1.0, 100.0]),
    )));
    r.register(Desc::new("native_seconds", "N"), n).unwrap();
    let values = [
        0.0, 0.0005, -0.25, -0.3, 1.0, 1.01, 3.0, 3.0, 9.0, 250.0, 1e9,
    ];
    for v in values {
        n.observe(v);
    }

    let mut buf = vec![0u8; 1 << 16];
    let mut sink = SliceSink::new(&mut buf);
    encode::protobuf(r, &mut sink).unwrap();
    let families = decode(sink.as_bytes());
    let names: Vec<&str> = families.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "requests_total",
            "cost_usd_total",
            "temperature",
            "queue_depth",
            "hits_total",
            "latency_seconds",
            "size_bytes",
            "native_seconds"
        ]
    );
    let by_name = |name: &str| families.iter().find(|f| f.name == name).unwrap();

    let requests = by_name("requests_total");
    assert_eq!(requests.r#type, MetricType::Counter as i32);
    assert_eq!(requests.help, "Requests");
    assert_eq!(
        requests.metric[0].counter.as_ref().unwrap().value,
        (1u64 << 40) as f64
    );
    assert_eq!(
        by_name("cost_usd_total").metric[0]
            .counter
            .as_ref()
            .unwrap()
            .value,
        0.125
    );
    let temperature = by_name("temperature");
    assert_eq!(temperature.r#type, MetricType::Gauge as i32);
    assert_eq!(temperature.metric[0].gauge.as_ref().unwrap().value, -3.5);
    assert_eq!(
        by_name("queue_depth").metric[0]
            .gauge
            .as_ref()
            .unwrap()
            .value,
        -9.0
    );

    let mut hits: Vec<(Vec<(String, String)>, f64)> = by_name("hits_total")
        .metric
        .iter()
        .map(|m| {
            let labels = m
                .label
                .iter()
                .map(|l| (l.name.clone(), l.value.clone()))
                .collect();
            (labels, m.counter.as_ref().unwrap().value)
        })
        .collect();
    hits.sort_by(|a, b| a.1.total_cmp(&b.1));
    let pair = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        hits,
        [
            (vec![pair("method", "GET"), pair("path", "/é\"x\"")], 5.0),
            (vec![pair("method", "POST"), pair("path", "")], 6.0),
        ]
    );

    let latency = by_name("latency_seconds");
    assert_eq!(latency.r#type, MetricType::Histogram as i32);
    let lh = latency.metric[0].histogram.as_ref().unwrap();
    assert_eq!(lh.sample_count, 4);
    assert_eq!(lh.sample_sum, h.sum());
    let classic: Vec<(f64, u64)> = lh
        .bucket
        .iter()
        .map(|b| (b.upper_bound, b.cumulative_count))
        .collect();
    assert_eq!(classic, [(0.1, 1), (1.0, 3), (10.0, 3)]);
    assert!(lh.positive_span.is_empty() && lh.schema == 0 && lh.zero_threshold == 0.0);

    let size = by_name("size_bytes");
    assert_eq!(size.r#type, MetricType::Summary as i32);
    let summary = size.metric[0].summary.as_ref().unwrap();
    assert_eq!(summary.sample_count, 100);
    assert_eq!(summary.sample_sum, 5050.0);
    let quantiles: Vec<(f64, f64)> = summary
        .quantile
        .iter()
        .map(|q| (q.quantile, q.value))
        .collect();
    let expected: Vec<(f64, f64)> = corral_core::DEFAULT_QUANTILES
        .iter()
        .map(|&q| (q, s.quantile(q)))
        .collect();
    assert_eq!(quantiles, expected);

    let native = by_name("native_seconds");
    assert_eq!(native.r#type, MetricType::Histogram as i32);
    let nh = native.metric[0].histogram.as_ref().unwrap();
    n.read(|value| {
        let Value::NativeHistogram(point) = value else {
            panic!("{value:?}")
        };
        assert_eq!(nh.sample_count, point.count());
        assert_eq!(nh.sample_count, values.len() as u64);
        assert_eq!(nh.sample_sum, point.sum());
        assert_eq!(nh.schema, 2);
        assert_eq!(nh.zero_threshold, 1e-3);
        assert_eq!(nh.zero_count, 2);
        assert_eq!(
            expand(&nh.positive_span, &nh.positive_delta),
            point.positive().collect::<Vec<_>>()
        );
        assert_eq!(
            expand(&nh.negative_span, &nh.negative_delta),
            point.negative().collect::<Vec<_>>()
        );
        // Independently of Corral's read: schema-2 indices of the values, by |v|; the row
        // is buckets -40 ..= 23 (64 from the threshold's), so 250 (bucket 31) and 1e9 are
        // beyond it and reported in bucket 24, just past it.
        let index = |v: f64| ((v.abs().log2() * 4.0).ceil() - 1.0) as i32;
        let row_end = index(1e-3) + 64;
        let mut positive = std::collections::BTreeMap::<i32, u64>::new();
        assert_eq!(row_end, 24);
        for v in [1.0, 1.01, 3.0, 3.0, 9.0, 250.0, 1e9] {
            *positive.entry(index(v).min(row_end)).or_default() += 1;
        }
        assert_eq!(
            expand(&nh.positive_span, &nh.positive_delta),
            positive.into_iter().collect::<Vec<_>>()
        );
        assert_eq!(
            expand(&nh.negative_span, &nh.negative_delta),
            [(index(0.25), 1), (index(0.3), 1)]
        );
    });
    let classic: Vec<(f64, u64)> = nh
        .bucket
        .iter()
        .map(|b| (b.upper_bound, b.cumulative_count))
        .collect();
    assert_eq!(classic, [(1.0, 5), (100.0, 9)]);

    // A chunked render reads back to the same families, split into more messages.
    let mut out = Vec::new();
    let mut renderer = Renderer::protobuf();
    let mut chunk = [0u8; 256];
    loop {
        let mut sink = SliceSink::new(&mut chunk);
        let progress = renderer.render_chunk(r, &mut sink).unwrap();
        out.extend_from_slice(sink.as_bytes());
        if progress == encode::Progress::Done {
            break;
        }
    }
    let chunked = decode(&out);
    let metrics = |fs: &[MetricFamily]| fs.iter().map(|f| f.metric.len()).sum::<usize>();
    assert_eq!(metrics(&chunked), metrics(&families));
}
