//! The command line and its checks: every flag is validated before anything starts.

use std::fmt;
use std::net::ToSocketAddrs;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// A simulated LLM Auto Optimizer stream processor, instrumented with Corral.
///
/// Serves Prometheus metrics over HTTP; with --otlp-endpoint also exports spans (and,
/// where this build has it, metrics) to an OpenTelemetry collector.
#[derive(Debug, Parser)]
#[command(name = "corral-demo", version)]
pub struct Args {
    /// The observability configuration (the specification's `observability.yaml`);
    /// without it the embedded defaults (`config/observability.yaml`) are used.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Address of the /metrics server [default: 127.0.0.1:9090; with --config, the
    /// file's `prometheus.endpoint`]. Port 0 picks a free port.
    #[arg(long, value_name = "HOST:PORT")]
    pub listen: Option<String>,

    /// OTLP collector URL (http:// or https://): turns on OTLP export.
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,

    /// OTLP transport [default: the configuration's `opentelemetry.otlp.protocol`].
    #[arg(long, value_enum, value_name = "PROTOCOL")]
    pub otlp_protocol: Option<Protocol>,

    /// OTLP metric export interval in milliseconds [default: the configuration's
    /// `opentelemetry.metrics.export_interval_seconds`].
    #[arg(long, value_name = "N")]
    pub export_interval_ms: Option<u64>,

    /// Events per second the simulated pipeline processes.
    #[arg(long, value_name = "EVENTS_PER_SEC", default_value_t = 1000)]
    pub rate: u64,

    /// Seconds to run [default: until Ctrl-C]; then shuts down gracefully.
    #[arg(long, value_name = "SECS", allow_negative_numbers = true)]
    pub duration: Option<f64>,

    /// One event in N is traced across the simulated Kafka hop (0: none).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub trace_every: u64,

    /// Times every event's recording and prints its latency distribution and CPU share
    /// at exit.
    #[arg(long)]
    pub measure_recording: bool,

    /// Seed of the simulation's random draws.
    #[arg(long, value_name = "N", default_value_t = 0x5eed)]
    pub seed: u64,
}

/// `--otlp-protocol`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Protocol {
    /// OTLP over gRPC.
    Grpc,
    /// OTLP over HTTP with protobuf bodies.
    Http,
}

/// A flag whose value cannot be used.
#[derive(Debug, PartialEq, Eq)]
pub struct FlagError {
    /// The flag.
    pub flag: &'static str,
    /// Its value.
    pub value: String,
    /// What is wrong with it.
    pub problem: String,
}

impl fmt::Display for FlagError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}: {}", self.flag, self.value, self.problem)
    }
}

impl std::error::Error for FlagError {}

/// Highest `--rate` accepted.
pub const MAX_RATE: u64 = 10_000_000;

fn bad(flag: &'static str, value: impl fmt::Display, problem: impl Into<String>) -> FlagError {
    FlagError {
        flag,
        value: value.to_string(),
        problem: problem.into(),
    }
}

impl Args {
    /// Checks the values clap cannot: addresses, URLs, ranges.
    pub fn validate(&self) -> Result<(), FlagError> {
        if let Some(listen) = &self.listen {
            check_listen(listen)?;
        }
        if let Some(url) = &self.otlp_endpoint {
            check_url(url)?;
        }
        if let Some(ms) = self.export_interval_ms {
            if ms == 0 {
                return Err(bad("--export-interval-ms", ms, "must be at least 1"));
            }
            if self.otlp_endpoint.is_none() {
                return Err(bad(
                    "--export-interval-ms",
                    ms,
                    "only applies to OTLP export: give --otlp-endpoint too",
                ));
            }
        }
        if self.otlp_protocol.is_some() && self.otlp_endpoint.is_none() {
            return Err(bad(
                "--otlp-protocol",
                format!("{:?}", self.otlp_protocol.unwrap_or(Protocol::Grpc)).to_lowercase(),
                "only applies to OTLP export: give --otlp-endpoint too",
            ));
        }
        if self.rate == 0 || self.rate > MAX_RATE {
            return Err(bad(
                "--rate",
                self.rate,
                format!("must be between 1 and {MAX_RATE} events per second"),
            ));
        }
        if let Some(secs) = self.duration
            && !(secs.is_finite() && secs > 0.0 && secs <= 366.0 * 86_400.0)
        {
            {
                return Err(bad(
                    "--duration",
                    secs,
                    "must be a positive number of seconds (at most a year)",
                ));
            }
        }
        Ok(())
    }

    /// `--duration` as a `Duration`.
    pub fn run_for(&self) -> Option<Duration> {
        self.duration.map(Duration::from_secs_f64)
    }
}

