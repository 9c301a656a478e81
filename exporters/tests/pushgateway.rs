//! The Pushgateway client against Debian's real `prometheus-pushgateway`, started as a
//! plain process on a free loopback port (no persistence) and killed when the test ends,
//! even on panic. Without the binary the test fails and says how to install it.
#![cfg(feature = "pushgateway")]

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use corral_core::{Counter, Desc, DynamicFamily, Gauge, Histogram, Registry, RegistryConfig};
use corral_exporters::push::{PushError, Pushgateway};

mod peers;

use peers::{start_on_fresh_ports, wait_ready};

const BINARY: &str = "prometheus-pushgateway";

/// A running gateway; killed on drop.
struct Gateway {
    child: Child,
    port: u16,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_gateway() -> Gateway {
    start_gateway_with(&[])
}

fn start_gateway_with(extra: &[String]) -> Gateway {
    let installed = Command::new(BINARY)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        installed,
        "`{BINARY}` is not installed; install it with `apt-get install -y prometheus-pushgateway` \
         (Debian; the service need not run) or run ./test.sh, which installs it"
    );
    start_on_fresh_ports("the Pushgateway", |[port]| {
        let child = Command::new(BINARY)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--persistence.file=")
            .args(extra)
            .current_dir(std::env::temp_dir())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start prometheus-pushgateway");
        let mut gateway = Gateway { child, port };
        // Up is enough: with authentication configured, readiness answers 401.
        let ready =
            || get(port, "/-/ready").is_some_and(|(status, _)| status == 200 || status == 401);
        let what = format!("the Pushgateway on port {port}");
        wait_ready(
            &mut gateway.child,
            &what,
            Duration::from_secs(20),
            ready,
            String::new,
        )?;
        Ok(gateway)
    })
}

/// A plain HTTP/1.0 GET: the status and the body.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    get_with(port, path, "")
}

/// A plain HTTP/1.0 GET with extra header lines (each ending in CRLF).
fn get_with(port: u16, path: &str, headers: &str) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n{headers}\r\n"
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split(' ').nth(1)?.parse().ok()?;
    let body = response.split_once("\r\n\r\n")?.1.to_owned();
    Some((status, body))
}

/// The gateway's own exposition: the samples of family `name`, as lines.
fn scraped(port: u16, name: &str) -> Vec<String> {
    let (status, body) = get(port, "/metrics").expect("scrape the gateway");
    assert_eq!(status, 200);
    body.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .map(str::to_owned)
        .collect()
}

fn has(lines: &[String], labels: &[&str], value: &str) -> bool {
    lines
        .iter()
        .any(|l| l.ends_with(&format!(" {value}")) && labels.iter().all(|label| l.contains(label)))
}

static ROWS: Counter = Counter::new();
static BY_TABLE: DynamicFamily<Counter, 1, 8> = DynamicFamily::new(["table"]);
static REGISTRY: Registry<8> =
    Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));

static DURATION: Gauge = Gauge::new();
static SECOND: Registry<4> =
    Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));

static JOB_LABELLED: DynamicFamily<Counter, 1, 4> = DynamicFamily::new(["job"]);
static WITH_JOB: Registry<4> =
    Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));

static CLASH: Histogram<3> = Histogram::new(&[1.0, 2.0]);
static CLASHING: Registry<4> =
    Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));

