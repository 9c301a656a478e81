//! The metrics server over real sockets: formats, compression, filtering, limits, auth,
//! routes, slow and oversized clients, shutdown, and the three ways to run it.

mod peers;
mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use corral_core::{Counter, Desc, DynamicFamily, Histogram, Registry};
use corral_exporters::http::{MetricsServer, ServerError, ServerHandle};
use corral_std::config::ObservabilityConfig;
use support::{gate, get, registry, request, send_raw};

const PROMETHEUS_2_42: &str = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
const TEXT: &str = "text/plain; version=0.0.4; charset=utf-8";
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// A registry with a counter family, a histogram and a plain counter.
fn app_registry() -> &'static Registry<16> {
    let registry = registry();
    let requests: &'static DynamicFamily<Counter, 1, 8> =
        Box::leak(Box::new(DynamicFamily::new(["path"])));
    registry
        .register(
            Desc::new("app_requests_total", "Requests by path"),
            requests,
        )
        .unwrap();
    requests.with_labels(["/a"]).inc_by(3);
    requests.with_labels(["/b \"q\""]).inc_by(5);
    let latency: &'static Histogram<4> = Box::leak(Box::new(Histogram::new(&[0.1, 1.0, 10.0])));
    registry
        .register(
            Desc::new("app_latency_seconds", "Latency").with_unit("seconds"),
            latency,
        )
        .unwrap();
    for v in [0.05, 0.5, 5.0, 50.0] {
        latency.observe(v);
    }
    let jobs: &'static Counter = Box::leak(Box::new(Counter::new()));
    registry
        .register(Desc::new("app_jobs_total", "Jobs"), jobs)
        .unwrap();
    jobs.inc_by(7);
    registry
}

fn start(server: MetricsServer) -> ServerHandle {
    server
        .address("127.0.0.1:0")
        .spawn_thread()
        .expect("server starts")
}

#[test]
fn formats_follow_accept_and_every_answer_has_a_content_type() {
    let handle = start(MetricsServer::new(app_registry()).unwrap());
    let addr = handle.local_addr();

    let om = get(addr, "/metrics", &[("Accept", PROMETHEUS_2_42)]);
    assert_eq!(om.status, 200);
    assert_eq!(om.header("content-type"), Some(OPENMETRICS));
    assert_eq!(om.header("vary"), Some("Accept-Encoding"));
    let text = om.text();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(text.contains("# TYPE app_requests counter\n"), "{text}");
    assert!(
        text.contains("app_requests_total{path=\"/b \\\"q\\\"\"} 5\n"),
        "{text}"
    );

    for accept in [
        None,
        Some("application/json"),
        Some("garbage;;;"),
        Some("*/*"),
    ] {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
        let plain = get(addr, "/metrics", &headers);
        assert_eq!(plain.status, 200);
        assert_eq!(
            plain.header("content-type"),
            Some(TEXT),
            "Accept {accept:?}"
        );
        let text = plain.text();
        assert!(
            text.contains("# TYPE app_requests_total counter\n"),
            "{text}"
        );
        assert!(!text.contains("# EOF"), "{text}");
    }
}

#[test]
fn head_answers_headers_without_a_body() {
    let handle = start(MetricsServer::new(app_registry()).unwrap());
    let head = request(handle.local_addr(), "HEAD", "/metrics", &[]);
    assert_eq!(head.status, 200);
    assert_eq!(head.header("content-type"), Some(TEXT));
    let length: usize = head.header("content-length").unwrap().parse().unwrap();
    assert!(length > 100, "{length}");
    assert!(head.body.is_empty());
}

/// Families whose values do not change between scrapes (the self-metrics do).
const STABLE: &str =
    "/metrics?name[]=app_requests_total&name[]=app_latency_seconds&name[]=app_jobs_total";

