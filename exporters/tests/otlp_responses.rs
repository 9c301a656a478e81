//! How the exporter treats what a collector answers, over HTTP/protobuf: a 503 with
//! `Retry-After` is retried, a partial success is accepted and not retried, a 400 is not
//! retried; the configured headers, gzip and the path reach the wire. rotel answers every
//! export with a plain success, so the answers here come from a scripted HTTP/1.1 listener.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use corral_core::{Counter, Desc, Registry, RegistryConfig};
use corral_exporters::otlp::{MetricsSettings, OtlpMetricExporter};
use corral_std::config::ObservabilityConfig;
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use prost::Message;

#[derive(Debug)]
struct Seen {
    path: String,
    headers: Vec<(String, String)>,
    points: usize,
    at: Instant,
}

/// One scripted answer: status, an extra header, the body.
type Answer = (u16, Option<(&'static str, &'static str)>, Vec<u8>);

/// Serves `script` (status, extra header, body) in order, then 200 with an empty body.
fn serve(script: Vec<Answer>) -> (u16, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    std::thread::spawn(move || {
        let mut script = script.into_iter();
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut writer = stream;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                let mut headers = Vec::new();
                loop {
                    let mut h = String::new();
                    reader.read_line(&mut h).unwrap();
                    let h = h.trim_end();
                    if h.is_empty() {
                        break;
                    }
                    let (k, v) = h.split_once(':').unwrap();
                    headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
                }
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .map_or(0, |(_, v)| v.parse().unwrap());
                let mut body = vec![0; len];
                reader.read_exact(&mut body).unwrap();
                let mut raw = Vec::new();
                flate2::read::GzDecoder::new(&body[..])
                    .read_to_end(&mut raw)
                    .expect("a gzip body");
                let request = ExportMetricsServiceRequest::decode(&raw[..]).expect("protobuf");
                let points = request.resource_metrics[0].scope_metrics[0].metrics.len();
                log.lock().unwrap().push(Seen {
                    path,
                    headers,
                    points,
                    at: Instant::now(),
                });
                let (status, extra, answer) = script.next().unwrap_or((200, None, Vec::new()));
                let mut head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/x-protobuf\r\ncontent-length: {}\r\n",
                    answer.len()
                );
                if let Some((k, v)) = extra {
                    head.push_str(&format!("{k}: {v}\r\n"));
                }
                head.push_str("\r\n");
                writer.write_all(head.as_bytes()).unwrap();
                writer.write_all(&answer).unwrap();
            }
        }
    });
    (port, seen)
}

#[test]
fn retry_after_partial_success_and_bad_request() {
    let partial = ExportMetricsServiceResponse {
        partial_success: Some(ExportMetricsPartialSuccess {
            rejected_data_points: 2,
            error_message: "two points rejected".to_owned(),
        }),
    }
    .encode_to_vec();
    let (port, seen) = serve(vec![
        (503, Some(("retry-after", "0")), Vec::new()),
        (200, None, partial),
        (400, None, b"bad request".to_vec()),
    ]);
    let registry: &'static Registry<4> = Box::leak(Box::new(Registry::with_config(
        RegistryConfig::DEFAULT.with_self_metrics(false),
    )));
    let jobs: &'static Counter = Box::leak(Box::new(Counter::new()));
    registry
        .register(Desc::new("jobs_total", "Jobs"), jobs)
        .unwrap();
    jobs.inc();
    let config = ObservabilityConfig::from_yaml_str_with(
        "observability:\n  opentelemetry:\n    otlp:\n      headers:\n        x-api-key: from-file\n    metrics:\n      retry:\n        initial_backoff_ms: 10\n      circuit_breaker:\n        failure_threshold: 10\n",
        |_| None,
    )
    .unwrap();
    let endpoint = format!("http://127.0.0.1:{port}/otlp");
    let env = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
        (
            "OTEL_EXPORTER_OTLP_METRICS_HEADERS",
            "x-api-key=secret%20key,x-tenant=t1",
        ),
        ("OTEL_METRIC_EXPORT_INTERVAL", "300"),
    ];
    let settings = MetricsSettings::from_config(&config, |name| {
        env.iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
    })
    .unwrap();
    let exporter = OtlpMetricExporter::start(registry, settings).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    // Four requests seen, and the fourth one's answer handled.
    while (seen.lock().unwrap().len() < 4 || exporter.stats().exports_ok == 0)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let stats = exporter.stats();
    exporter.shutdown(Duration::from_secs(5)).unwrap();
    let seen = seen.lock().unwrap();
    assert!(seen.len() >= 4, "{seen:?}");
    for s in seen.iter() {
        assert_eq!(s.path, "/otlp/v1/metrics");
        let header = |k: &str| {
            s.headers
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(
            header("x-api-key"),
            Some("secret key"),
            "env headers replace the file's"
        );
        assert_eq!(header("x-tenant"), Some("t1"));
        assert_eq!(header("content-encoding"), Some("gzip"));
        assert_eq!(header("content-type"), Some("application/x-protobuf"));
        assert_eq!(s.points, 1);
    }
    // 503 + Retry-After: 0 → retried at once, within the same interval.
    assert!(
        seen[1].at - seen[0].at < Duration::from_millis(200),
        "{seen:?}"
    );
    // The partial success is not retried: the next request is the next interval's.
    assert!(
        seen[2].at - seen[1].at >= Duration::from_millis(200),
        "{seen:?}"
    );
    // The 400 is not retried either.
    assert!(
        seen[3].at - seen[2].at >= Duration::from_millis(200),
        "{seen:?}"
    );
    assert_eq!(stats.retries, 1, "{stats:?}");
    assert_eq!(stats.exports_partial, 1, "{stats:?}");
    assert_eq!(stats.exports_failed, 1, "{stats:?}");
    assert!(stats.exports_ok >= 1, "{stats:?}");
}
