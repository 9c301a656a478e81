//! Typed label sets: closed enums, compile-time cardinality, dense indexing.

use core::marker::PhantomData;
use core::ops::ControlFlow;

use crate::collect::{Collect, OverflowTally, SeriesSink};
use crate::config::RegistryConfig;
use crate::error::{OverflowCounts, OverflowReason, Reason};
use crate::macros::{const_fn, fresh_array};
use crate::metric::{
    HistogramCells, Metric, MetricKind, SummaryCells, SummaryConfig, check_bounds, init_metric,
};
use crate::pad::CachePadded;
use crate::value::SeriesLabels;

/// One label whose values are a closed set, usually an enum made with [`label_enum!`].
///
/// [`label_enum!`]: crate::label_enum
pub trait LabelValue: Copy + 'static {
    /// The label's name.
    const LABEL: &'static str;
    /// Every value the label can take, in index order.
    const VALUES: &'static [&'static str];
    /// This value's position in [`VALUES`](Self::VALUES).
    fn index(self) -> usize;
}

/// A whole label set with a closed, compile-time cardinality: one [`LabelValue`], or a
/// tuple of two to four of them. Its slot is a mixed-radix index: for `(a, b)`,
/// `a * |B| + b`.
pub trait LabelSet: Copy + 'static {
    /// How many distinct label sets exist.
    const CARDINALITY: usize;
    /// The label names.
    const NAMES: &'static [&'static str];
    /// This label set's dense index, below [`CARDINALITY`](Self::CARDINALITY).
    fn dense_index(self) -> usize;
    /// The value of label `label` in the label set with dense index `index`.
    fn value_of(index: usize, label: usize) -> &'static str;

    /// A `(label name, value)` whose value appears twice, so that two dense indices
    /// would name the same series; `None` when every label set is distinct. Registration
    /// refuses a family whose label set has one.
    ///
    /// The default compares every pair of label sets (quadratic, once, at registration);
    /// [`label_enum!`](crate::label_enum) enums and tuples of them compare each label's
    /// values instead, and `label_enum!` refuses a repeated value at compile time.
    fn repeated_value() -> Option<(&'static str, &'static str)> {
        for i in 0..Self::CARDINALITY {
            for j in i + 1..Self::CARDINALITY {
                let same = (0..Self::NAMES.len())
                    .all(|label| Self::value_of(i, label) == Self::value_of(j, label));
                if same {
                    let label = Self::NAMES.first().copied().unwrap_or("");
                    return Some((label, Self::value_of(i, 0)));
                }
            }
        }
        None
    }
}

/// The first value in `values` that appears more than once.
fn repeated_in(values: &[&'static str]) -> Option<&'static str> {
    values
        .iter()
        .enumerate()
        .find(|(i, v)| values[i + 1..].contains(v))
        .map(|(_, v)| *v)
}

/// How many times `value` appears in `values`; [`label_enum!`](crate::label_enum)'s
/// compile-time check.
#[doc(hidden)]
pub const fn __value_count(values: &[&str], value: &str) -> usize {
    let mut count = 0;
    let mut i = 0;
    while i < values.len() {
        let (a, b) = (values[i].as_bytes(), value.as_bytes());
        if a.len() == b.len() {
            let mut k = 0;
            while k < a.len() && a[k] == b[k] {
                k += 1;
            }
            if k == a.len() {
                count += 1;
            }
        }
        i += 1;
    }
    count
}

/// Decodes digit `label` of a mixed-radix `index` over `tables`.
fn mixed_radix_value(
    index: usize,
    label: usize,
    tables: &[&'static [&'static str]],
) -> &'static str {
    let below: usize = tables.iter().skip(label + 1).map(|t| t.len()).product();
    match tables.get(label) {
        Some(table) if !table.is_empty() && below != 0 => table
            .get((index / below) % table.len())
            .copied()
            .unwrap_or(""),
        _ => "",
    }
}

macro_rules! tuple_label_set {
    ($($t:ident . $i:tt),+) => {
        impl<$($t: LabelValue),+> LabelSet for ($($t,)+) {
            const CARDINALITY: usize = 1 $(* $t::VALUES.len())+;
            const NAMES: &'static [&'static str] = &[$($t::LABEL),+];

            #[inline]
            fn dense_index(self) -> usize {
                let mut index = 0;
                $(index = index * $t::VALUES.len() + self.$i.index();)+
                index
            }

            fn value_of(index: usize, label: usize) -> &'static str {
                mixed_radix_value(index, label, &[$($t::VALUES),+])
            }

            fn repeated_value() -> Option<(&'static str, &'static str)> {
                None $(.or_else(|| repeated_in($t::VALUES).map(|v| ($t::LABEL, v))))+
            }
        }
    };
}

