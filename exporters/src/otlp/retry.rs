//! Failure handling as the OTLP exporter specification describes it: which responses are
//! retried ([`classify`]), how long to wait ([`parse_retry_after`], [`Backoff`]), and the
//! [`CircuitBreaker`] that stops a dead collector from costing anything.
//!
//! Everything here is a pure function or a state machine driven by explicit times, so it
//! can be tested (and fuzzed) without a network.

use std::time::{Duration, Instant, SystemTime};

/// gRPC status codes the classification looks at (`google.rpc.Code`).
pub mod grpc_code {
    /// `OK`.
    pub const OK: i32 = 0;
    /// `CANCELLED`.
    pub const CANCELLED: i32 = 1;
    /// `INVALID_ARGUMENT`.
    pub const INVALID_ARGUMENT: i32 = 3;
    /// `DEADLINE_EXCEEDED`.
    pub const DEADLINE_EXCEEDED: i32 = 4;
    /// `PERMISSION_DENIED`.
    pub const PERMISSION_DENIED: i32 = 7;
    /// `RESOURCE_EXHAUSTED`.
    pub const RESOURCE_EXHAUSTED: i32 = 8;
    /// `ABORTED`.
    pub const ABORTED: i32 = 10;
    /// `OUT_OF_RANGE`.
    pub const OUT_OF_RANGE: i32 = 11;
    /// `UNIMPLEMENTED`.
    pub const UNIMPLEMENTED: i32 = 12;
    /// `UNAVAILABLE`.
    pub const UNAVAILABLE: i32 = 14;
    /// `DATA_LOSS`.
    pub const DATA_LOSS: i32 = 15;
    /// `UNAUTHENTICATED`.
    pub const UNAUTHENTICATED: i32 = 16;
}

/// What one export attempt came back with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Response<'a> {
    /// The collector accepted the request (HTTP 2xx, gRPC `OK`). `rejected` and `message`
    /// are its `partial_success` (0 and empty when it accepted everything).
    Accepted {
        /// `rejected_data_points`.
        rejected: i64,
        /// `error_message`.
        message: &'a str,
    },
    /// An HTTP status other than 2xx, with its `Retry-After` header if it had one.
    Http {
        /// The status code.
        status: u16,
        /// The `Retry-After` header's value.
        retry_after: Option<&'a str>,
    },
    /// A gRPC status other than `OK`, with the delay of its `google.rpc.RetryInfo` detail
    /// if it carried one.
    Grpc {
        /// The status code.
        code: i32,
        /// `RetryInfo.retry_delay`.
        retry_delay: Option<Duration>,
    },
    /// No response: the connection failed or the request timed out.
    Transport,
}

/// What to do about a [`Response`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Everything was accepted.
    Accepted,
    /// The collector accepted the request but rejected some points: log the message
    /// once, never retry.
    PartialSuccess,
    /// Retry, after the delay the server asked for if it asked (else the backoff's).
    Retry(Option<Duration>),
    /// A permanent failure: do not retry.
    Fail,
}

/// Classifies one response, as the OTLP exporter specification says: HTTP 429, 502, 503
/// and 504 are retried (honouring `Retry-After`, in seconds or as an HTTP date relative to
/// `now`), every other HTTP error (400 included) is not; gRPC `CANCELLED`,
/// `DEADLINE_EXCEEDED`, `ABORTED`, `OUT_OF_RANGE`, `UNAVAILABLE` and `DATA_LOSS` are
/// retried, `RESOURCE_EXHAUSTED` only when the status carries `RetryInfo`, anything else
/// is not; a partial success is never retried; a failed connection or a timeout is
/// retried.
pub fn classify(response: &Response<'_>, now: SystemTime) -> Decision {
    match *response {
        Response::Accepted { rejected, message } => {
            if rejected > 0 || !message.is_empty() {
                Decision::PartialSuccess
            } else {
                Decision::Accepted
            }
        }
        Response::Http {
            status,
            retry_after,
        } => match status {
            200..=299 => Decision::Accepted,
            429 | 502 | 503 | 504 => {
                Decision::Retry(retry_after.and_then(|v| parse_retry_after(v, now)))
            }
            _ => Decision::Fail,
        },
        Response::Grpc { code, retry_delay } => {
            use grpc_code::*;
            match code {
                OK => Decision::Accepted,
                CANCELLED | DEADLINE_EXCEEDED | ABORTED | OUT_OF_RANGE | UNAVAILABLE
                | DATA_LOSS => Decision::Retry(retry_delay),
                RESOURCE_EXHAUSTED => match retry_delay {
                    Some(delay) => Decision::Retry(Some(delay)),
                    None => Decision::Fail,
                },
                _ => Decision::Fail,
            }
        }
        Response::Transport => Decision::Retry(None),
    }
}