#[test]
fn gzip_and_zstd_decode_to_the_identity_body() {
    let handle = start(MetricsServer::new(app_registry()).unwrap());
    let addr = handle.local_addr();
    for accept in [PROMETHEUS_2_42, "text/plain"] {
        let identity = get(addr, STABLE, &[("Accept", accept)]);
        assert_eq!(identity.header("content-encoding"), None);
        assert!(identity.body.len() > 200);

        let gz = get(
            addr,
            STABLE,
            &[("Accept", accept), ("Accept-Encoding", "gzip")],
        );
        assert_eq!(gz.status, 200);
        assert_eq!(gz.header("content-encoding"), Some("gzip"));
        assert_eq!(gz.header("vary"), Some("Accept-Encoding"));
        assert_eq!(gz.header("content-type"), identity.header("content-type"));
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&gz.body[..])
            .read_to_end(&mut decoded)
            .unwrap();
        assert_eq!(decoded, identity.body);

        let zst = get(
            addr,
            STABLE,
            &[("Accept", accept), ("Accept-Encoding", "zstd")],
        );
        assert_eq!(zst.header("content-encoding"), Some("zstd"));
        assert_eq!(zstd::decode_all(&zst.body[..]).unwrap(), identity.body);

        // Prometheus' own header: gzip first.
        let both = get(
            addr,
            STABLE,
            &[
                ("Accept", accept),
                ("Accept-Encoding", "gzip, deflate, zstd"),
            ],
        );
        assert_eq!(both.header("content-encoding"), Some("gzip"));
        let refused = get(
            addr,
            STABLE,
            &[("Accept", accept), ("Accept-Encoding", "gzip;q=0, br")],
        );
        assert_eq!(refused.header("content-encoding"), None);
        assert_eq!(refused.body, identity.body);
    }
}

#[test]
fn name_filter_selects_families_by_exact_name() {
    let handle = start(MetricsServer::new(app_registry()).unwrap());
    let addr = handle.local_addr();
    let both = get(
        addr,
        "/metrics?name[]=app_jobs_total&name%5B%5D=app_latency_seconds",
        &[],
    )
    .text();
    assert_eq!(
        both,
        concat!(
            "# HELP app_latency_seconds Latency\n",
            "# TYPE app_latency_seconds histogram\n",
            "app_latency_seconds_bucket{le=\"0.1\"} 1\n",
            "app_latency_seconds_bucket{le=\"1.0\"} 2\n",
            "app_latency_seconds_bucket{le=\"10.0\"} 3\n",
            "app_latency_seconds_bucket{le=\"+Inf\"} 4\n",
            "app_latency_seconds_sum 55.55\n",
            "app_latency_seconds_count 4\n",
            "# HELP app_jobs_total Jobs\n",
            "# TYPE app_jobs_total counter\n",
            "app_jobs_total 7\n",
        )
    );
    // A prefix is not a name; other query parameters are ignored.
    assert_eq!(get(addr, "/metrics?name[]=app_jobs&x=1", &[]).text(), "");
    let om = get(
        addr,
        "/metrics?name[]=app_jobs_total",
        &[("Accept", PROMETHEUS_2_42)],
    )
    .text();
    assert_eq!(
        om,
        "# TYPE app_jobs counter\n# HELP app_jobs Jobs\napp_jobs_total 7\n# EOF\n"
    );
    // Without name[]: everything, self-metrics included.
    let all = get(addr, "/metrics", &[]).text();
    assert!(all.contains("app_requests_total{path=\"/a\"} 3\n"), "{all}");
    assert!(
        all.contains("promhttp_metric_handler_requests_total{code=\"200\"}"),
        "{all}"
    );
}