fn check_listen(listen: &str) -> Result<(), FlagError> {
    let Some((host, port)) = listen.rsplit_once(':') else {
        return Err(bad("--listen", listen, "expected HOST:PORT"));
    };
    if host.is_empty() {
        return Err(bad(
            "--listen",
            listen,
            "the host is missing (expected HOST:PORT)",
        ));
    }
    if port.parse::<u16>().is_err() {
        return Err(bad(
            "--listen",
            listen,
            format!("the port {port:?} is not a number from 0 to 65535"),
        ));
    }
    match listen.to_socket_addrs() {
        Ok(addrs) if addrs.len() > 0 => Ok(()),
        Ok(_) => Err(bad("--listen", listen, "the host has no address")),
        Err(e) => Err(bad(
            "--listen",
            listen,
            format!("cannot resolve the host: {e}"),
        )),
    }
}

fn check_url(url: &str) -> Result<(), FlagError> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(bad(
            "--otlp-endpoint",
            url,
            "expected a URL such as http://localhost:4317",
        ));
    };
    if scheme != "http" && scheme != "https" {
        return Err(bad(
            "--otlp-endpoint",
            url,
            format!("the scheme must be http or https, not {scheme:?}"),
        ));
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
            if !port.is_empty() && port.parse::<u16>().is_err() {
                return Err(bad(
                    "--otlp-endpoint",
                    url,
                    format!("the port {port:?} is not a number from 0 to 65535"),
                ));
            }
            host
        }
        _ => authority,
    };
    if host.is_empty() || host.contains(char::is_whitespace) {
        return Err(bad(
            "--otlp-endpoint",
            url,
            "the host is missing or invalid",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(flags: &[&str]) -> Result<Args, String> {
        let args =
            Args::try_parse_from(std::iter::once("corral-demo").chain(flags.iter().copied()))
                .map_err(|e| e.to_string())?;
        args.validate().map_err(|e| e.to_string())?;
        Ok(args)
    }

    #[test]
    fn defaults() {
        let a = args(&[]).unwrap();
        assert_eq!(a.rate, 1000);
        assert_eq!(a.listen, None);
        assert_eq!(a.run_for(), None);
    }

    #[test]
    fn good_flags() {
        let a = args(&[
            "--listen",
            "127.0.0.1:0",
            "--otlp-endpoint",
            "http://127.0.0.1:4317",
            "--otlp-protocol",
            "http",
            "--export-interval-ms",
            "500",
            "--rate",
            "100000",
            "--duration",
            "2.5",
        ])
        .unwrap();
        assert_eq!(a.otlp_protocol, Some(Protocol::Http));
        assert_eq!(a.run_for(), Some(Duration::from_millis(2500)));
    }

    #[test]
    fn bad_flags_name_the_flag_and_the_problem() {
        let cases: &[(&[&str], &str)] = &[
            (
                &["--listen", "9090"],
                "--listen \"9090\": expected HOST:PORT",
            ),
            (
                &["--listen", "127.0.0.1:99999"],
                "--listen \"127.0.0.1:99999\": the port \"99999\" is not a number from 0 to 65535",
            ),
            (&["--listen", ":9090"], "the host is missing"),
            (
                &["--otlp-endpoint", "localhost:4317"],
                "--otlp-endpoint \"localhost:4317\": expected a URL such as http://localhost:4317",
            ),
            (
                &["--otlp-endpoint", "grpc://x:1"],
                "the scheme must be http or https",
            ),
            (
                &["--otlp-endpoint", "http://"],
                "the host is missing or invalid",
            ),
            (
                &["--otlp-endpoint", "http://h:port"],
                "the port \"port\" is not a number",
            ),
            (&["--otlp-endpoint", "collector"], "expected a URL"),
            (
                &[
                    "--otlp-endpoint",
                    "http://h:4317",
                    "--export-interval-ms",
                    "0",
                ],
                "--export-interval-ms \"0\": must be at least 1",
            ),
            (
                &["--export-interval-ms", "100"],
                "only applies to OTLP export",
            ),
            (&["--otlp-protocol", "grpc"], "only applies to OTLP export"),
            (
                &["--rate", "0"],
                "--rate \"0\": must be between 1 and 10000000",
            ),
            (
                &["--duration", "-1"],
                "--duration \"-1\": must be a positive number",
            ),
            (&["--duration", "0"], "must be a positive number"),
            (
                &["--rate", "fast"],
                "invalid value 'fast' for '--rate <EVENTS_PER_SEC>'",
            ),
            (
                &["--otlp-protocol", "udp"],
                "invalid value 'udp' for '--otlp-protocol <PROTOCOL>'",
            ),
            (&["--frobnicate"], "unexpected argument '--frobnicate'"),
        ];
        for (flags, expected) in cases {
            let err = args(flags).unwrap_err();
            assert!(
                err.contains(expected),
                "{flags:?}: got {err:?}, expected {expected:?}"
            );
        }
    }
}