#[test]
fn push_push_add_grouping_delete_and_errors_against_a_real_gateway() {
    REGISTRY
        .register(Desc::new("rows_imported_total", "Rows imported"), &ROWS)
        .unwrap();
    REGISTRY
        .register(Desc::new("rows_by_table_total", "Rows by table"), &BY_TABLE)
        .unwrap();
    SECOND
        .register(
            Desc::new("import_duration_seconds", "Duration").with_unit("seconds"),
            &DURATION,
        )
        .unwrap();
    ROWS.inc_by(1234);
    BY_TABLE.with_labels(["users"]).inc_by(34);
    DURATION.set(2.5);

    let gw = start_gateway();
    let port = gw.port;
    let gateway = Pushgateway::new(&format!("http://127.0.0.1:{port}"))
        .unwrap()
        .with_timeout(Duration::from_secs(5));
    let group: &[(&str, &str)] = &[("shard", "eu/1"), ("zone", "")];
    assert_eq!(
        gateway.group_url("import", group).unwrap(),
        format!("http://127.0.0.1:{port}/metrics/job/import/shard@base64/ZXUvMQ==/zone@base64/=")
    );

    // PUT: the series are there, with the job and the grouping labels (a `/` in a value).
    gateway.push_blocking("import", group, &REGISTRY).unwrap();
    let shard = "shard=\"eu/1\"";
    let job = "job=\"import\"";
    assert!(
        has(&scraped(port, "rows_imported_total"), &[job, shard], "1234"),
        "{:?}",
        scraped(port, "rows_imported_total")
    );
    assert!(has(
        &scraped(port, "rows_by_table_total"),
        &[job, shard, "table=\"users\""],
        "34"
    ));

    // POST adds a family and keeps the others.
    gateway.push_add_blocking("import", group, &SECOND).unwrap();
    assert!(has(
        &scraped(port, "import_duration_seconds"),
        &[job, shard],
        "2.5"
    ));
    assert!(has(
        &scraped(port, "rows_imported_total"),
        &[job, shard],
        "1234"
    ));

    // PUT replaces the whole group: the first registry's families are gone. Async, from
    // inside a runtime, and the blocking call made from within that runtime too.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        gateway.push("import", group, &SECOND).await.unwrap();
        // A blocking call inside a runtime runs on a helper thread instead of panicking.
        gateway
            .push_add_blocking("import", &[("shard", "us")], &REGISTRY)
            .unwrap();
    });
    assert!(
        scraped(port, "rows_imported_total")
            .iter()
            .all(|l| !l.contains(shard))
    );
    assert!(has(
        &scraped(port, "import_duration_seconds"),
        &[job, shard],
        "2.5"
    ));
    assert!(has(
        &scraped(port, "rows_imported_total"),
        &[job, "shard=\"us\""],
        "1234"
    ));

    // A family with its own `job` label is refused before anything is sent.
    WITH_JOB
        .register(Desc::new("jobs_seen_total", "Jobs"), &JOB_LABELLED)
        .unwrap();
    JOB_LABELLED.with_labels(["other"]).inc();
    let err = gateway
        .push_blocking("import", group, &WITH_JOB)
        .unwrap_err();
    assert!(matches!(err, PushError::JobLabel { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("`jobs_seen_total` has a `job` label"),
        "{err}"
    );
    assert!(scraped(port, "jobs_seen_total").is_empty());
    // So is one that carries a grouping label.
    let err = gateway
        .push_blocking("import", &[("table", "x")], &REGISTRY)
        .unwrap_err();
    assert!(matches!(err, PushError::GroupingLabel { .. }), "{err}");

    // The gateway's own refusal names the status and its message: a family pushed as a
    // histogram in one group while it is a gauge in another.
    CLASHING
        .register(Desc::new("import_duration_seconds", "Duration"), &CLASH)
        .unwrap();
    CLASH.observe(1.5);
    let err = gateway
        .push_blocking("other_job", &[], &CLASHING)
        .unwrap_err();
    match &err {
        PushError::Status {
            status, message, ..
        } => {
            assert_eq!(*status, 400, "{err}");
            assert!(!message.trim().is_empty(), "{err}");
        }
        other => panic!("expected a status error, got {other}"),
    }
    assert!(err.to_string().contains("answered HTTP 400: "), "{err}");

    // DELETE removes the group.
    gateway.delete_blocking("import", group).unwrap();
    assert!(scraped(port, "import_duration_seconds").is_empty());
    assert!(has(
        &scraped(port, "rows_imported_total"),
        &[job, "shard=\"us\""],
        "1234"
    ));

    // The guard pushes when dropped.
    {
        let _guard = gateway.push_on_drop("guarded", &[("run", "1")], &SECOND);
        DURATION.set(7.0);
    }
    assert!(has(
        &scraped(port, "import_duration_seconds"),
        &["job=\"guarded\"", "run=\"1\""],
        "7"
    ));

    // The gateway is gone: a clear error, no panic.
    drop(gw);
    let err = gateway
        .push_blocking("import", group, &REGISTRY)
        .unwrap_err();
    assert!(matches!(err, PushError::Transport { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "cannot reach the Pushgateway at http://127.0.0.1:{port}/metrics/job/import"
        )),
        "{text}"
    );
    assert!(text.to_lowercase().contains("refused"), "{text}");
}

#[test]
fn a_gateway_that_never_answers_times_out() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    // Accepts the connection, reads nothing, answers nothing.
    let hold = std::thread::spawn(move || listener.accept().map(|(s, _)| s));
    let gateway = Pushgateway::new(&format!("http://127.0.0.1:{port}/"))
        .unwrap()
        .with_timeout(Duration::from_millis(300));
    let err = gateway.delete_blocking("stuck", &[]).unwrap_err();
    assert!(matches!(err, PushError::Timeout { .. }), "{err}");
    assert!(
        err.to_string().contains("did not answer within 300ms"),
        "{err}"
    );
    drop(hold.join());
}