#[test]
fn past_the_in_flight_limit_scrapes_get_503_at_once() {
    let registry = registry();
    let (gate, control) = gate();
    registry
        .register(Desc::new("gated", "Holds renders open"), gate)
        .unwrap();
    let handle = start(MetricsServer::new(registry).unwrap().max_in_flight(1));
    let addr = handle.local_addr();

    let held = std::thread::spawn(move || get(addr, "/metrics", &[]));
    control.wait_entered();
    // The one slot is taken: this scrape is refused without waiting.
    let refused = get(addr, "/metrics", &[]);
    assert_eq!(refused.status, 503);
    assert_eq!(
        refused.text(),
        "Limit of concurrent requests reached (1), try again later.\n"
    );
    // Health checks are not scrapes.
    assert_eq!(get(addr, "/health", &[]).status, 200);

    control.release.send(()).unwrap();
    let held = held.join().unwrap();
    assert_eq!(held.status, 200);
    assert!(held.text().contains("gated 1.0\n"), "{}", held.text());

    // The slot is free again, and both answers were counted under client_golang's names.
    std::thread::spawn(move || {
        control.wait_entered();
        control.release.send(()).unwrap();
    });
    let after = get(addr, "/metrics", &[]).text();
    assert!(
        after.contains("promhttp_metric_handler_requests_total{code=\"200\"} 1\n"),
        "{after}"
    );
    assert!(
        after.contains("promhttp_metric_handler_requests_total{code=\"503\"} 1\n"),
        "{after}"
    );
    assert!(
        after.contains("promhttp_metric_handler_requests_total{code=\"500\"} 0\n"),
        "{after}"
    );
    assert!(
        after.contains("promhttp_metric_handler_requests_in_flight 1\n"),
        "{after}"
    );
    assert!(
        after.contains("# TYPE corral_http_render_duration_seconds histogram\n"),
        "{after}"
    );
    assert!(
        after.contains("corral_http_render_duration_seconds_count 1\n"),
        "{after}"
    );
    assert!(
        after.contains("# TYPE corral_http_response_bytes_total counter\n"),
        "{after}"
    );
}

#[test]
fn a_render_past_the_timeout_gets_503() {
    let registry = registry();
    let (gate, control) = gate();
    registry
        .register(Desc::new("gated", "Holds renders open"), gate)
        .unwrap();
    let handle = start(
        MetricsServer::new(registry)
            .unwrap()
            .render_timeout(Duration::from_millis(300)),
    );
    let addr = handle.local_addr();
    let waiter = std::thread::spawn(move || {
        control.wait_entered();
        control
    });
    let answer = get(addr, "/metrics", &[]);
    assert_eq!(answer.status, 503);
    assert_eq!(answer.text(), "Exceeded configured timeout of 300ms.\n");
    let control = waiter.join().unwrap();
    control.release.send(()).unwrap();
}

#[test]
fn bearer_and_basic_auth_answer_401_with_a_challenge() {
    let handle = start(
        MetricsServer::new(app_registry())
            .unwrap()
            .bearer_token("s3cret"),
    );
    let addr = handle.local_addr();
    for headers in [
        vec![],
        vec![("Authorization", "Bearer wrong")],
        vec![("Authorization", "Bearer s3cre")],
        vec![("Authorization", "Basic czNjcmV0")],
    ] {
        let denied = get(addr, "/metrics", &headers);
        assert_eq!(denied.status, 401, "{headers:?}");
        assert_eq!(
            denied.header("www-authenticate"),
            Some("Bearer realm=\"metrics\"")
        );
    }
    assert_eq!(
        get(addr, "/metrics", &[("Authorization", "Bearer s3cret")]).status,
        200
    );
    assert_eq!(
        get(addr, "/metrics", &[("Authorization", "bearer s3cret")]).status,
        200
    );
    // Only the metrics path is protected.
    assert_eq!(get(addr, "/health", &[]).status, 200);
    drop(handle);

    let handle = start(
        MetricsServer::new(app_registry())
            .unwrap()
            .basic_auth("prom", "pä ss"),
    );
    let addr = handle.local_addr();
    let denied = get(
        addr,
        "/metrics",
        &[("Authorization", "Basic cHJvbTp3cm9uZw==")],
    );
    assert_eq!(denied.status, 401);
    assert_eq!(
        denied.header("www-authenticate"),
        Some("Basic realm=\"metrics\", charset=\"UTF-8\"")
    );
    // base64("prom:pä ss") of the UTF-8 bytes.
    let ok = get(
        addr,
        "/metrics",
        &[("Authorization", "Basic cHJvbTpww6Qgc3M=")],
    );
    assert_eq!(ok.status, 200);
}

