//! What every real-peer helper of these tests shares (Prometheus, rotel, the Pushgateway,
//! the demo's own tests): free loopback ports, a temporary directory removed on drop, and
//! starting a peer process on fresh ports, retried when it loses them.
//!
//! A port read from a released listener can be taken by a concurrent test before the peer
//! binds it; the peer then exits before it is ready, and [`start_on_fresh_ports`] tries
//! again on new ones.
#![allow(dead_code)] // each including file uses part of it

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Child;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// `N` distinct free loopback ports: every listener is held until all are read, so two
/// ports of one call are never the same.
pub fn free_ports<const N: usize>() -> [u16; N] {
    let listeners: [TcpListener; N] =
        std::array::from_fn(|_| TcpListener::bind("127.0.0.1:0").expect("no free loopback port"));
    listeners.map(|l| {
        l.local_addr()
            .expect("bound listener has an address")
            .port()
    })
}

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// `corral-<tag>-<pid>-<n>`, created empty.
    pub fn new(tag: &str) -> Self {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "corral-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create temp dir");
        Self(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Polls `ready` until it holds (`Ok`), `child` exits first (`Err` with its exit status and
/// `log()`), or `within` has passed (a panic naming `what`, with `log()`).
pub fn wait_ready(
    child: &mut Child,
    what: &str,
    within: Duration,
    mut ready: impl FnMut() -> bool,
    log: impl Fn() -> String,
) -> Result<(), String> {
    let deadline = Instant::now() + within;
    loop {
        if ready() {
            return Ok(());
        }
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!(
                "{what} exited ({status}) before it was ready:\n{}",
                log()
            ));
        }
        assert!(
            Instant::now() < deadline,
            "{what} was not ready within {within:?}:\n{}",
            log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `start` on `N` fresh ports until it returns a peer, up to five times: an `Err` (the
/// process exited before it was ready, most likely because a concurrent test took one of
/// its ports) is retried on new ports; five of them panic with every reason.
pub fn start_on_fresh_ports<const N: usize, T>(
    what: &str,
    mut start: impl FnMut([u16; N]) -> Result<T, String>,
) -> T {
    let mut failures = Vec::new();
    for _ in 0..5 {
        match start(free_ports()) {
            Ok(peer) => return peer,
            Err(why) => failures.push(why),
        }
    }
    panic!(
        "{what} did not start in five tries, each on fresh ports:\n{}",
        failures.join("\n---\n")
    );
}
