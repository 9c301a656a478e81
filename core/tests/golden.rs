//! Exact output of both encoders for every metric type, both label models, escaping, the
//! overflow series and exemplars, one-shot and in chunks of every size.
//!
//! The expected text is in `tests/golden/` (reviewed line by line against both format
//! specifications); `tests/common/mod.rs` builds the registry it comes from.
#![allow(clippy::std_instead_of_core, reason = "a std test binary")]
#[path = "encode_fixture/mod.rs"]
mod common;

use corral_core::encode::{self, EncodeError, Progress, Renderer, Sink, SliceSink};
use corral_core::visit::{Cursor, FamilyInfo, SeriesLabels, Value, Visit, Visitor};
use corral_core::{Counter, Desc, DynamicFamily, MetricKind, Registry, RegistryConfig};

const PROMETHEUS: &str = include_str!("golden/every_feature.prom");
const OPENMETRICS: &str = include_str!("golden/every_feature.om");
const CREATED: u64 = 1_605_281_325_000_000_000;

#[test]
fn prometheus_text_golden() {
    let f = common::every_feature();
    assert_eq!(common::one_shot(f.registry, false, None), PROMETHEUS);
}

#[test]
fn openmetrics_golden() {
    let f = common::every_feature();
    assert_eq!(
        common::one_shot(f.registry, true, Some(CREATED)),
        OPENMETRICS
    );
}

#[test]
fn openmetrics_without_created_has_no_created_lines() {
    let f = common::every_feature();
    let expected: String = OPENMETRICS
        .lines()
        .filter(|line| !line.contains("_created"))
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(common::one_shot(f.registry, true, None), expected);
}

#[test]
fn golden_files_hold_the_rules() {
    // Spot checks that the golden text says what the specifications require, so that a
    // regenerated golden file cannot silently drift.
    for (text, help) in [
        (
            PROMETHEUS,
            "# HELP stream_processor_active_windows Active windows\\nper C:\\\\path\n",
        ),
        (
            OPENMETRICS,
            "# HELP llm_cost_usd Spend in US dollars, \\\"estimated\\\"\n",
        ),
    ] {
        assert!(text.contains(help), "{help}");
        assert!(text.contains("requests_total{path=\"/a\\\"b\",note=\"back\\\\slash\"} 1\n"));
        assert!(text.contains("requests_total{path=\"/line\",note=\"new\\nline\"} 2\n"));
        assert!(text.contains("requests_total{path=\"/ünï\",note=\"\"} 3\n"));
        assert!(text.contains("requests_total{otel_metric_overflow=\"true\"} 15\n"));
        assert!(text.contains("stream_processor_events_received_total 18446744073709551615\n"));
        assert!(text.contains("_bucket{le=\"+Inf\"} 5\n"));
        assert!(text.contains("stream_processor_processing_duration_seconds_count 5\n"));
        assert!(text.contains("{stage=\"parse\",quantile=\"0.99\"} 1.25e+06\n"));
    }
    assert!(PROMETHEUS.contains("# TYPE requests_total counter\n"));
    assert!(
        !PROMETHEUS.contains(" # {"),
        "no exemplars in the Prometheus format"
    );
    assert!(OPENMETRICS.contains("# TYPE requests counter\n"));
    assert!(OPENMETRICS.contains("# UNIT stream_processor_processing_duration_seconds seconds\n"));
    assert!(OPENMETRICS.ends_with("# EOF\n"));
    assert!(OPENMETRICS.contains(
        "traced_requests_total 3 # {trace_id=\"4bf92f3577b34da6a3ce929d0e0e4736\",span_id=\"00f067aa0ba902b7\"} 2.0 1520879607.789\n"
    ));
    assert!(OPENMETRICS.contains("payload_size_bytes_bucket{le=\"+Inf\"} 4 # {} 2e+07\n"));
    // Each family's metadata exactly once.
    for text in [PROMETHEUS, OPENMETRICS] {
        let mut types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE ")).collect();
        let count = types.len();
        types.sort_unstable();
        types.dedup();
        assert_eq!(types.len(), count);
        assert_eq!(count, 16);
    }
}