/// The delay a `Retry-After` header asks for: a number of seconds, or an HTTP date
/// (`Sun, 06 Nov 1994 08:49:37 GMT` and the two obsolete forms), measured from `now` (a
/// date in the past is no delay). `None` when the value is neither.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse::<u64>().ok().map(Duration::from_secs);
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Exponential backoff with jitter: retry `n` (from 0) waits a random time in
/// `[d/2, d]`, where `d = min(initial * 2^n, max)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// The first retry's ceiling.
    pub initial: Duration,
    /// The largest ceiling.
    pub max: Duration,
}

impl Backoff {
    /// The delay before retry `retry` (0 for the first), with `random` any 64-bit value
    /// (uniform for uniform jitter).
    pub fn delay(&self, retry: u32, random: u64) -> Duration {
        let ceiling = self
            .initial
            .saturating_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX))
            .min(self.max);
        let half = ceiling / 2;
        let spread = (ceiling - half).as_nanos() as u64;
        let jitter = if spread == 0 {
            0
        } else {
            random % (spread + 1)
        };
        half + Duration::from_nanos(jitter)
    }
}

/// A 64-bit random value for jitter, from the standard library's per-process random
/// hash keys.
pub(crate) fn jitter_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// The circuit breaker's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BreakerState {
    /// Exports run.
    Closed,
    /// Exports are skipped until the open period ends.
    Open,
    /// One trial export runs; its outcome closes or reopens the breaker.
    HalfOpen,
}

impl BreakerState {
    /// 0 closed, 1 open, 2 half-open (the self-metric's encoding).
    pub fn as_u8(self) -> u8 {
        match self {
            BreakerState::Closed => 0,
            BreakerState::Open => 1,
            BreakerState::HalfOpen => 2,
        }
    }
}

/// Opens after `failure_threshold` consecutive failed exports, skips exports while open,
/// lets one trial through after `open_for` (half-open), and closes on its success or
/// reopens on its failure.
#[derive(Clone, Debug)]
pub struct CircuitBreaker {
    failure_threshold: u32,
    open_for: Duration,
    failures: u32,
    state: BreakerState,
    opened_at: Option<Instant>,
}

impl CircuitBreaker {
    /// A closed breaker.
    pub fn new(failure_threshold: u32, open_for: Duration) -> Self {
        Self {
            failure_threshold: failure_threshold.max(1),
            open_for,
            failures: 0,
            state: BreakerState::Closed,
            opened_at: None,
        }
    }

    /// The current state (an open breaker whose period has ended still reads open until
    /// [`allow`](Self::allow) moves it to half-open).
    pub fn state(&self) -> BreakerState {
        self.state
    }

    /// Whether an export may run at `now`; moves an open breaker whose period has ended
    /// to half-open.
    pub fn allow(&mut self, now: Instant) -> bool {
        match self.state {
            BreakerState::Closed | BreakerState::HalfOpen => true,
            BreakerState::Open => {
                let ready = self
                    .opened_at
                    .is_none_or(|at| now.saturating_duration_since(at) >= self.open_for);
                if ready {
                    self.state = BreakerState::HalfOpen;
                }
                ready
            }
        }
    }

