//! Bad flags and configurations: a clear error naming the problem, a non-zero exit, and
//! nothing started.

#[path = "../../tests/peers/mod.rs"]
mod peers;
mod support;

use std::net::TcpListener;
use std::process::{Command, Output};

use peers::TempDir;

fn demo(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_corral-demo"))
        .args(args)
        .output()
        .expect("run corral-demo")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn bad_flags_exit_2_with_the_flag_named() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["--rate", "0"],
            "corral-demo: error: --rate \"0\": must be between 1 and 10000000 events per second",
        ),
        (
            &["--listen", "localhost"],
            "corral-demo: error: --listen \"localhost\": expected HOST:PORT",
        ),
        (
            &["--otlp-endpoint", "ftp://collector:4317"],
            "corral-demo: error: --otlp-endpoint \"ftp://collector:4317\": the scheme must be http or https, not \"ftp\"",
        ),
        (
            &["--export-interval-ms", "1000"],
            "--export-interval-ms \"1000\": only applies to OTLP export: give --otlp-endpoint too",
        ),
        (
            &["--duration", "soon"],
            "invalid value 'soon' for '--duration <SECS>'",
        ),
        (
            &["--otlp-protocol", "thrift", "--otlp-endpoint", "http://h:1"],
            "invalid value 'thrift' for '--otlp-protocol <PROTOCOL>'",
        ),
        (&["--no-such-flag"], "unexpected argument '--no-such-flag'"),
    ];
    for (args, expected) in cases {
        let out = demo(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{args:?}: {:?} lacks {expected:?}",
            stderr(&out)
        );
        assert!(
            out.stdout.is_empty(),
            "{args:?} started: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn bad_configurations_name_the_file_and_the_key() {
    let dir = TempDir::new("cli");
    let missing = dir.0.join("missing.yaml");
    let out = demo(&["--config", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.starts_with("corral-demo: error: --config: "), "{err}");
    assert!(
        err.contains("missing.yaml") && err.contains("cannot read"),
        "{err}"
    );

    let bad_port = dir.0.join("bad-port.yaml");
    std::fs::write(
        &bad_port,
        "observability:\n  prometheus:\n    endpoint:\n      port: 99999\n",
    )
    .unwrap();
    let out = demo(&["--config", bad_port.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("bad-port.yaml") && err.contains("observability.prometheus.endpoint.port"),
        "{err}"
    );

    let unknown = dir.0.join("unknown-key.yaml");
    std::fs::write(
        &unknown,
        "observability:\n  prometheus:\n    enabeld: true\n",
    )
    .unwrap();
    let out = demo(&["--config", unknown.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("enabeld"), "{err}");
}

#[test]
fn a_taken_port_is_a_clear_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = demo(&["--listen", &addr, "--duration", "1"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains(&addr) && err.contains("in use"), "{err}");
}

#[test]
fn help_lists_every_flag() {
    let out = demo(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--config",
        "--listen",
        "--otlp-endpoint",
        "--otlp-protocol",
        "--export-interval-ms",
        "--rate",
        "--duration",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help:\n{help}");
    }
}