#[test]
fn other_paths_are_404_and_other_methods_405() {
    let handle = start(MetricsServer::new(app_registry()).unwrap().path("/custom"));
    let addr = handle.local_addr();
    assert_eq!(get(addr, "/custom", &[]).status, 200);
    assert_eq!(get(addr, "/metrics", &[]).status, 404);
    assert_eq!(get(addr, "/", &[]).status, 404);
    for method in ["POST", "PUT", "DELETE"] {
        let answer = request(addr, method, "/custom", &[("Content-Length", "0")]);
        assert_eq!(answer.status, 405, "{method}");
        let allow = answer.header("allow").unwrap();
        assert!(allow.contains("GET") && allow.contains("HEAD"), "{allow}");
    }
    assert_eq!(get(addr, "/health", &[]).text(), "ok\n");
    assert_eq!(get(addr, "/ready", &[]).status, 200);
}

#[test]
fn ready_waits_for_the_application_when_asked_to() {
    let server = MetricsServer::new(app_registry())
        .unwrap()
        .manual_readiness();
    let readiness = server.readiness();
    let handle = start(server);
    let addr = handle.local_addr();
    assert_eq!(get(addr, "/ready", &[]).status, 503);
    assert_eq!(get(addr, "/health", &[]).status, 200);
    readiness.set_ready(true);
    assert_eq!(get(addr, "/ready", &[]).status, 200);
}

#[test]
fn oversized_headers_get_431_or_a_closed_connection() {
    let handle = start(
        MetricsServer::new(app_registry())
            .unwrap()
            .max_header_bytes(8192),
    );
    let addr = handle.local_addr();
    let big = "x".repeat(64 << 10);
    let raw = format!("GET /metrics HTTP/1.1\r\nHost: a\r\nX-Big: {big}\r\n\r\n");
    match send_raw(addr, raw.as_bytes()) {
        Ok(answer) => assert_eq!(answer.status, 431),
        // Closed while the rest was still being written: also a refusal.
        Err(e) => assert!(
            matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ),
            "{e}"
        ),
    }
    // The server is unharmed.
    assert_eq!(get(addr, "/metrics", &[]).status, 200);
}

#[test]
fn a_slow_client_is_cut_off_while_a_real_scrape_succeeds() {
    let handle = start(
        MetricsServer::new(app_registry())
            .unwrap()
            .header_read_timeout(Duration::from_secs(1)),
    );
    let addr = handle.local_addr();
    let slow = std::thread::spawn(move || {
        let request =
            b"GET /metrics HTTP/1.1\r\nHost: slow\r\nUser-Agent: one-byte-a-second\r\n\r\n";
        let mut stream = TcpStream::connect(addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let started = Instant::now();
        for (sent, byte) in request.iter().enumerate() {
            if stream.write_all(&[*byte]).is_err() {
                return (sent, started.elapsed());
            }
            // The server closing shows as end of stream, a reset, or an error answer.
            let mut buf = [0u8; 256];
            match stream.read(&mut buf) {
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                _ => return (sent + 1, started.elapsed()),
            }
            std::thread::sleep(Duration::from_millis(950));
        }
        (request.len(), started.elapsed())
    });
    std::thread::sleep(Duration::from_millis(300));
    // Meanwhile a real scrape goes through at once.
    let scrape = get(addr, "/metrics", &[]);
    assert_eq!(scrape.status, 200);
    let (sent, after) = slow.join().unwrap();
    assert!(
        sent < 10 && after < Duration::from_secs(8),
        "the slow client sent {sent} bytes over {after:?} before being cut off"
    );
}

#[test]
fn graceful_shutdown_finishes_in_flight_scrapes() {
    let registry = registry();
    let (gate, control) = gate();
    registry
        .register(Desc::new("gated", "Holds renders open"), gate)
        .unwrap();
    let handle = start(MetricsServer::new(registry).unwrap());
    let addr = handle.local_addr();
    let held = std::thread::spawn(move || get(addr, "/metrics", &[]));
    control.wait_entered();
    let stopping = std::thread::spawn(move || handle.shutdown());
    // Wait until the listener is gone: new connections are refused.
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting after shutdown began"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        !stopping.is_finished(),
        "shutdown waited for the in-flight scrape"
    );
    control.release.send(()).unwrap();
    let held = held.join().unwrap();
    assert_eq!(held.status, 200);
    assert!(held.text().contains("gated 1.0\n"));
    stopping.join().unwrap().unwrap();
}