/// The byte length of the largest item the encoders write atomically: a family header or
/// one series (all of a histogram's or summary's lines).
fn largest_item(text: &str) -> usize {
    let mut largest = 0;
    let mut current = 0;
    let mut current_key = String::new();
    for line in text.split_inclusive('\n') {
        // An item's key: "#" for a header block, else the sample's series identity (labels
        // without le/quantile), with its family prefix.
        let key = if line.starts_with('#') {
            format!("#{}", line.split(' ').nth(2).unwrap_or(""))
        } else {
            let end = line.find(' ').unwrap();
            let sample = &line[..end];
            let (name, labels) = sample.split_once('{').unwrap_or((sample, ""));
            let family = ["_bucket", "_sum", "_count", "_created", "_total"]
                .iter()
                .find_map(|s| name.strip_suffix(s))
                .unwrap_or(name);
            let labels: Vec<&str> = labels
                .trim_end_matches('}')
                .split(',')
                .filter(|l| !l.starts_with("le=") && !l.starts_with("quantile="))
                .collect();
            format!("{family}{{{}}}", labels.join(","))
        };
        if key == current_key {
            current += line.len();
        } else {
            largest = largest.max(current);
            current = line.len();
            current_key = key;
        }
    }
    largest.max(current)
}

#[test]
fn chunks_of_every_size_concatenate_to_the_one_shot_output() {
    let f = common::every_feature();
    for (openmetrics, expected) in [(false, PROMETHEUS), (true, OPENMETRICS)] {
        let expected = if openmetrics {
            // The chunk helper renders without `_created`.
            expected
                .lines()
                .filter(|line| !line.contains("_created"))
                .map(|line| format!("{line}\n"))
                .collect::<String>()
        } else {
            expected.to_owned()
        };
        let threshold = largest_item(&expected);
        assert!(
            threshold > 500,
            "the latency histogram is the largest item: {threshold}"
        );
        for size in [1, 10, threshold - 1] {
            match common::chunked(f.registry, openmetrics, size) {
                Err(EncodeError::TooLarge { family }) => {
                    assert!(!family.as_str().is_empty() || size < 6);
                }
                other => panic!("size {size}: expected TooLarge, got {other:?}"),
            }
        }
        // Every size natively; every 140th under miri, which interprets every instruction.
        for size in (threshold..threshold + 700).step_by(if cfg!(miri) { 140 } else { 1 }) {
            let (text, chunks) = common::chunked(f.registry, openmetrics, size)
                .unwrap_or_else(|e| panic!("size {size}: {e}"));
            assert_eq!(text, expected, "size {size}");
            assert!(chunks > 1);
        }
        for size in [expected.len(), expected.len() + 1, 1 << 16] {
            let (text, chunks) = common::chunked(f.registry, openmetrics, size).unwrap();
            assert_eq!(text, expected);
            assert_eq!(chunks, 1, "size {size}");
        }
    }
}

#[test]
fn too_large_names_the_family() {
    let f = common::every_feature();
    let err = common::chunked(f.registry, false, 600).unwrap_err();
    assert_eq!(
        err,
        EncodeError::TooLarge {
            family: match err {
                EncodeError::TooLarge { family } => family,
                _ => unreachable!(),
            }
        }
    );
    assert_eq!(
        err.to_string(),
        "one series of `stream_processor_processing_duration_seconds` is larger than the whole render buffer; use a larger buffer"
    );
    // The closing `# EOF` alone in a 5-byte buffer: an error too.
    static EMPTY: Registry<1> =
        Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));
    let mut buf = [0u8; 5];
    let mut sink = SliceSink::new(&mut buf);
    let err = Renderer::openmetrics()
        .render_chunk(&EMPTY, &mut sink)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "the render buffer cannot hold even the closing `# EOF` line; use a larger buffer"
    );
    let mut buf = [0u8; 6];
    let mut sink = SliceSink::new(&mut buf);
    assert_eq!(
        Renderer::openmetrics().render_chunk(&EMPTY, &mut sink),
        Ok(Progress::Done)
    );
    assert_eq!(sink.as_str(), "# EOF\n");
}

#[test]
fn a_sink_that_is_not_empty_gets_more_not_an_error() {
    static REGISTRY: Registry<2> =
        Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));
    static EVENTS: Counter = Counter::new();
    REGISTRY
        .register(Desc::new("events_total", "Events"), &EVENTS)
        .unwrap();
    let mut buf = [0u8; 64];
    let mut sink = SliceSink::new(&mut buf);
    sink.write(b"0123456789012345678901234567890123456789")
        .unwrap();
    let mut renderer = Renderer::prometheus();
    // The header (52 bytes) does not fit behind 40 bytes of the caller's: nothing is
    // written, and the renderer asks to be called again with an emptier sink.
    assert_eq!(
        renderer.render_chunk(&REGISTRY, &mut sink),
        Ok(Progress::More)
    );
    assert_eq!(sink.len(), 40);
    sink.clear();
    assert_eq!(
        renderer.render_chunk(&REGISTRY, &mut sink),
        Ok(Progress::More)
    );
    assert_eq!(
        sink.as_str(),
        "# HELP events_total Events\n# TYPE events_total counter\n"
    );
    sink.clear();
    assert_eq!(
        renderer.render_chunk(&REGISTRY, &mut sink),
        Ok(Progress::Done)
    );
    assert_eq!(sink.as_str(), "events_total 0\n");
    assert!(renderer.is_done());
    renderer.reset();
    assert!(!renderer.is_done());
}

