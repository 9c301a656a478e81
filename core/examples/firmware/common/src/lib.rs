//! What the three firmware examples share: the `static` metrics, the recording schedule of
//! the main loop and of the timer interrupt, chunked rendering into a 512-byte buffer, and
//! stack painting.
//!
//! A firmware calls [`run`] from its entry point with its [`Board`] (how to print, start
//! and stop the timer, and wait for an interrupt) and [`on_tick`] from its timer handler.
//! The schedule is fixed, so the output is too: `.ci/firmware.sh` knows every value it
//! must hold, the interrupt's increments included.
//!
//! Output, line by line: the exposition between `### BEGIN <format>` and `### END`, then
//! `### STACK <operation> <bytes>` for each measured operation, then `### DONE`.
#![no_std]

use core::sync::atomic::{AtomicU32, Ordering};

use corral_core::encode::{Progress, Renderer, SliceSink};
use corral_core::{Counter, Desc, DynamicFamily, Histogram, Registry, RegistryConfig};

/// Main-loop iterations.
pub const MAIN_ITERATIONS: u32 = 40;
/// Timer interrupts the firmware waits for (the handler stops the timer after the last).
pub const TICKS: u32 = 10;
/// Bytes of the render buffer.
pub const CHUNK: usize = 512;

/// Histogram bounds, in seconds.
pub static BOUNDS: [f64; 5] = [1.0, 5.0, 10.0, 50.0, 100.0];
/// The values the main loop observes, in turn (exact in binary, so the sum is exact).
pub const VALUES: [f64; 8] = [0.5, 2.25, 7.0, 12.5, 60.0, 99.75, 250.0, 3.0];
/// The label values the main loop counts requests under, in turn.
pub const PATHS: [&str; 3] = ["/a", "/b", "/c"];

static REGISTRY: Registry<16> =
    Registry::with_config(RegistryConfig::DEFAULT.with_self_metrics(false));
static REQUESTS: DynamicFamily<Counter, 1, 8, 32> = DynamicFamily::new(["path"]);
static LATENCY: Histogram<6> = Histogram::new(&BOUNDS);
static TICKS_TOTAL: Counter = Counter::new();

/// Interrupts handled, counted apart from the metrics.
static FIRED: AtomicU32 = AtomicU32::new(0);

/// What a firmware provides.
pub trait Board {
    /// Writes `bytes` to the console.
    fn write(&mut self, bytes: &[u8]);
    /// Starts the periodic timer interrupt.
    fn start_timer(&mut self);
    /// Waits a little (for an interrupt, or a few cycles).
    fn idle(&mut self);
}

/// The timer interrupt's work: returns whether the timer should be stopped (the last tick
/// was handled).
pub fn on_tick() -> bool {
    let fired = FIRED.load(Ordering::Relaxed);
    if fired >= TICKS {
        return true;
    }
    TICKS_TOTAL.inc();
    REQUESTS.with_labels(["/isr"]).inc();
    #[cfg(feature = "tour")]
    tour::on_tick();
    FIRED.store(fired + 1, Ordering::Relaxed);
    fired + 1 >= TICKS
}

/// The whole firmware: registration, recording (with the interrupt running), rendering,
/// stack reports. Returns when done; the caller exits the emulator.
pub fn run(board: &mut impl Board) {
    register();
    board.start_timer();
    for i in 0..MAIN_ITERATIONS as usize {
        REQUESTS.with_labels([PATHS[i % PATHS.len()]]).inc();
        LATENCY.observe(VALUES[i % VALUES.len()]);
        #[cfg(feature = "tour")]
        tour::record(i);
    }
    while FIRED.load(Ordering::Relaxed) < TICKS {
        board.idle();
    }
    render(board, Renderer::prometheus(), "prometheus");
    #[cfg(feature = "tour")]
    render(board, Renderer::openmetrics(), "openmetrics");
    stacks(board);
    board.write(b"### DONE\n");
}

fn register() {
    let mut ok = REGISTRY
        .register(Desc::new("requests_total", "Requests by path"), &REQUESTS)
        .is_ok();
    ok &= REGISTRY
        .register(
            Desc::new("latency_seconds", "Latency").with_unit("seconds"),
            &LATENCY,
        )
        .is_ok();
    ok &= REGISTRY
        .register(Desc::new("ticks_total", "Timer interrupts"), &TICKS_TOTAL)
        .is_ok();
    #[cfg(feature = "tour")]
    {
        ok &= tour::register();
    }
    if !ok {
        // Unreachable with these fixed names; said loudly if it ever is not.
        panic!("registration failed");
    }
}

/// Renders the registry in `CHUNK`-byte chunks, writing each to the console. Inlined, so
/// that the format of `renderer` is a constant where it is called and, in corral-core's
/// `small` configuration, only that format's encoder is linked.
#[inline(always)]
fn render(board: &mut impl Board, renderer: Renderer, format: &str) {
    board.write(b"### BEGIN ");
    board.write(format.as_bytes());
    board.write(b"\n");
    let mut renderer = renderer;
    let mut buf = [0u8; CHUNK];
    loop {
        let mut sink = SliceSink::new(&mut buf);
        let progress = renderer.render_chunk(&REGISTRY, &mut sink);
        board.write(sink.as_bytes());
        match progress {
            Ok(Progress::More) => {}
            Ok(Progress::Done) => break,
            Err(_) => {
                board.write(b"\n### RENDER ERROR\n");
                break;
            }
        }
    }
    board.write(b"### END\n");
}

/// One chunk into `buf`, for the stack measurement (which leaves out the buffer itself:
/// it is the caller's, wherever it lives). The renderer is made here, so its format is a
/// constant (see [`render`]).
#[inline(never)]
fn render_once<const OPENMETRICS: bool>(buf: &mut [u8]) {
    let mut renderer = if OPENMETRICS {
        Renderer::openmetrics()
    } else {
        Renderer::prometheus()
    };
    let mut sink = SliceSink::new(buf);
    let _ = core::hint::black_box(renderer.render_chunk(&REGISTRY, &mut sink));
    core::hint::black_box(sink.as_bytes());
}

fn stacks(board: &mut impl Board) {
    report(board, "record_counter", || TICKS_TOTAL.inc());
    report(board, "record_dynamic_family", || {
        REQUESTS.with_labels(["/a"]).inc()
    });
    report(board, "record_histogram", || LATENCY.observe(7.0));
    #[cfg(feature = "tour")]
    tour::stacks(&mut |name, f| report(board, name, f));
    let mut buf = [0u8; CHUNK];
    report(board, "render_prometheus_chunk", || {
        render_once::<false>(&mut buf)
    });
    #[cfg(feature = "tour")]
    report(board, "render_openmetrics_chunk", || {
        render_once::<true>(&mut buf)
    });
}

fn report(board: &mut impl Board, name: &str, f: impl FnOnce()) {
    let bytes = stack::peak(f);
    board.write(b"### STACK ");
    board.write(name.as_bytes());
    board.write(b" ");
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    let mut n = bytes;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    board.write(&digits[at..]);
    board.write(b"\n");
}

mod stack;
#[cfg(feature = "tour")]
mod tour;
