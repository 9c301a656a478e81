//! `corral-demo`: the specification's LLM Auto Optimizer stream processor, simulated and
//! instrumented through Corral's catalog (`corral_std::catalog`), served on `/metrics`,
//! with spans propagated across a simulated Kafka hop and exemplars on its latency
//! histograms.
//!
//! ```text
//! cargo run --release --bin corral-demo -- --help
//! ```
#![forbid(unsafe_code)]

mod cli;
mod otlp;
mod sim;

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::Parser;
use corral_exporters::http::MetricsServer;
use corral_exporters::trace::exemplar::set_span_exemplar_one_in;
use corral_exporters::trace::{SpanFactory, Tracing};
use corral_std::catalog::Catalog;
use corral_std::config::ObservabilityConfig;
use corral_std::process::ProcessCollector;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};

use crate::cli::Args;
use crate::otlp::{OtlpTarget, start_metric_export, start_trace_export};

/// The embedded defaults: the repository's example configuration.
const DEFAULT_CONFIG: &str = include_str!("../../../config/observability.yaml");
/// Where `/metrics` is served without `--listen` or `--config`.
const DEFAULT_LISTEN: &str = "127.0.0.1:9090";

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            // clap prints help and version to stdout (exit 0) and usage errors to stderr.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    if let Err(e) = args.validate() {
        eprintln!("corral-demo: error: {e}");
        return ExitCode::from(2);
    }
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("corral-demo: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(args: &Args) -> Result<ObservabilityConfig, String> {
    match &args.config {
        Some(path) => ObservabilityConfig::from_file(path).map_err(|e| format!("--config: {e}")),
        None => ObservabilityConfig::from_yaml_str(DEFAULT_CONFIG)
            .map_err(|e| format!("the embedded configuration: {e}")),
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let config = load_config(&args)?;
    let listen = match (&args.listen, &args.config) {
        (Some(listen), _) => listen.clone(),
        (None, Some(_)) => config.prometheus.endpoint.address(),
        (None, None) => DEFAULT_LISTEN.to_owned(),
    };

    let registry = corral_std::init_default_registry(config.registry_config())
        .map_err(|_| "the default registry was created before the configuration was read")?;
    let catalog = Catalog::register(registry)?;
    let process = ProcessCollector::register(registry);
    if let Err(e) = &process {
        eprintln!("corral-demo: process metrics are off: {e}");
    }

    let otlp = args
        .otlp_endpoint
        .as_deref()
        .map(|url| OtlpTarget::new(url, args.otlp_protocol, args.export_interval_ms, &config));
    // Spans: exported when a collector is given; otherwise kept in process only, where
    // they still give the latency histograms their exemplars.
    let (tracing, tracer) = match &otlp {
        Some(target) => {
            let tracing: Tracing = start_trace_export(&config, target)?;
            let tracer = tracing.tracer("corral-demo");
            (Some(tracing), tracer)
        }
        None => {
            let provider = SdkTracerProvider::builder()
                .with_sampler(Sampler::AlwaysOn)
                .build();
            let tracer = opentelemetry::trace::TracerProvider::tracer(&provider, "corral-demo");
            (None, tracer)
        }
    };
    // Every sampled trace leaves exemplars (traces are already one event in --trace-every).
    set_span_exemplar_one_in(1);
    let spans = SpanFactory::new(tracer, "stream_processor");

    // Held until `run` returns: the metric exporter stops (after a final push) when the
    // simulation and the server have stopped.
    let _metric_export = match &otlp {
        Some(target) => Some(
            start_metric_export(registry, &config, target)
                .map_err(|e| format!("OTLP metric export: {e}"))?,
        ),
        None => None,
    };

    let server = MetricsServer::new(registry)?
        .address(listen)
        .path(config.prometheus.endpoint.path.clone());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let listener = runtime.block_on(server.bind())?;
    let addr = listener.local_addr()?;
    let path = &config.prometheus.endpoint.path;
    println!("corral-demo: simulating {} events/s", args.rate);
    println!("corral-demo: metrics  http://{addr}{path}");
    println!("corral-demo: health   http://{addr}/health   ready http://{addr}/ready");
    if let Some(target) = &otlp {
        println!(
            "corral-demo: spans    {} ({:?})",
            target.traces_url(),
            target.protocol
        );
    }
    match args.run_for() {
        Some(d) => println!("corral-demo: running for {:.1} s", d.as_secs_f64()),
        None => println!("corral-demo: press Ctrl-C to stop"),
    }

    let stop = Arc::new(AtomicBool::new(false));
    let sim_stop = Arc::clone(&stop);
    let sim_config = sim::SimConfig {
        rate: args.rate,
        trace_every: args.trace_every,
        measure: args.measure_recording,
        seed: args.seed,
    };
    let simulation = std::thread::Builder::new()
        .name("simulation".into())
        .spawn(move || sim::run(catalog, spans, sim_config, sim_stop))?;

    let run_for = args.run_for();
    let served = runtime.block_on(async move {
        let shutdown = async move {
            match run_for {
                Some(d) => tokio::select! {
                    () = tokio::time::sleep(d) => {}
                    _ = tokio::signal::ctrl_c() => {}
                },
                None => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        };
        server.serve(listener, shutdown).await
    });
    stop.store(true, Ordering::Relaxed);
    let report = simulation
        .join()
        .map_err(|_| "the simulation thread panicked")?;
    served?;
    if let Some(tracing) = tracing {
        tracing.shutdown()?;
    }
    runtime.shutdown_timeout(Duration::from_secs(5));
    print_report(&report, args.measure_recording);
    Ok(())
}

fn print_report(report: &sim::Report, measured: bool) {
    let wall = report.wall.as_secs_f64();
    println!(
        "corral-demo: stopped after {} events in {:.1} s ({:.0} events/s)",
        report.events,
        wall,
        report.events as f64 / wall.max(1e-9)
    );
    if let Some(cpu) = report.cpu_ns {
        println!(
            "corral-demo: simulation thread CPU {:.3} s ({:.2}% of one core)",
            cpu as f64 / 1e9,
            cpu as f64 / 1e9 / wall.max(1e-9) * 100.0
        );
    }
    if measured && !report.record_ns.is_empty() {
        let mut ns = report.record_ns.clone();
        ns.sort_unstable();
        let at = |q: f64| ns[((ns.len() - 1) as f64 * q) as usize];
        let total: u64 = ns.iter().map(|&n| u64::from(n)).sum();
        let clock = u64::from(report.clock_ns) * ns.len() as u64;
        println!(
            "corral-demo: recording per event ({} untraced events, clock pair {} ns included): \
             p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns",
            ns.len(),
            report.clock_ns,
            at(0.5),
            at(0.99),
            at(0.999),
            ns[ns.len() - 1]
        );
        println!(
            "corral-demo: recording took {:.3} s of {:.1} s: {:.3}% of one core ({:.3}% without the clock reads)",
            total as f64 / 1e9,
            wall,
            total as f64 / 1e9 / wall * 100.0,
            total.saturating_sub(clock) as f64 / 1e9 / wall * 100.0
        );
    }
}
