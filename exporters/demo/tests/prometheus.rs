//! The demo scraped by a real Prometheus 2.42: every PromQL expression of every dashboard
//! panel and alert rule, evaluated through Prometheus' query API, returns data; every
//! legend names labels the result has; the alert rules load; the latency histograms carry
//! exemplars with the trace ids of the demo's spans.

#[path = "../../tests/peers/mod.rs"]
mod peers;
mod support;
// The exporters' HTTP test helpers, for their Prometheus server.
#[path = "../../tests/support/mod.rs"]
mod http;

use std::time::{Duration, Instant};

use http::prometheus::Prometheus;
use serde::Deserialize;
use support::{repo_root, start_demo};

const DASHBOARDS: [&str; 4] = [
    "stream_processor_dashboard.json",
    "kafka_metrics_dashboard.json",
    "state_backend_dashboard.json",
    "slo_dashboard.json",
];

#[derive(Deserialize)]
struct RuleFile {
    groups: Vec<Group>,
}

#[derive(Deserialize)]
struct Group {
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
struct Rule {
    alert: String,
    expr: String,
}

/// `(panel title, expression, legend)` for every target of every dashboard.
fn dashboard_targets() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    for name in DASHBOARDS {
        let path = repo_root().join("docs/grafana").join(name);
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
        let panels = dashboard["panels"].as_array().expect("panels");
        assert!(!panels.is_empty(), "{name} has no panels");
        for panel in panels {
            let title = panel["title"].as_str().unwrap().to_owned();
            let targets = panel["targets"].as_array().expect("targets");
            assert!(
                !targets.is_empty(),
                "{name}: panel {title:?} has no targets"
            );
            for target in targets {
                out.push((
                    format!("{name}: {title}"),
                    target["expr"].as_str().unwrap().to_owned(),
                    target["legendFormat"].as_str().unwrap_or("").to_owned(),
                ));
            }
        }
    }
    out
}

fn alert_rules() -> Vec<Rule> {
    let path = repo_root().join("docs/prometheus/alerts.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let file: RuleFile = yaml_serde::from_str(&text).unwrap();
    file.groups.into_iter().flat_map(|g| g.rules).collect()
}

/// An alert expression split into the query and its threshold comparison
/// (`rate(x[5m]) > 10` into `rate(x[5m])` and `> 10`).
fn split_threshold(expr: &str) -> (String, String) {
    let expr = expr.trim();
    let (rest, number) = expr.rsplit_once(char::is_whitespace).expect("a threshold");
    number
        .parse::<f64>()
        .unwrap_or_else(|_| panic!("{expr}: no numeric threshold"));
    let rest = rest.trim_end();
    for op in [">=", "<=", "==", "!=", ">", "<"] {
        if let Some(query) = rest.strip_suffix(op) {
            return (query.trim().to_owned(), format!("{op} {number}"));
        }
    }
    panic!("{expr}: no comparison before the threshold");
}

fn finite_values(series: &[serde_json::Value]) -> usize {
    series
        .iter()
        .filter(|s| {
            s["value"][1]
                .as_str()
                .and_then(|v| v.parse::<f64>().ok())
                .is_some_and(f64::is_finite)
        })
        .count()
}

#[test]
fn every_dashboard_and_alert_expression_returns_data_from_the_demo() {
    let (_demo, demo_addr, _lines) = start_demo(&["--rate", "2000", "--trace-every", "50"]);
    let rules = repo_root().join("docs/prometheus/alerts.yaml");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n  - {}\n\
         scrape_configs:\n  - job_name: corral-demo\n    static_configs:\n      - targets: ['{demo_addr}']\n",
        rules.display()
    );
    let prometheus = Prometheus::with_config(&config, &["--enable-feature=exemplar-storage"]);

    // Three scrapes: every rate() has two samples in its window, whatever its length.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let scrapes = prometheus.query("count_over_time(up{job=\"corral-demo\"}[1m]) >= 3 and on() up{job=\"corral-demo\"} == 1");
        if !scrapes.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "Prometheus did not scrape the demo 3 times in 30 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    let mut failures = Vec::new();
    let targets = dashboard_targets();
    assert!(
        targets.len() >= 20,
        "only {} dashboard targets",
        targets.len()
    );
    for (panel, expr, legend) in &targets {
        let series = prometheus.query(expr);
        if series.is_empty() {
            failures.push(format!("{panel}: `{expr}` returned no data"));
            continue;
        }
        if finite_values(&series) == 0 {
            failures.push(format!(
                "{panel}: `{expr}` returned only NaN or infinite values: {series:?}"
            ));
        }
        // Every {{label}} of the legend must be a label of every series.
        for part in legend.split("{{").skip(1) {
            let label = part.split("}}").next().unwrap().trim();
            for s in &series {
                if s["metric"][label].as_str().is_none_or(str::is_empty) {
                    failures.push(format!(
                        "{panel}: legend {legend:?} names `{label}`, which `{expr}` does not have: {}",
                        s["metric"]
                    ));
                }
            }
        }
    }

    let alerts = alert_rules();
    assert_eq!(alerts.len(), 4, "the specification has four alert rules");
    for rule in &alerts {
        // The full expression is valid PromQL (it returns data only while the alert would
        // fire, which the promtool unit tests cover); the query before the threshold must
        // return data from the demo, or the alert could never fire.
        prometheus.query(&rule.expr);
        let (query, threshold) = split_threshold(&rule.expr);
        let series = prometheus.query(&query);
        if finite_values(&series) == 0 {
            failures.push(format!(
                "alert {}: `{query}` (before `{threshold}`) returned no finite data: {series:?}",
                rule.alert
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // The rules are loaded, and none failed to evaluate.
    let answer = prometheus.api("rules");
    let loaded: Vec<&serde_json::Value> = answer["data"]["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g["rules"].as_array().unwrap())
        .collect();
    assert_eq!(loaded.len(), 4, "{answer}");
    for rule in loaded {
        assert_ne!(rule["health"], "err", "{rule}");
    }

    // Exemplars from the demo's spans on the processing latency histogram.
    let series = prometheus.exemplars(
        "stream_processor_processing_duration_ms_bucket",
        Duration::from_secs(120),
    );
    let exemplars: Vec<&serde_json::Value> = series
        .iter()
        .flat_map(|s| s["exemplars"].as_array().unwrap())
        .collect();
    assert!(!exemplars.is_empty(), "no exemplars: {series:?}");
    for e in exemplars {
        let trace_id = e["labels"]["trace_id"].as_str().unwrap_or("");
        assert_eq!(trace_id.len(), 32, "{e}");
        assert!(trace_id.bytes().all(|b| b.is_ascii_hexdigit()), "{e}");
    }
}

#[test]
fn threshold_split() {
    assert_eq!(
        split_threshold("rate(x[5m]) > 10\n"),
        ("rate(x[5m])".to_owned(), "> 10".to_owned())
    );
    assert_eq!(
        split_threshold("histogram_quantile(0.95,\n  sum by (le) (rate(x[5m]))\n) > 100"),
        (
            "histogram_quantile(0.95,\n  sum by (le) (rate(x[5m]))\n)".to_owned(),
            "> 100".to_owned()
        )
    );
}
