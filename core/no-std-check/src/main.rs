//! Links corral-core into a `#![no_std]`, `#![no_main]` binary without a global allocator.
//! Everything is reachable from `_start`, so the linker keeps it.
#![no_std]
#![no_main]

use core::ops::ControlFlow;
use core::panic::PanicInfo;

use corral_core::encode::{Progress, Renderer, SliceSink};
use corral_core::{
    Counter, Desc, DynamicFamily, FamilyInfo, Histogram, IntGauge, Registry, SeriesLabels,
    ShardedCounter, Summary, SummaryConfig, TypedFamily, Value, Visitor, buckets,
};

corral_core::label_enum! { enum Port: "port" { Uart = "uart", Spi = "spi" } }

static REGISTRY: Registry<8> = Registry::new();
static FRAMES: Counter = Counter::new();
static TEMPERATURE: IntGauge = IntGauge::new();
static LATENCY: Histogram<14> = Histogram::new(buckets::LATENCY_MS);
static BYTES: TypedFamily<Counter, Port, 2> = TypedFamily::new();
static ERRORS: DynamicFamily<Counter, 1, 8, 24> = DynamicFamily::new(["kind"]);
static WAKEUPS: ShardedCounter<2> = ShardedCounter::new();
static SETTLE: Summary<128> = Summary::new(SummaryConfig::new(0.5));

/// Sums every counter sample, so the visit's result is used.
struct Sum(u64);

impl Visitor for Sum {
    fn series(&mut self, _: &FamilyInfo<'_>, labels: &SeriesLabels<'_>, value: &Value<'_>) -> ControlFlow<()> {
        self.0 += labels.iter().count() as u64;
        if let Value::Counter(v) = value {
            self.0 += v;
        }
        if let Value::Summary(s) = value {
            self.0 += s.count() + s.quantiles().len() as u64;
        }
        ControlFlow::Continue(())
    }
}

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    let _ = REGISTRY.register(Desc::new("frames_total", "Frames"), &FRAMES);
    let _ = REGISTRY.register(Desc::new("temperature_celsius", "Temperature"), &TEMPERATURE);
    let _ = REGISTRY.register(Desc::new("latency_ms", "Latency").with_unit("ms"), &LATENCY);
    let _ = REGISTRY.register(Desc::new("bytes_total", "Bytes by port"), &BYTES);
    let _ = REGISTRY.register(Desc::new("errors_total", "Errors by kind"), &ERRORS);
    let _ = REGISTRY.register(Desc::new("wakeups_total", "Wakeups"), &WAKEUPS);
    let _ = REGISTRY.register(Desc::new("settle_ms", "Settling time").with_unit("ms"), &SETTLE);
    FRAMES.inc();
    TEMPERATURE.set(21);
    LATENCY.observe(3.5);
    BYTES.with_labels(Port::Spi).inc_by(64);
    ERRORS.with_labels(["crc"]).inc();
    WAKEUPS.inc();
    SETTLE.observe(1.25);
    let mut sum = Sum(0);
    REGISTRY.visit(&mut sum);
    // Both text encoders, into a fixed buffer, in chunks.
    let mut buf = [0u8; 512];
    let mut rendered = 0;
    for mut renderer in [Renderer::prometheus(), Renderer::openmetrics()] {
        loop {
            let mut sink = SliceSink::new(&mut buf);
            let progress = renderer.render_chunk(&REGISTRY, &mut sink);
            rendered += sink.as_bytes().len();
            if !matches!(progress, Ok(Progress::More)) {
                break;
            }
        }
    }
    loop {
        core::hint::black_box((sum.0, rendered));
    }
}

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    loop {}
}
