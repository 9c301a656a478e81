//! A real Prometheus server for the tests: Debian's `prometheus` (2.42) started as a plain
//! process on a free loopback port with a temporary storage folder, scraping one target
//! every second or running a configuration the test writes; killed and removed on drop
//! (panics too). The demo's tests include this module too (`exporters/demo/tests`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::{get, try_request};
use crate::peers::{TempDir, start_on_fresh_ports, wait_ready};

/// The server's log file, in its temporary folder.
const LOG: &str = "prometheus.log";

/// A Prometheus process and its temporary folder.
pub struct Prometheus {
    child: Child,
    /// Removed after the process is killed (fields drop after `drop` runs).
    dir: TempDir,
    addr: SocketAddr,
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Prometheus {
    /// Scraping `target` every second.
    pub fn start(target: SocketAddr) -> Self {
        Self::start_with(target, &[])
    }

    /// Scraping `target` every second, with `flags` added to its command line (for example
    /// `--enable-feature=native-histograms`).
    pub fn start_with(target: SocketAddr, flags: &[&str]) -> Self {
        Self::with_config(
            &format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n\
                 scrape_configs:\n  - job_name: corral\n    static_configs:\n      - targets: [\"{target}\"]\n"
            ),
            flags,
        )
    }

    /// Running `config` (a whole `prometheus.yml`), with `flags` added to its command line.
    pub fn with_config(config: &str, flags: &[&str]) -> Self {
        start_on_fresh_ports("Prometheus", |[port]| Self::try_start(config, flags, port))
    }

    /// One start on `port`. `Err` carries the log of a server that exited before it was
    /// ready.
    fn try_start(config: &str, flags: &[&str], port: u16) -> Result<Self, String> {
        let binary = std::env::var_os("PROMETHEUS_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("prometheus"));
        let dir = TempDir::new("prometheus");
        std::fs::create_dir_all(dir.0.join("data")).unwrap();
        let config_path = dir.0.join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let log = std::fs::File::create(dir.0.join(LOG)).unwrap();
        let child = Command::new(&binary)
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.0.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .arg("--log.level=warn")
            .args(flags)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run the Prometheus server `{}`: {e}. Install it with \
                     `apt-get install -y prometheus` (Debian's package ships /usr/bin/prometheus; \
                     `.ci/lib.sh` ensure_tools does this), or set PROMETHEUS_BIN",
                    binary.display()
                )
            });
        let mut prometheus = Prometheus { child, dir, addr };
        let ready =
            || try_request(addr, "GET", "/-/ready", &[]).is_ok_and(|ready| ready.status == 200);
        // Borrows only the folder, beside the child `wait_ready` polls.
        let log = || log_in(&prometheus.dir);
        let what = format!("Prometheus on {addr}");
        wait_ready(
            &mut prometheus.child,
            &what,
            Duration::from_secs(30),
            ready,
            log,
        )?;
        Ok(prometheus)
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        log_in(&self.dir)
    }

    /// `GET /api/v1/<path>`: the whole JSON answer, whatever its status.
    pub fn api(&self, path: &str) -> Value {
        let answer = get(self.addr, &format!("/api/v1/{path}"), &[]);
        serde_json::from_slice(&answer.body).unwrap_or_else(|e| {
            panic!(
                "{path}: not JSON ({e}), status {}: {}",
                answer.status,
                answer.text()
            )
        })
    }

    /// The instant query's result vector.
    pub fn query(&self, promql: &str) -> Vec<Value> {
        let encoded: String = form_urlencoded::byte_serialize(promql.as_bytes()).collect();
        let json = self.api(&format!("query?query={encoded}"));
        assert_eq!(json["status"], "success", "query {promql}: {json}");
        json["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The series with exemplars for `promql` from `around` before now to `around` after:
    /// `/api/v1/query_exemplars`' data array, each entry with its `exemplars`.
    pub fn exemplars(&self, promql: &str, around: Duration) -> Vec<Value> {
        let encoded: String = form_urlencoded::byte_serialize(promql.as_bytes()).collect();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let json = self.api(&format!(
            "query_exemplars?query={encoded}&start={}&end={}",
            (now - around).as_secs_f64(),
            (now + around).as_secs_f64()
        ));
        assert_eq!(json["status"], "success", "exemplars of {promql}: {json}");
        json["data"].as_array().cloned().unwrap_or_default()
    }

    /// Polls `promql` until `accept` takes its result (bounded), and returns it.
    pub fn wait_for(
        &self,
        promql: &str,
        what: &str,
        accept: impl Fn(&[Value]) -> bool,
    ) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let result = self.query(promql);
            if accept(&result) {
                return result;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus did not show {what} within 30 s: `{promql}` gives {result:?}; \
                 its targets: {}; its log:\n{}",
                get(self.addr, "/api/v1/targets", &[]).text(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// The log a server started in `dir` has written so far.
fn log_in(dir: &TempDir) -> String {
    std::fs::read_to_string(dir.0.join(LOG)).unwrap_or_default()
}