#[test]
fn bad_urls_and_groupings_are_refused() {
    for (url, why) in [
        ("https://gw:9091", "https is not supported"),
        ("gw:9091", "http://"),
        ("http://gw:9091/?a=b", "query"),
    ] {
        let err = Pushgateway::new(url).unwrap_err();
        assert!(err.to_string().contains(why), "{url}: {err}");
    }
    let gateway = Pushgateway::new("http://gw:9091/prefix/").unwrap();
    assert_eq!(
        gateway
            .group_url("a b", &[("instance", "host-1.local")])
            .unwrap(),
        "http://gw:9091/prefix/metrics/job@base64/YSBi/instance/host-1.local"
    );
    for (job, grouping, why) in [
        ("", &[][..], "job name is empty"),
        ("j", &[("bad-label", "v")][..], "not a valid label name"),
        ("j", &[("job", "v")][..], "not a grouping label"),
        ("j", &[("a", "1"), ("a", "2")][..], "repeated"),
    ] {
        let err = gateway.group_url(job, grouping).unwrap_err();
        assert!(err.to_string().contains(why), "{err}");
    }
}

static DOTS: Counter = Counter::new();
static DOTS_REGISTRY: Registry<2> =
    Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));

/// Regression (found by the `pushgateway_grouping` fuzz target): a job or label value of
/// `.` or `..` went into the path as it stood, a dot segment, and the gateway answered the
/// push with a 301 to the resolved path. Such values now go as base64 and arrive intact.
#[test]
fn dot_segment_values_reach_a_real_gateway() {
    DOTS_REGISTRY
        .register(Desc::new("dots_total", "Dots"), &DOTS)
        .unwrap();
    DOTS.inc_by(7);
    let gw = start_gateway();
    let port = gw.port;
    let gateway = Pushgateway::new(&format!("http://127.0.0.1:{port}"))
        .unwrap()
        .with_timeout(Duration::from_secs(5));
    let group: &[(&str, &str)] = &[("instance", ".."), ("zone", ".")];
    assert_eq!(
        gateway.group_url(".", group).unwrap(),
        format!(
            "http://127.0.0.1:{port}/metrics/job@base64/Lg==/instance@base64/Li4=/zone@base64/Lg=="
        )
    );
    gateway.push_blocking(".", group, &DOTS_REGISTRY).unwrap();
    let lines = scraped(port, "dots_total");
    assert!(
        has(&lines, &["job=\".\"", "instance=\"..\"", "zone=\".\""], "7"),
        "{lines:?}"
    );
}