#[test]
fn a_port_in_use_is_an_error_naming_the_address() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let error = MetricsServer::new(app_registry())
        .unwrap()
        .address(address.clone())
        .spawn_thread()
        .unwrap_err();
    assert!(matches!(error, ServerError::Bind { .. }));
    assert_eq!(
        error.to_string(),
        format!(
            "cannot serve metrics on {address}: the address is already in use \
             (another process, or another server, listens there)"
        )
    );
}

#[test]
fn a_second_server_on_one_registry_is_refused() {
    let registry = app_registry();
    let _first = MetricsServer::new(registry).unwrap();
    let error = MetricsServer::new(registry).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("promhttp_metric_handler_requests_total"),
        "{error}"
    );
}

#[test]
fn configured_from_observability_yaml() {
    let yaml = "observability:\n  prometheus:\n    endpoint:\n      host: \"127.0.0.1\"\n      port: 0\n      path: \"/scrape\"\n";
    let config = ObservabilityConfig::from_yaml_str(yaml).unwrap();
    let handle = MetricsServer::new(app_registry())
        .unwrap()
        .with_endpoint(&config.prometheus.endpoint)
        .spawn_thread()
        .unwrap();
    let addr: SocketAddr = handle.local_addr();
    assert!(addr.ip().is_loopback());
    assert_eq!(get(addr, "/scrape", &[]).status, 200);
    assert_eq!(get(addr, "/metrics", &[]).status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_on_the_callers_runtime_and_mounted_in_an_app() {
    // serve(listener, shutdown)
    let server = MetricsServer::new(app_registry())
        .unwrap()
        .address("127.0.0.1:0");
    let listener = server.bind().await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(listener, async {
        let _ = stopped.await;
    }));
    let answer =
        tokio::task::spawn_blocking(move || get(addr, "/metrics", &[("Accept", PROMETHEUS_2_42)]))
            .await
            .unwrap();
    assert_eq!(answer.header("content-type"), Some(OPENMETRICS));
    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();

    // router() merged into an application's own axum server.
    let server = MetricsServer::new(app_registry()).unwrap();
    let app = axum::Router::new()
        .route("/hello", axum::routing::get(|| async { "hi" }))
        .merge(server.router());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app_server = tokio::spawn(async move { axum::serve(listener, app).await });
    let (hello, metrics) = tokio::task::spawn_blocking(move || {
        (
            get(addr, "/hello", &[]),
            get(addr, "/metrics", &[("Accept-Encoding", "gzip")]),
        )
    })
    .await
    .unwrap();
    assert_eq!(hello.text(), "hi");
    assert_eq!(metrics.status, 200);
    assert_eq!(metrics.header("content-encoding"), Some("gzip"));
    app_server.abort();
}
