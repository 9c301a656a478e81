//! Field deserializers for numbers and booleans that also accept their text form.
//!
//! `${VAR}` substitution happens on string scalars, so `port: ${PORT}` reaches the schema
//! as the string `"9090"`. These helpers accept such strings for numeric and boolean keys
//! (and so also a quoted `"9090"` written by hand), and word their errors so that the
//! message shows the bad value.

use core::fmt;
use core::marker::PhantomData;

use serde::Deserializer;
use serde::de::{self, Unexpected, Visitor};

/// An unsigned integer (`u64`, `usize`, `u32`) from a number or its decimal text.
pub(crate) fn uint<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<u64>,
{
    deserializer.deserialize_any(UintVisitor(PhantomData))
}

struct UintVisitor<T>(PhantomData<T>);

impl<T: TryFrom<u64>> UintVisitor<T> {
    fn fit<E: de::Error>(value: u64) -> Result<T, E> {
        T::try_from(value).map_err(|_| E::custom(format!("{value} is too large")))
    }
}

impl<T: TryFrom<u64>> Visitor<'_> for UintVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative integer")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        Self::fit(v)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        match u64::try_from(v) {
            Ok(v) => Self::fit(v),
            Err(_) => Err(E::custom(format!("{v} is negative"))),
        }
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<T, E> {
        Err(E::invalid_type(Unexpected::Float(v), &self))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<T, E> {
        let text = v.trim();
        match text.parse::<u64>() {
            Ok(n) => Self::fit(n),
            Err(_) if text.parse::<i64>().is_ok() => Err(E::custom(format!("{text} is negative"))),
            Err(_) => Err(E::invalid_value(Unexpected::Str(v), &self)),
        }
    }
}

/// An `f64` from a number or its text.
pub(crate) fn float<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    deserializer.deserialize_any(FloatVisitor)
}

struct FloatVisitor;

impl Visitor<'_> for FloatVisitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        v.trim()
            .parse()
            .map_err(|_| E::invalid_value(Unexpected::Str(v), &self))
    }
}

/// A `bool` from a boolean or the text `true` / `false`.
pub(crate) fn boolean<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    deserializer.deserialize_any(BoolVisitor)
}

struct BoolVisitor;

impl Visitor<'_> for BoolVisitor {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean (true or false)")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        match v.trim() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(E::invalid_value(Unexpected::Str(v), &self)),
        }
    }
}

/// A TCP port, 0 to 65535 (0: any free port), from a number or its text.
pub(crate) fn port<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u16, D::Error> {
    deserializer.deserialize_any(PortVisitor)
}

struct PortVisitor;

impl PortVisitor {
    fn check<E: de::Error>(shown: &dyn fmt::Display, value: Option<i128>) -> Result<u16, E> {
        value
            .and_then(|v| u16::try_from(v).ok())
            .ok_or_else(|| E::custom(format!("{shown} is not a port (0 to 65535)")))
    }
}

impl Visitor<'_> for PortVisitor {
    type Value = u16;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a port (0 to 65535)")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<u16, E> {
        Self::check(&v, Some(i128::from(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<u16, E> {
        Self::check(&v, Some(i128::from(v)))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<u16, E> {
        Self::check(&v, None)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<u16, E> {
        Self::check(&format_args!("{v:?}"), v.trim().parse::<i128>().ok())
    }
}