/// bcrypt (cost 4) of `batch-secret`, as the gateway's web configuration wants it.
const PASSWORD_HASH: &str = "$2b$04$DhgUjES6FENp/9H6iAcy5u2DteZqRs6rK.Ge9pPwVdnc9feuhTDti";

static AUTHED: Counter = Counter::new();
static AUTH_REGISTRY: Registry<2> =
    Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));

#[test]
fn basic_auth_against_a_gateway_that_requires_it() {
    AUTH_REGISTRY
        .register(Desc::new("authed_pushes_total", "Pushes"), &AUTHED)
        .unwrap();
    AUTHED.inc_by(3);
    let dir = std::env::temp_dir().join(format!("corral-pushgateway-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("web.yml");
    std::fs::write(
        &config,
        format!("basic_auth_users:\n  pusher: {PASSWORD_HASH}\n"),
    )
    .unwrap();
    let gw = start_gateway_with(&[format!("--web.config.file={}", config.display())]);
    let url = format!("http://127.0.0.1:{}", gw.port);

    let status = |err: PushError| match err {
        PushError::Status { status, .. } => status,
        other => panic!("expected a status error, got {other}"),
    };
    let anonymous = Pushgateway::new(&url).unwrap();
    let err = anonymous
        .push_blocking("authed", &[], &AUTH_REGISTRY)
        .unwrap_err();
    assert!(err.to_string().contains("answered HTTP 401"), "{err}");
    assert_eq!(status(err), 401);
    let wrong = Pushgateway::new(&url)
        .unwrap()
        .with_basic_auth("pusher", "guess");
    assert_eq!(
        status(
            wrong
                .push_blocking("authed", &[], &AUTH_REGISTRY)
                .unwrap_err()
        ),
        401
    );
    // The gateway knows only Basic credentials: a bearer token is sent and refused.
    let bearer = Pushgateway::new(&url)
        .unwrap()
        .with_bearer_token("batch-secret");
    assert_eq!(
        status(
            bearer
                .push_blocking("authed", &[], &AUTH_REGISTRY)
                .unwrap_err()
        ),
        401
    );

    let right = Pushgateway::new(&url)
        .unwrap()
        .with_basic_auth("pusher", "batch-secret");
    right.push_blocking("authed", &[], &AUTH_REGISTRY).unwrap();
    // cHVzaGVyOmJhdGNoLXNlY3JldA== is base64("pusher:batch-secret").
    let (code, body) = get_with(
        gw.port,
        "/metrics",
        "Authorization: Basic cHVzaGVyOmJhdGNoLXNlY3JldA==\r\n",
    )
    .unwrap();
    assert_eq!(code, 200);
    assert!(
        body.lines().any(|l| l.starts_with("authed_pushes_total{")
            && l.contains("job=\"authed\"")
            && l.ends_with(" 3")),
        "{body}"
    );
    right.delete_blocking("authed", &[]).unwrap();
    drop(gw);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_bearer_token_goes_in_the_authorization_header() {
    // A one-request listener that keeps the request's head and answers 200.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap() == 1 {
            head.push(byte[0]);
        }
        stream
            .write_all(b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
            .unwrap();
        String::from_utf8(head).unwrap()
    });
    let gateway = Pushgateway::new(&format!("http://127.0.0.1:{port}"))
        .unwrap()
        .with_bearer_token("tok-123");
    gateway.delete_blocking("bearer", &[("a", "b")]).unwrap();
    let head = server.join().unwrap().to_lowercase();
    assert!(
        head.starts_with("delete /metrics/job/bearer/a/b http/1.1\r\n"),
        "{head}"
    );
    assert!(
        head.contains("\r\nauthorization: bearer tok-123\r\n"),
        "{head}"
    );
}
