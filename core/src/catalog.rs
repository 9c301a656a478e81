//! Metric sets: a group of metrics declared in one place, registered by one call.
//!
//! [`metric_set!`](crate::metric_set) declares, for each metric, the storage it lives in,
//! its name, help text and unit, and generates a module with:
//!
//! - `Set`, the storage of every metric (a `const fn new`, so it can be a `static`), whose
//!   fields are private: nothing outside the module can reach a metric through it;
//! - `Set::register(&'static self, registry)`, which registers every metric of the set and
//!   returns `Metrics`;
//! - `Metrics`, a `Copy` handle with one accessor per metric. It can only be obtained from
//!   `register`, so a metric of a set cannot be recorded before it is registered: the
//!   mistake "a `static` that nobody registers records silently and is never exported" does
//!   not compile.
//!
//! ```
//! use corral_core::{Counter, Histogram, Registry, buckets};
//!
//! corral_core::metric_set! {
//!     /// The metrics of an event pipeline.
//!     pub mod pipeline {
//!         events_received_total: Counter = Counter::new()
//!             => "stream_processor_events_received_total", "Total number of events received";
//!         processing_duration_ms: Histogram<14> = Histogram::new(buckets::LATENCY_MS)
//!             => "stream_processor_processing_duration_ms",
//!                "Event processing duration in milliseconds", unit "ms";
//!     }
//! }
//!
//! static REGISTRY: Registry<8> = Registry::new();
//! static PIPELINE: pipeline::Set = pipeline::Set::new();
//!
//! fn main() -> Result<(), corral_core::RegisterError> {
//!     let metrics = PIPELINE.register(&REGISTRY)?; // the only way to get at the metrics
//!     metrics.events_received_total().inc();
//!     metrics.processing_duration_ms().observe(12.5);
//!     assert_eq!(REGISTRY.len(), 2);
//!     assert_eq!(pipeline::NAMES[1], "stream_processor_processing_duration_ms");
//!     Ok(())
//! }
//! ```
//!
//! Without `register` there is no `Metrics`, and `Set`'s fields are private:
//!
//! ```compile_fail,E0616
//! use corral_core::Counter;
//! corral_core::metric_set! {
//!     /// One counter.
//!     pub mod app { hits_total: Counter = Counter::new() => "hits_total", "Hits"; }
//! }
//! static APP: app::Set = app::Set::new();
//!
//! fn main() {
//!     APP.hits_total.inc(); // error[E0616]: field `hits_total` of struct `Set` is private
//! }
//! ```
//!
//! Registration stops at the first metric the registry refuses and returns its error (which
//! names the metric); the metrics before it stay registered. Registering a set a second
//! time fails with a duplicate-name error, never silently.
//!
//! Inside the generated module the caller's imports are in scope (`use super::*`), so types
//! and constants are written as at the call site.