    /// An export succeeded (a partial success counts): the breaker closes.
    pub fn record_success(&mut self) {
        self.failures = 0;
        self.state = BreakerState::Closed;
        self.opened_at = None;
    }

    /// An export failed (after its retries) at `now`. Returns true when this opened the
    /// breaker.
    pub fn record_failure(&mut self, now: Instant) -> bool {
        self.failures = self.failures.saturating_add(1);
        let open = match self.state {
            BreakerState::HalfOpen => true,
            BreakerState::Closed => self.failures >= self.failure_threshold,
            BreakerState::Open => false,
        };
        if open {
            self.state = BreakerState::Open;
            self.opened_at = Some(now);
        }
        open
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classification_table() {
        use grpc_code::*;
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // 1994-11-06 08:49:37
        let ms = Duration::from_millis;
        let cases: &[(Response<'_>, Decision)] = &[
            (
                Response::Accepted {
                    rejected: 0,
                    message: "",
                },
                Decision::Accepted,
            ),
            (
                Response::Accepted {
                    rejected: 3,
                    message: "bad points",
                },
                Decision::PartialSuccess,
            ),
            (
                Response::Accepted {
                    rejected: 0,
                    message: "a warning",
                },
                Decision::PartialSuccess,
            ),
            (
                Response::Http {
                    status: 200,
                    retry_after: None,
                },
                Decision::Accepted,
            ),
            (
                Response::Http {
                    status: 400,
                    retry_after: Some("1"),
                },
                Decision::Fail,
            ),
            (
                Response::Http {
                    status: 401,
                    retry_after: None,
                },
                Decision::Fail,
            ),
            (
                Response::Http {
                    status: 404,
                    retry_after: None,
                },
                Decision::Fail,
            ),
            (
                Response::Http {
                    status: 413,
                    retry_after: None,
                },
                Decision::Fail,
            ),
            (
                Response::Http {
                    status: 500,
                    retry_after: None,
                },
                Decision::Fail,
            ),
            (
                Response::Http {
                    status: 501,
                    retry_after: None,
                },
                Decision::Fail,
            ),
            (
                Response::Http {
                    status: 429,
                    retry_after: None,
                },
                Decision::Retry(None),
            ),
            (
                Response::Http {
                    status: 429,
                    retry_after: Some("7"),
                },
                Decision::Retry(Some(Duration::from_secs(7))),
            ),
            (
                Response::Http {
                    status: 503,
                    retry_after: Some("Sun, 06 Nov 1994 08:49:40 GMT"),
                },
                Decision::Retry(Some(Duration::from_secs(3))),
            ),
            (
                Response::Http {
                    status: 502,
                    retry_after: Some("soon"),
                },
                Decision::Retry(None),
            ),
            (
                Response::Http {
                    status: 504,
                    retry_after: None,
                },
                Decision::Retry(None),
            ),
            (
                Response::Grpc {
                    code: CANCELLED,
                    retry_delay: None,
                },
                Decision::Retry(None),
            ),
            (
                Response::Grpc {
                    code: DEADLINE_EXCEEDED,
                    retry_delay: None,
                },
                Decision::Retry(None),
            ),
            (
                Response::Grpc {
                    code: ABORTED,
                    retry_delay: None,
                },
                Decision::Retry(None),
            ),
            (
                Response::Grpc {
                    code: OUT_OF_RANGE,
                    retry_delay: None,
                },
                Decision::Retry(None),
            ),
            (
                Response::Grpc {
                    code: UNAVAILABLE,
                    retry_delay: Some(ms(250)),
                },
                Decision::Retry(Some(ms(250))),
            ),
            (
                Response::Grpc {
                    code: DATA_LOSS,
                    retry_delay: None,
                },
                Decision::Retry(None),
            ),
            (
                Response::Grpc {
                    code: RESOURCE_EXHAUSTED,
                    retry_delay: None,
                },
                Decision::Fail,
            ),
            (
                Response::Grpc {
                    code: RESOURCE_EXHAUSTED,
                    retry_delay: Some(ms(40)),
                },
                Decision::Retry(Some(ms(40))),
            ),
            (
                Response::Grpc {
                    code: INVALID_ARGUMENT,
                    retry_delay: None,
                },
                Decision::Fail,
            ),
            (
                Response::Grpc {
                    code: PERMISSION_DENIED,
                    retry_delay: None,
                },
                Decision::Fail,
            ),
            (
                Response::Grpc {
                    code: UNAUTHENTICATED,
                    retry_delay: None,
                },
                Decision::Fail,
            ),
            (
                Response::Grpc {
                    code: UNIMPLEMENTED,
                    retry_delay: None,
                },
                Decision::Fail,
            ),
            (
                Response::Grpc {
                    code: 2,
                    retry_delay: None,
                },
                Decision::Fail,
            ), // UNKNOWN
            (Response::Transport, Decision::Retry(None)),
        ];
        for (response, expected) in cases {
            assert_eq!(classify(response, now), *expected, "{response:?}");
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777);
        let s = Duration::from_secs;
        assert_eq!(parse_retry_after("120", now), Some(s(120)));
        assert_eq!(parse_retry_after(" 0 ", now), Some(s(0)));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now),
            Some(s(60))
        );
        // RFC 850 and asctime forms.
        assert_eq!(
            parse_retry_after("Sunday, 06-Nov-94 08:49:47 GMT", now),
            Some(s(10))
        );
        assert_eq!(
            parse_retry_after("Sun Nov  6 08:49:57 1994", now),
            Some(s(20))
        );
        // A date in the past: retry now.
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(s(0))
        );
        for bad in ["", "-1", "1.5", "soon", "99999999999999999999999"] {
            assert_eq!(parse_retry_after(bad, now), None, "{bad:?}");
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_ceiling_with_jitter_in_the_upper_half() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(1000),
        };
        let ms = Duration::from_millis;
        assert_eq!(b.delay(0, 0), ms(50));
        assert_eq!(
            b.delay(0, u64::MAX),
            ms(50) + Duration::from_nanos(u64::MAX % 50_000_001)
        );
        assert_eq!(b.delay(1, 0), ms(100));
        assert_eq!(b.delay(3, 0), ms(400));
        assert_eq!(b.delay(4, 0), ms(500), "capped at max / 2 .. max");
        assert_eq!(b.delay(40, 0), ms(500));
        for seed in 0..1000u64 {
            let r = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let d = b.delay(2, r);
            assert!(d >= ms(200) && d <= ms(400), "{d:?}");
        }
        let distinct: std::collections::HashSet<_> =
            (0..20).map(|_| b.delay(2, jitter_seed())).collect();
        assert!(distinct.len() > 1, "jitter varies");
    }

    #[test]
    fn breaker_closed_open_half_open() {
        let t0 = Instant::now();
        let at = |ms| t0 + Duration::from_millis(ms);
        let mut b = CircuitBreaker::new(2, Duration::from_millis(100));
        assert!(b.allow(at(0)));
        assert!(!b.record_failure(at(0)));
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(
            b.record_failure(at(10)),
            "the second consecutive failure opens it"
        );
        assert_eq!(b.state(), BreakerState::Open);
        assert!(!b.allow(at(50)));
        assert!(b.allow(at(110)), "after open_for: one trial");
        assert_eq!(b.state(), BreakerState::HalfOpen);
        assert!(b.record_failure(at(120)), "a failed trial reopens");
        assert!(!b.allow(at(200)));
        assert!(b.allow(at(220)));
        b.record_success();
        assert_eq!(b.state(), BreakerState::Closed);
        // A success resets the count.
        assert!(!b.record_failure(at(300)));
        b.record_success();
        assert!(!b.record_failure(at(310)));
        assert_eq!(b.state(), BreakerState::Closed);
    }
}