#[test]
fn one_shot_that_does_not_fit_reports_buffer_full_and_keeps_whole_series() {
    static REGISTRY: Registry<2> =
        Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));
    static PATHS: DynamicFamily<Counter, 1, 8> = DynamicFamily::new(["path"]);
    REGISTRY
        .register(Desc::new("hits_total", "Hits"), &PATHS)
        .unwrap();
    for path in ["/one", "/two", "/three"] {
        PATHS.with_labels([path]).inc();
    }
    let header = "# HELP hits_total Hits\n# TYPE hits_total counter\n";
    let mut buf = [0u8; 80];
    let mut sink = SliceSink::new(&mut buf);
    let err = encode::prometheus(&REGISTRY, &mut sink).unwrap_err();
    assert_eq!(
        err,
        EncodeError::BufferFull {
            written: sink.len()
        }
    );
    assert!(sink.as_str().starts_with(header));
    assert!(sink.as_str().ends_with("} 1\n"), "{}", sink.as_str());
    assert_eq!(sink.as_str().lines().count(), 3);
}

#[cfg(feature = "heapless")]
#[test]
fn heapless_vec_is_a_sink() {
    let f = common::every_feature();
    let mut vec: heapless::Vec<u8, 8192> = heapless::Vec::new();
    encode::prometheus(f.registry, &mut vec).unwrap();
    assert_eq!(core::str::from_utf8(&vec).unwrap(), PROMETHEUS);
    let mut small: heapless::Vec<u8, 200> = heapless::Vec::new();
    assert!(matches!(
        encode::prometheus(f.registry, &mut small),
        Err(EncodeError::BufferFull { .. })
    ));
}

#[test]
fn empty_help_writes_no_help_line() {
    static REGISTRY: Registry<2> =
        Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));
    static DEPTH: corral_core::IntGauge = corral_core::IntGauge::new();
    REGISTRY.register(Desc::new("depth", ""), &DEPTH).unwrap();
    DEPTH.set(-3);
    let mut buf = [0u8; 128];
    let mut sink = SliceSink::new(&mut buf);
    encode::prometheus(&REGISTRY, &mut sink).unwrap();
    assert_eq!(sink.as_str(), "# TYPE depth gauge\ndepth -3\n");
    let mut sink = SliceSink::new(&mut buf);
    encode::openmetrics(&REGISTRY, &mut sink).unwrap();
    assert_eq!(sink.as_str(), "# TYPE depth gauge\ndepth -3\n# EOF\n");
}