/// Declares a set of metrics and the one call that registers them all.
///
/// Each entry is `field: Type = initialiser => "name", "help"` with an optional
/// `, unit "u"`, and ends with `;`. Doc comments before an entry go on its accessor; the
/// help text is documented too. See the [module notes](crate::catalog) for what is
/// generated and why a set's metrics cannot be recorded unregistered.
#[macro_export]
macro_rules! metric_set {
    (
        $(#[$meta:meta])*
        $vis:vis mod $module:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident : $ty:ty = $init:expr => $name:literal, $help:literal
                    $(, unit $unit:literal)? ;
            )+
        }
    ) => {
        $(#[$meta])*
        #[allow(unused_imports)]
        $vis mod $module {
            use super::*;

            /// The storage of every metric of the set; declare it as a `static` and call
            /// [`Set::register`] to get at the metrics.
            pub struct Set {
                $($field: $ty,)+
            }

            impl ::core::fmt::Debug for Set {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.debug_struct("Set").field("metrics", &NAMES).finish()
                }
            }

            /// The metric names of the set, in registration order.
            pub const NAMES: &[&str] = &[$($name),+];

            /// The descriptors of the set, in registration order.
            pub const DESCS: &[$crate::Desc] = &[$($crate::metric_set!(@desc $name, $help $(, $unit)?)),+];

            impl Set {
                /// The set with every metric at its initial value.
                #[allow(clippy::new_without_default)]
                pub const fn new() -> Self {
                    Self { $($field: $init,)+ }
                }

                /// Registers every metric of the set in `registry`, in declaration order,
                /// and returns the handle to record through.
                ///
                /// # Errors
                ///
                /// The first `RegisterError` the registry returns;
                /// the metrics registered before it stay registered.
                pub fn register<const FAMILIES: usize>(
                    &'static self,
                    registry: &'static $crate::Registry<FAMILIES>,
                ) -> ::core::result::Result<Metrics, $crate::RegisterError> {
                    let mut descs = DESCS.iter();
                    $(
                        if let Some(desc) = descs.next() {
                            registry.register(*desc, &self.$field)?;
                        }
                    )+
                    Ok(Metrics { set: self })
                }
            }

            /// The registered set: one accessor per metric. Only [`Set::register`] makes
            /// one, so holding it proves the metrics are exported.
            #[derive(Clone, Copy)]
            pub struct Metrics {
                set: &'static Set,
            }

            impl ::core::fmt::Debug for Metrics {
                fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    f.debug_struct("Metrics").field("metrics", &NAMES).finish()
                }
            }

            impl Metrics {
                $(
                    $(#[$fmeta])*
                    #[doc = concat!("`", $name, "`: ", $help)]
                    #[inline]
                    pub fn $field(&self) -> &'static $ty {
                        &self.set.$field
                    }
                )+
            }
        }
    };
    (@desc $name:literal, $help:literal) => {
        $crate::Desc::new($name, $help)
    };
    (@desc $name:literal, $help:literal, $unit:literal) => {
        $crate::Desc::new($name, $help).with_unit($unit)
    };
}

#[cfg(test)]
mod tests {
    use crate::{Counter, Gauge, RegisterError, Registry, TypedFamily};
    use std::string::ToString;

    crate::label_enum! {
        /// Outcome.
        pub enum Outcome: "status" { Ok = "ok", Failed = "failed" }
    }

    crate::metric_set! {
        /// A set for the tests.
        pub mod sample {
            /// Accessor docs.
            hits_total: Counter = Counter::new() => "sample_hits_total", "Hits";
            depth: Gauge = Gauge::new() => "sample_queue_depth", "Depth";
            outcomes_total: TypedFamily<Counter, Outcome, 2> = TypedFamily::new()
                => "sample_outcomes_total", "Outcomes";
        }
    }

    crate::metric_set! {
        /// A set whose second metric breaks a rule (never registered: its handles go unused).
        #[allow(dead_code)]
        pub mod broken {
            first_total: Counter = Counter::new() => "broken_first_total", "First";
            second: Counter = Counter::new() => "broken_second", "No _total suffix";
        }
    }

    #[test]
    fn register_registers_every_metric_and_records_through_the_handle() {
        static REGISTRY: Registry<8> = Registry::new();
        static SET: sample::Set = sample::Set::new();
        let metrics = SET.register(&REGISTRY).unwrap();
        assert_eq!(REGISTRY.len(), 3);
        metrics.hits_total().inc_by(3);
        metrics.outcomes_total().with_labels(Outcome::Failed).inc();
        metrics.outcomes_total().with_labels(Outcome::Ok).inc_by(2);
        metrics.depth().set(2.5);
        assert_eq!(metrics.hits_total().get(), 3);
        assert_eq!(
            metrics.outcomes_total().with_labels(Outcome::Failed).get(),
            1
        );
        assert_eq!(sample::DESCS[1].name(), "sample_queue_depth");
    }

    #[test]
    fn registering_twice_is_an_error_naming_the_metric() {
        static REGISTRY: Registry<8> = Registry::new();
        static SET: sample::Set = sample::Set::new();
        SET.register(&REGISTRY).unwrap();
        let err: RegisterError = SET.register(&REGISTRY).unwrap_err();
        assert_eq!(err.metric, "sample_hits_total");
        assert_eq!(REGISTRY.len(), 3);
    }

    #[test]
    fn a_refused_metric_stops_registration_with_its_error() {
        static REGISTRY: Registry<8> = Registry::new();
        static SET: broken::Set = broken::Set::new();
        let err = SET.register(&REGISTRY).unwrap_err();
        assert_eq!(err.metric, "broken_second");
        assert_eq!(
            err.to_string(),
            "cannot register metric `broken_second`: a counter's name must end in `_total`"
        );
        assert_eq!(REGISTRY.len(), 1);
    }
}
