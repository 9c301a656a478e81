//! # corral-std
//!
//! The std side of Corral: what `corral-core` leaves out because it needs an operating
//! system. Nothing here adds work to recording: every handle it gives out records exactly
//! like a `static` of core, with no allocation and no lock.
//!
//! ```
//! use corral_std::core::{Counter, Desc, Histogram, buckets};
//! use corral_std::{TimerExt, default_registry};
//!
//! static EVENTS: Counter = Counter::new();
//! static LATENCY: Histogram<14> = Histogram::new(buckets::LATENCY_MS);
//!
//! let registry = default_registry();
//! registry.register(Desc::new("doc_events_total", "Events handled"), &EVENTS)?;
//! registry.register(Desc::new("doc_latency_ms", "Handling time").with_unit("ms"), &LATENCY)?;
//!
//! {
//!     let _timer = LATENCY.start_timer_ms(); // observes the elapsed milliseconds on drop
//!     EVENTS.inc();
//! }
//! assert_eq!(LATENCY.count(), 1);
//! # Ok::<(), corral_std::core::RegisterError>(())
//! ```
//!
//! ## What is here
//!
//! - [`default_registry`]: a process-wide registry, configurable once with
//!   [`init_default_registry`].
//! - [`runtime`]: families whose names, labels and bucket bounds arrive at run time (from
//!   configuration or code). Their storage is set up once, at definition; after that a
//!   handle records exactly like a `static`.
//! - [`seeded`]: dynamic label tables hashed with per-process random seeds (`ahash`), for
//!   label values that come from untrusted input.
//! - [`stripe`]: a thread-local stripe index for [`ShardedCounter`](core::ShardedCounter).
//! - [`timer`]: RAII timers that observe elapsed time into a histogram on drop.
//! - [`process`]: the standard `process_*` metrics, read from `/proc` at scrape time.
//! - [`cardinality`]: warning and critical thresholds on the registry's series budget.
//! - [`config`]: the `observability.yaml` schema, with `${VAR}` substitution and
//!   validation errors that name the key path.
#![forbid(unsafe_code)]

pub use corral_core as core;

pub mod cardinality;
pub mod catalog;
pub mod config;
pub mod encode;
pub mod process;
mod registry;
pub mod runtime;
pub mod seed;
pub mod seeded;
pub mod stripe;
pub mod timer;

pub use registry::{
    AlreadyInitialized, DEFAULT_FAMILIES, DefaultRegistry, default_registry, init_default_registry,
};
pub use stripe::{ShardedCounterExt, thread_stripe};
pub use timer::{MONOTONIC_MS, MonotonicMillis, Observe, TimeUnit, Timer, TimerExt};