tuple_label_set!(A.0);
tuple_label_set!(A.0, B.1);
tuple_label_set!(A.0, B.1, C.2);
tuple_label_set!(A.0, B.1, C.2, D.3);

/// Declares an enum of label values and implements [`LabelValue`] and [`LabelSet`] for it.
///
/// ```
/// corral_core::label_enum! {
///     /// HTTP method.
///     pub enum Method: "method" { Get = "GET", Post = "POST" }
/// }
/// use corral_core::{LabelSet, LabelValue};
/// assert_eq!(Method::Post.index(), 1);
/// assert_eq!(<Method as LabelSet>::CARDINALITY, 2);
/// assert_eq!(Method::VALUES, ["GET", "POST"]);
/// ```
///
/// A value given to two variants would make two series with the same labels; it is a
/// compile error naming the value (`label_enum! Method: the value "GET" is given to more
/// than one variant`):
///
/// ```compile_fail,E0080
/// corral_core::label_enum! {
///     pub enum Method: "method" { Get = "GET", Fetch = "GET" }
/// }
/// ```
#[macro_export]
macro_rules! label_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident : $label:literal {
            $($(#[$vmeta:meta])* $variant:ident = $value:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        $vis enum $name {
            $(
                #[doc = concat!("`", $label, "=\"", $value, "\"`")]
                $(#[$vmeta])* $variant
            ),+
        }

        impl $crate::LabelValue for $name {
            const LABEL: &'static str = $label;
            const VALUES: &'static [&'static str] = &[$($value),+];

            #[inline]
            fn index(self) -> usize {
                self as usize
            }
        }

        impl $crate::LabelSet for $name {
            const CARDINALITY: usize = <$name as $crate::LabelValue>::VALUES.len();
            const NAMES: &'static [&'static str] = &[$label];

            #[inline]
            fn dense_index(self) -> usize {
                self as usize
            }

            fn value_of(index: usize, _label: usize) -> &'static str {
                match <$name as $crate::LabelValue>::VALUES.get(index) {
                    Some(value) => value,
                    None => "",
                }
            }

            fn repeated_value() -> Option<(&'static str, &'static str)> {
                // Refused at compile time below.
                None
            }
        }

        // Two variants with one value would be two series with the same labels.
        const _: () = {
            $(
                assert!(
                    $crate::__value_count(<$name as $crate::LabelValue>::VALUES, $value) == 1,
                    concat!(
                        "label_enum! ", stringify!($name), ": the value \"", $value,
                        "\" is given to more than one variant"
                    )
                );
            )+
        };
    };
}

/// A family over a closed label set `L`: one preallocated, cache-padded series per label
/// combination, `SERIES` of them (which must equal `L::CARDINALITY`).
///
/// Looking a series up is an index computation and an array access: no hashing, no
/// probing, no string work, no allocation. Every combination exists from the start and is
/// rendered from the first scrape, at zero, which is what Prometheus recommends for known
/// label values. Registration sets aside all `SERIES` in the registry-wide budget.
///
/// ```
/// use corral_core::{Counter, TypedFamily};
///
/// corral_core::label_enum! { pub enum Status: "status" { Ok = "ok", Error = "error" } }
/// corral_core::label_enum! { pub enum Stage: "stage" { Parse = "parse", Store = "store" } }
///
/// static EVENTS: TypedFamily<Counter, (Stage, Status), 4> = TypedFamily::new();
/// EVENTS.with_labels((Stage::Store, Status::Error)).inc();
/// assert_eq!(EVENTS.with_labels((Stage::Store, Status::Error)).get(), 1);
/// ```
#[derive(Debug)]
pub struct TypedFamily<M: Metric, L: LabelSet, const SERIES: usize> {
    config: M::Config,
    slots: [CachePadded<M>; SERIES],
    /// Where an out-of-range index lands: only a hand-written [`LabelSet`] whose `index`
    /// breaks its contract can get here.
    overflow: CachePadded<M>,
    tally: OverflowTally,
    labels: PhantomData<fn(L) -> L>,
}

