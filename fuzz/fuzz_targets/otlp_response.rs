//! What the OTLP metric exporter does with a collector's answer, against a reference
//! written here from the OTLP exporter specification's tables:
//!
//! - HTTP: 2xx is accepted (a partial success when the body's `partial_success` rejects
//!   points or carries a message; an unreadable body is a plain success); 429, 502, 503 and
//!   504 are retried, after the `Retry-After` delay when it is one (seconds, or an HTTP date
//!   measured from now, a past one meaning no wait); every other status fails for good, and
//!   an error body's `google.rpc.Status` message (or the body as text) is what gets logged.
//! - gRPC: `CANCELLED`, `DEADLINE_EXCEEDED`, `ABORTED`, `OUT_OF_RANGE`, `UNAVAILABLE` and
//!   `DATA_LOSS` are retried with the `RetryInfo` delay if any, `RESOURCE_EXHAUSTED` only
//!   with one, `OK` is accepted, everything else fails.
//!
//! Response bodies are encoded here by hand (protobuf field 1 of the response, fields 1 and
//! 2 of the partial success or the status), or are arbitrary bytes, for which only "no
//! panic, and a decision of the status's class" is checked.

#![no_main]

use std::time::{Duration, SystemTime};

use arbitrary::Arbitrary;
use corral_exporters::otlp::classify_http_answer;
use corral_exporters::otlp::retry::{Decision, Response, classify, parse_retry_after};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum RetryAfter {
    /// A number of seconds, perhaps padded with spaces.
    Seconds { seconds: u32, pad: bool },
    /// An HTTP date this many seconds from now.
    Date { offset: i32 },
    /// Anything.
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Body {
    /// A response or status message with these fields.
    Fields { count: i64, message: String },
    /// Anything.
    Raw(Vec<u8>),
}

#[derive(Arbitrary, Debug)]
enum Input {
    Http {
        status: u16,
        retry_after: Option<RetryAfter>,
        body: Body,
    },
    Grpc {
        code: i32,
        delay_ms: Option<u32>,
    },
}

fn now() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

fn varint(mut v: u64, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Fields 1 (varint) and 2 (string), zero values left out as protobuf does.
fn fields(count: i64, message: &str) -> Vec<u8> {
    let mut out = Vec::new();
    if count != 0 {
        out.push(0x08);
        varint(count as u64, &mut out);
    }
    if !message.is_empty() {
        out.push(0x12);
        varint(message.len() as u64, &mut out);
        out.extend_from_slice(message.as_bytes());
    }
    out
}

/// `ExportMetricsServiceResponse { partial_success: { rejected_data_points, error_message } }`.
fn response_body(rejected: i64, message: &str) -> Vec<u8> {
    let inner = fields(rejected, message);
    let mut out = vec![0x0a];
    varint(inner.len() as u64, &mut out);
    out.extend_from_slice(&inner);
    out
}

/// The delay the reference expects from a `Retry-After` value, if it can tell.
fn expected_delay(value: &RetryAfter, text: &str) -> Option<Option<Duration>> {
    match value {
        RetryAfter::Seconds { seconds, .. } => Some(Some(Duration::from_secs(u64::from(*seconds)))),
        RetryAfter::Date { offset } => Some(Some(Duration::from_secs(
            u64::try_from(*offset).unwrap_or(0),
        ))),
        RetryAfter::Raw(_) => {
            let trimmed = text.trim();
            if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
                Some(trimmed.parse::<u64>().ok().map(Duration::from_secs))
            } else {
                None
            }
        }
    }
}

fn retry_after_text(value: &RetryAfter) -> String {
    match value {
        RetryAfter::Seconds { seconds, pad } if *pad => format!("  {seconds} "),
        RetryAfter::Seconds { seconds, .. } => seconds.to_string(),
        RetryAfter::Date { offset } => {
            // Not before 1970 (HTTP dates cannot say it).
            let offset = &(*offset).max(-1_000_000_000);
            let at = if *offset >= 0 {
                now() + Duration::from_secs(*offset as u64)
            } else {
                now() - Duration::from_secs(offset.unsigned_abs().into())
            };
            httpdate::fmt_http_date(at)
        }
        RetryAfter::Raw(s) => s.clone(),
    }
}

fn check_http(status: u16, retry_after: Option<RetryAfter>, body: Body) {
    let header = retry_after.as_ref().map(retry_after_text);
    let bytes = match (&body, (200..300).contains(&status)) {
        (Body::Fields { count, message }, true) => response_body(*count, message),
        (Body::Fields { count, message }, false) => fields(*count, message),
        (Body::Raw(bytes), _) => bytes.clone(),
    };
    let (decision, message) = classify_http_answer(status, header.as_deref(), &bytes, now());
    match status {
        200..=299 => match &body {
            Body::Fields {
                count,
                message: sent,
            } => {
                let partial = *count > 0 || !sent.is_empty();
                let want = if partial {
                    Decision::PartialSuccess
                } else {
                    Decision::Accepted
                };
                assert_eq!(decision, want, "status {status}, body {body:?}");
                assert_eq!(&message, sent, "the partial success's message");
            }
            Body::Raw(_) => assert!(
                matches!(decision, Decision::Accepted | Decision::PartialSuccess),
                "status {status}: {decision:?}"
            ),
        },
        429 | 502 | 503 | 504 => {
            let Decision::Retry(delay) = decision else {
                panic!("status {status} must be retried, got {decision:?}");
            };
            match (&retry_after, &header) {
                (None, _) => assert_eq!(delay, None, "no Retry-After, no delay"),
                (Some(value), Some(text)) => {
                    if let Some(want) = expected_delay(value, text) {
                        assert_eq!(delay, want, "Retry-After {text:?}");
                    }
                    assert_eq!(delay, parse_retry_after(text, now()));
                }
                (Some(_), None) => unreachable!(),
            }
        }
        _ => {
            assert_eq!(
                decision,
                Decision::Fail,
                "status {status} must not be retried"
            );
            if let Body::Fields { message: sent, .. } = &body
                && !sent.is_empty()
            {
                assert_eq!(&message, sent, "the error status's message");
            }
        }
    }
}

fn check_grpc(code: i32, delay_ms: Option<u32>) {
    let delay = delay_ms.map(|ms| Duration::from_millis(u64::from(ms)));
    let decision = classify(
        &Response::Grpc {
            code,
            retry_delay: delay,
        },
        now(),
    );
    let want = match code {
        0 => Decision::Accepted,
        1 | 4 | 10 | 11 | 14 | 15 => Decision::Retry(delay),
        8 if delay.is_some() => Decision::Retry(delay),
        _ => Decision::Fail,
    };
    assert_eq!(decision, want, "gRPC code {code}, RetryInfo {delay:?}");
}

fuzz_target!(|input: Input| {
    match input {
        Input::Http {
            status,
            retry_after,
            body,
        } => check_http(status, retry_after, body),
        Input::Grpc { code, delay_ms } => check_grpc(code, delay_ms),
    }
});