/// Labelled histogram series (the encoders' per-series fast path, and the general path
/// for a label value that needs escaping and for the overflow series): exact lines in
/// both formats, and chunks of many sizes that concatenate to the one-shot output.
#[test]
fn labelled_histograms_exact_lines_and_chunks() {
    use corral_core::HistogramCells;
    let registry: &'static Registry<16> = Box::leak(Box::new(Registry::with_config(
        RegistryConfig::DEFAULT.with_self_metrics(false),
    )));
    let latency: &'static DynamicFamily<HistogramCells<4>, 2, 2> = Box::leak(Box::new(
        DynamicFamily::histogram(["route", "code"], &[0.5, 1.0, 2.5]),
    ));
    registry
        .register(Desc::new("latency_seconds", "Latency"), latency)
        .unwrap();
    let plain = latency.with_labels(["/a", "200"]);
    plain.observe(0.25);
    plain.observe(2.0);
    latency.with_labels(["/q\"x\\y", "500"]).observe(1.0);
    // The family's table is full: the overflow series.
    latency.with_labels(["/c", "200"]).observe(7.0);

    let series = [
        concat!(
            "latency_seconds_bucket{route=\"/a\",code=\"200\",le=\"0.5\"} 1\n",
            "latency_seconds_bucket{route=\"/a\",code=\"200\",le=\"1.0\"} 1\n",
            "latency_seconds_bucket{route=\"/a\",code=\"200\",le=\"2.5\"} 2\n",
            "latency_seconds_bucket{route=\"/a\",code=\"200\",le=\"+Inf\"} 2\n",
            "latency_seconds_sum{route=\"/a\",code=\"200\"} 2.25\n",
            "latency_seconds_count{route=\"/a\",code=\"200\"} 2\n",
        ),
        concat!(
            "latency_seconds_bucket{route=\"/q\\\"x\\\\y\",code=\"500\",le=\"0.5\"} 0\n",
            "latency_seconds_bucket{route=\"/q\\\"x\\\\y\",code=\"500\",le=\"1.0\"} 1\n",
            "latency_seconds_bucket{route=\"/q\\\"x\\\\y\",code=\"500\",le=\"2.5\"} 1\n",
            "latency_seconds_bucket{route=\"/q\\\"x\\\\y\",code=\"500\",le=\"+Inf\"} 1\n",
            "latency_seconds_sum{route=\"/q\\\"x\\\\y\",code=\"500\"} 1.0\n",
            "latency_seconds_count{route=\"/q\\\"x\\\\y\",code=\"500\"} 1\n",
        ),
        concat!(
            "latency_seconds_bucket{otel_metric_overflow=\"true\",le=\"0.5\"} 0\n",
            "latency_seconds_bucket{otel_metric_overflow=\"true\",le=\"1.0\"} 0\n",
            "latency_seconds_bucket{otel_metric_overflow=\"true\",le=\"2.5\"} 0\n",
            "latency_seconds_bucket{otel_metric_overflow=\"true\",le=\"+Inf\"} 1\n",
            "latency_seconds_sum{otel_metric_overflow=\"true\"} 7.0\n",
            "latency_seconds_count{otel_metric_overflow=\"true\"} 1\n",
        ),
    ];
    for (openmetrics, head, tail) in [
        (
            false,
            "# HELP latency_seconds Latency\n# TYPE latency_seconds histogram\n",
            "",
        ),
        (
            true,
            "# TYPE latency_seconds histogram\n# HELP latency_seconds Latency\n",
            "# EOF\n",
        ),
    ] {
        let text = common::one_shot(registry, openmetrics, None);
        // Series come in table order, which the hash decides: each series' lines must be
        // there, contiguous, and nothing else.
        assert!(text.starts_with(head), "{text}");
        assert!(text.ends_with(tail), "{text}");
        for lines in series {
            assert!(text.contains(lines), "{lines} not in\n{text}");
        }
        assert_eq!(
            text.len(),
            head.len() + tail.len() + series.iter().map(|s| s.len()).sum::<usize>(),
            "{text}"
        );
        let largest = series.iter().map(|s| s.len()).max().unwrap_or(0);
        // Every size natively; every 80th under miri.
        for size in (largest..largest + 400).step_by(if cfg!(miri) { 80 } else { 1 }) {
            let (chunked, _) = common::chunked(registry, openmetrics, size).unwrap();
            assert_eq!(chunked, text, "size {size}");
        }
    }
}

/// A source that hands the encoder each family's name in one reused buffer, and each
/// series' label names in one array rebuilt in place: the encoder must write what it is
/// given each time, never the name or labels cached from the family or series before.
struct ReusedBuffers {
    name: std::cell::RefCell<String>,
}

impl encode::Source for ReusedBuffers {
    fn visit_from<V: Visitor + ?Sized>(&self, cursor: Cursor, visitor: &mut V) -> Visit {
        if cursor != Cursor::START {
            return Visit::Complete;
        }
        for (family, label) in [("first_total", "a"), ("other_total", "b")] {
            {
                let mut name = self.name.borrow_mut();
                name.clear();
                name.push_str(family);
            }
            let name = self.name.borrow();
            let info = FamilyInfo {
                name: &name,
                help: "h",
                unit: None,
                kind: MetricKind::Counter,
                label_names: &[],
            };
            let _ = visitor.family(&info);
            for (total, label) in [label, "z"].into_iter().enumerate() {
                let names = [label];
                let labels = SeriesLabels::from_pairs(&names, &["x"]);
                let _ = visitor.series(&info, &labels, &Value::Counter(total as u64));
            }
            let _ = visitor.family_end(&info);
        }
        Visit::Complete
    }
}

#[test]
fn reused_name_and_label_buffers_render_as_given() {
    let source = ReusedBuffers {
        name: std::cell::RefCell::new(String::with_capacity(64)),
    };
    let mut buf = [0u8; 512];
    let mut sink = SliceSink::new(&mut buf);
    encode::prometheus(&source, &mut sink).unwrap();
    assert_eq!(
        sink.as_str(),
        concat!(
            "# HELP first_total h\n",
            "# TYPE first_total counter\n",
            "first_total{a=\"x\"} 0\n",
            "first_total{z=\"x\"} 1\n",
            "# HELP other_total h\n",
            "# TYPE other_total counter\n",
            "other_total{b=\"x\"} 0\n",
            "other_total{z=\"x\"} 1\n",
        )
    );
}