impl<M: Metric, L: LabelSet, const SERIES: usize> TypedFamily<M, L, SERIES> {
    const_fn! {
        const fn with_config(config: M::Config) -> Self {
            const {
                assert!(
                    SERIES == L::CARDINALITY,
                    "SERIES must equal the label set's cardinality (the product of its value counts)"
                )
            };
            Self {
                config,
                slots: fresh_array!(CachePadded::new(init_metric!(M)); SERIES),
                overflow: CachePadded::new(init_metric!(M)),
                tally: OverflowTally::new(),
                labels: PhantomData,
            }
        }
    }

    /// The series for `labels`.
    #[inline]
    pub fn with_labels(&self, labels: L) -> M::Handle<'_> {
        match self.slots.get(labels.dense_index()) {
            Some(slot) => slot.handle(&self.config),
            None => self.overflowed(),
        }
    }

    #[cold]
    fn overflowed(&self) -> M::Handle<'_> {
        self.tally.count(OverflowReason::FamilyFull);
        self.overflow.handle(&self.config)
    }
}

impl<M: Metric<Config = ()>, L: LabelSet, const SERIES: usize> TypedFamily<M, L, SERIES> {
    const_fn! {
        /// A family with every series at zero.
        pub const fn new() -> Self {
            Self::with_config(())
        }
    }
}

impl<M: Metric<Config = ()>, L: LabelSet, const SERIES: usize> Default
    for TypedFamily<M, L, SERIES>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<L: LabelSet, const SERIES: usize, const BUCKETS: usize>
    TypedFamily<HistogramCells<BUCKETS>, L, SERIES>
{
    const_fn! {
        /// A histogram family whose series share `bounds`.
        ///
        /// # Panics
        ///
        /// If the bounds are invalid (see [`Histogram::new`](crate::Histogram::new)); in a
        /// `static` that is a compile error.
        pub const fn histogram(bounds: &'static [f64]) -> Self {
            if check_bounds(bounds, BUCKETS).is_ok() {
                Self::with_config(bounds)
            } else {
                panic!("invalid histogram bounds: they must be finite, strictly increasing, and fewer than BUCKETS")
            }
        }
    }
}

impl<L: LabelSet, const SERIES: usize, const BUCKETS: usize, const WINDOW: usize, const SCALE: u32>
    TypedFamily<SummaryCells<BUCKETS, WINDOW, SCALE>, L, SERIES>
{
    const_fn! {
        /// A summary family whose series share `config`.
        ///
        /// # Panics
        ///
        /// If the configuration does not fit the cell type (see
        /// [`SummaryConfig::check`]); in a `static` that is a compile error.
        pub const fn summary(config: SummaryConfig<SCALE>) -> Self {
            if let Err(e) = config.check::<BUCKETS, WINDOW>() {
                panic!("{}", e.message());
            }
            Self::with_config(config)
        }
    }
}

impl<M: Metric, L: LabelSet, const SERIES: usize> Collect for TypedFamily<M, L, SERIES> {
    fn kind(&self) -> MetricKind {
        M::KIND
    }

    fn label_names(&self) -> &[&'static str] {
        L::NAMES
    }

    fn reserved_series(&self) -> usize {
        SERIES
    }

    fn capacity(&self) -> usize {
        SERIES
    }

    fn check(&self, config: &RegistryConfig) -> Result<(), Reason> {
        M::check_config(&self.config).map_err(Reason::InvalidBuckets)?;
        if let Some((label, value)) = L::repeated_value() {
            return Err(Reason::DuplicateLabelValue { label, value });
        }
        for index in 0..SERIES {
            for (label, name) in L::NAMES.iter().enumerate() {
                let len = L::value_of(index, label).len();
                if len > config.max_label_value_length {
                    return Err(Reason::LabelValueTooLong {
                        label: name,
                        len,
                        max: config.max_label_value_length,
                    });
                }
            }
        }
        Ok(())
    }

    fn overflow_counts(&self) -> OverflowCounts {
        self.tally.snapshot()
    }

    fn collect(&self, from: usize, sink: &mut SeriesSink<'_>) -> ControlFlow<usize> {
        for (index, slot) in self.slots.iter().enumerate().skip(from) {
            let labels = SeriesLabels::typed(L::NAMES, index, L::value_of);
            if slot
                .read(&self.config, |value| sink(index, &labels, value))
                .is_break()
            {
                return ControlFlow::Break(index);
            }
        }
        if from <= SERIES
            && self.tally.any()
            && self
                .overflow
                .read(&self.config, |v| sink(SERIES, &SeriesLabels::OVERFLOW, v))
                .is_break()
        {
            return ControlFlow::Break(SERIES);
        }
        ControlFlow::Continue(())
    }
}
