//! The real parsers the text tests feed: `promtool check metrics` and a child process fed
//! on stdin. Without promtool a test fails and says how to install it.
#![allow(dead_code, reason = "each test binary uses what it needs")]

use std::io::Write as _;
use std::process::{Command, Stdio};

/// Runs `command` with `input` on stdin; whether it succeeded, and its stdout and stderr.
pub fn run_with_input(command: &mut Command, input: &str) -> (bool, String) {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the checker");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), report)
}

/// `promtool check metrics` on `text` (Prometheus 2.42, Debian's `prometheus` package).
pub fn promtool_check(text: &str) -> (bool, String) {
    let installed = Command::new("promtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        installed,
        "promtool is not installed; install it with `apt-get install -y prometheus` \
         (Debian; do not start the service) or run ./test.sh, which installs it"
    );
    run_with_input(Command::new("promtool").args(["check", "metrics"]), text)
}
