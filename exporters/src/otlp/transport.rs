//! Sending one encoded request: gRPC through tonic's `MetricsServiceClient`, HTTP/protobuf
//! through hyper-util's client. Both answer with a [`Response`](super::retry::Response)
//! for [`classify`](super::retry::classify).

use std::time::Duration;

use corral_std::config::{Compression, OtlpProtocol};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};

use super::settings::MetricsSettings;

/// What came back, owned (the message and header are copied out of the response).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    Accepted {
        rejected: i64,
        message: String,
    },
    #[cfg_attr(not(feature = "otlp-http"), allow(dead_code))]
    Http {
        status: u16,
        retry_after: Option<String>,
        message: String,
    },
    #[cfg_attr(not(feature = "otlp-grpc"), allow(dead_code))]
    Grpc {
        code: i32,
        retry_delay: Option<Duration>,
        message: String,
    },
    Transport(String),
}

impl Answer {
    pub(crate) fn response(&self) -> super::retry::Response<'_> {
        use super::retry::Response;
        match self {
            Answer::Accepted { rejected, message } => Response::Accepted {
                rejected: *rejected,
                message,
            },
            Answer::Http {
                status,
                retry_after,
                ..
            } => Response::Http {
                status: *status,
                retry_after: retry_after.as_deref(),
            },
            Answer::Grpc {
                code, retry_delay, ..
            } => Response::Grpc {
                code: *code,
                retry_delay: *retry_delay,
            },
            Answer::Transport(_) => Response::Transport,
        }
    }

    fn accepted(response: ExportMetricsServiceResponse) -> Self {
        let (rejected, message) = response
            .partial_success
            .map(|p| (p.rejected_data_points, p.error_message))
            .unwrap_or_default();
        Answer::Accepted { rejected, message }
    }
}

/// Why the transport could not be built.
#[derive(Debug)]
pub(crate) struct TransportError(pub(crate) String);

// One transport per exporter, built once: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Transport {
    #[cfg(feature = "otlp-grpc")]
    Grpc(GrpcTransport),
    #[cfg(feature = "otlp-http")]
    Http(HttpTransport),
}

impl Transport {
    /// Must run inside a tokio runtime (the gRPC channel spawns its worker there).
    pub(crate) fn new(settings: &MetricsSettings) -> Result<Self, TransportError> {
        if settings.endpoint.starts_with("https://") {
            return Err(TransportError(format!(
                "{}: https endpoints are not supported by this build (no TLS client)",
                settings.endpoint
            )));
        }
        match settings.protocol {
            #[cfg(feature = "otlp-grpc")]
            OtlpProtocol::Grpc => GrpcTransport::new(settings).map(Transport::Grpc),
            #[cfg(feature = "otlp-http")]
            OtlpProtocol::HttpProtobuf => HttpTransport::new(settings).map(Transport::Http),
            #[allow(unreachable_patterns)]
            other => Err(TransportError(format!(
                "protocol {other:?} needs the corresponding corral-exporters feature \
                 (otlp-grpc for grpc, otlp-http for http/protobuf)"
            ))),
        }
    }

    /// Sends `request` (already `encoded` for HTTP); the answer within `timeout`.
    pub(crate) async fn send(
        &mut self,
        request: &ExportMetricsServiceRequest,
        encoded: &mut Vec<u8>,
        timeout: Duration,
    ) -> Answer {
        match self {
            #[cfg(feature = "otlp-grpc")]
            Transport::Grpc(t) => {
                let _ = encoded;
                t.send(request, timeout).await
            }
            #[cfg(feature = "otlp-http")]
            Transport::Http(t) => {
                use prost::Message;
                encoded.clear();
                if request.encode(encoded).is_err() {
                    return Answer::Transport("request too large to encode".to_owned());
                }
                t.send(encoded, timeout).await
            }
        }
    }

    /// Bytes of the last request as sent (after compression), for self-metrics.
    pub(crate) fn last_wire_bytes(&self) -> usize {
        match self {
            #[cfg(feature = "otlp-grpc")]
            Transport::Grpc(t) => t.last_bytes,
            #[cfg(feature = "otlp-http")]
            Transport::Http(t) => t.last_bytes,
        }
    }
}

#[cfg(feature = "otlp-grpc")]
pub(crate) struct GrpcTransport {
    client: opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient<tonic::transport::Channel>,
    metadata: tonic::metadata::MetadataMap,
    last_bytes: usize,
    gzip: bool,
}

#[cfg(feature = "otlp-grpc")]
impl GrpcTransport {
    fn new(settings: &MetricsSettings) -> Result<Self, TransportError> {
        use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
        use tonic::metadata::{MetadataKey, MetadataValue};
        let endpoint = tonic::transport::Endpoint::from_shared(settings.endpoint.clone())
            .map_err(|e| TransportError(format!("{}: {e}", settings.endpoint)))?
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout);
        let mut client = MetricsServiceClient::new(endpoint.connect_lazy());
        let gzip = settings.compression == Compression::Gzip;
        if gzip {
            client = client.send_compressed(tonic::codec::CompressionEncoding::Gzip);
        }
        let mut metadata = tonic::metadata::MetadataMap::new();
        for (k, v) in &settings.headers {
            let key = MetadataKey::from_bytes(k.to_ascii_lowercase().as_bytes())
                .map_err(|_| TransportError(format!("header {k:?} is not a valid name")))?;
            let value = MetadataValue::try_from(v.as_str())
                .map_err(|_| TransportError(format!("header {k:?} has an invalid value")))?;
            metadata.insert(key, value);
        }
        Ok(Self {
            client,
            metadata,
            last_bytes: 0,
            gzip,
        })
    }

    async fn send(&mut self, request: &ExportMetricsServiceRequest, timeout: Duration) -> Answer {
        use prost::Message;
        use tonic_types::StatusExt;
        self.last_bytes = request.encoded_len();
        let _ = self.gzip;
        let mut req = tonic::Request::new(request.clone());
        *req.metadata_mut() = self.metadata.clone();
        req.set_timeout(timeout);
        match tokio::time::timeout(timeout, self.client.export(req)).await {
            Err(_) => Answer::Transport(format!("no answer within {timeout:?}")),
            Ok(Ok(response)) => Answer::accepted(response.into_inner()),
            Ok(Err(status)) => {
                let transport = std::error::Error::source(&status).is_some_and(|s| {
                    s.downcast_ref::<tonic::transport::Error>().is_some()
                        || s.to_string().contains("transport error")
                });
                if transport {
                    return Answer::Transport(status.to_string());
                }
                Answer::Grpc {
                    code: status.code() as i32,
                    retry_delay: status.get_details_retry_info().and_then(|r| r.retry_delay),
                    message: status.message().to_owned(),
                }
            }
        }
    }
}

#[cfg(feature = "otlp-http")]
pub(crate) struct HttpTransport {
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Full<bytes::Bytes>,
    >,
    uri: http::Uri,
    headers: http::HeaderMap,
    gzip: bool,
    compressed: Vec<u8>,
    last_bytes: usize,
}

#[cfg(feature = "otlp-http")]
impl HttpTransport {
    fn new(settings: &MetricsSettings) -> Result<Self, TransportError> {
        use http::header::{HeaderName, HeaderValue};
        let uri: http::Uri = settings
            .endpoint
            .parse()
            .map_err(|e| TransportError(format!("{}: {e}", settings.endpoint)))?;
        let mut headers = http::HeaderMap::new();
        for (k, v) in &settings.headers {
            let name = HeaderName::from_bytes(k.as_bytes())
                .map_err(|_| TransportError(format!("header {k:?} is not a valid name")))?;
            let value = HeaderValue::from_str(v)
                .map_err(|_| TransportError(format!("header {k:?} has an invalid value")))?;
            headers.insert(name, value);
        }
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http();
        Ok(Self {
            client,
            uri,
            headers,
            gzip: settings.compression == Compression::Gzip,
            compressed: Vec::new(),
            last_bytes: 0,
        })
    }

    async fn send(&mut self, encoded: &[u8], timeout: Duration) -> Answer {
        use http_body_util::BodyExt;
        use std::io::Write;
        let body = if self.gzip {
            self.compressed.clear();
            let mut gz = flate2::write::GzEncoder::new(
                std::mem::take(&mut self.compressed),
                flate2::Compression::fast(),
            );
            let done = gz.write_all(encoded).and_then(|()| gz.finish());
            match done {
                Ok(out) => {
                    let bytes = bytes::Bytes::copy_from_slice(&out);
                    self.compressed = out;
                    bytes
                }
                Err(e) => return Answer::Transport(format!("gzip: {e}")),
            }
        } else {
            bytes::Bytes::copy_from_slice(encoded)
        };
        self.last_bytes = body.len();
        let mut builder = http::Request::post(self.uri.clone())
            .header(http::header::CONTENT_TYPE, "application/x-protobuf");
        if self.gzip {
            builder = builder.header(http::header::CONTENT_ENCODING, "gzip");
        }
        let Ok(mut req) = builder.body(http_body_util::Full::new(body)) else {
            return Answer::Transport("request could not be built".to_owned());
        };
        req.headers_mut()
            .extend(self.headers.iter().map(|(k, v)| (k.clone(), v.clone())));
        let exchange = async {
            let response = self.client.request(req).await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get(http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| e.to_string())?
                .to_bytes();
            Ok::<_, String>((status, retry_after, body))
        };
        match tokio::time::timeout(timeout, exchange).await {
            Err(_) => Answer::Transport(format!("no answer within {timeout:?}")),
            Ok(Err(e)) => Answer::Transport(e),
            Ok(Ok((status, retry_after, body))) => http_answer(status, retry_after, &body),
        }
    }
}

/// What an OTLP/HTTP answer says: a 2xx body is an `ExportMetricsServiceResponse` (its
/// partial success, if any), any other body a `google.rpc.Status` (its message, or the body
/// as text when it is not one).
#[cfg(feature = "otlp-http")]
fn http_answer(status: u16, retry_after: Option<String>, body: &[u8]) -> Answer {
    use prost::Message;
    if (200..300).contains(&status) {
        match ExportMetricsServiceResponse::decode(body) {
            Ok(response) => Answer::accepted(response),
            // An empty or unreadable success body: everything accepted.
            Err(_) => Answer::Accepted {
                rejected: 0,
                message: String::new(),
            },
        }
    } else {
        // Error bodies are `google.rpc.Status`; its message is field 2.
        let message = tonic_types::pb::Status::decode(body)
            .map(|s| s.message)
            .unwrap_or_else(|_| String::from_utf8_lossy(body).into_owned());
        Answer::Http {
            status,
            retry_after,
            message,
        }
    }
}

/// What the exporter does with an OTLP/HTTP answer (`status`, its `Retry-After` value,
/// `body`), and the message it logs with it: the code the HTTP transport runs on every
/// answer, then [`classify`](super::retry::classify) at `now`. For tests and fuzzing.
#[cfg(feature = "otlp-http")]
pub fn classify_http_answer(
    status: u16,
    retry_after: Option<&str>,
    body: &[u8],
    now: std::time::SystemTime,
) -> (super::retry::Decision, String) {
    let answer = http_answer(status, retry_after.map(str::to_owned), body);
    let decision = super::retry::classify(&answer.response(), now);
    let message = match answer {
        Answer::Accepted { message, .. }
        | Answer::Http { message, .. }
        | Answer::Grpc { message, .. } => message,
        Answer::Transport(message) => message,
    };
    (decision, message)
}

#[cfg(all(test, feature = "otlp-http"))]
mod tests {
    use std::time::{Duration, SystemTime};

    use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsPartialSuccess;
    use prost::Message;

    use super::*;
    use crate::otlp::retry::Decision;

    #[test]
    fn http_answers_are_read_from_status_header_and_body() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let partial = ExportMetricsServiceResponse {
            partial_success: Some(ExportMetricsPartialSuccess {
                rejected_data_points: 3,
                error_message: "too old".to_owned(),
            }),
        }
        .encode_to_vec();
        assert_eq!(
            classify_http_answer(200, None, &partial, now),
            (Decision::PartialSuccess, "too old".to_owned())
        );
        assert_eq!(
            classify_http_answer(200, None, b"\xff\xff not protobuf", now),
            (Decision::Accepted, String::new())
        );
        assert_eq!(
            classify_http_answer(503, Some("7"), b"", now).0,
            Decision::Retry(Some(Duration::from_secs(7)))
        );
        let status = tonic_types::pb::Status {
            code: 3,
            message: "bad metric".to_owned(),
            details: vec![],
        }
        .encode_to_vec();
        assert_eq!(
            classify_http_answer(400, Some("7"), &status, now),
            (Decision::Fail, "bad metric".to_owned())
        );
        assert_eq!(
            classify_http_answer(502, None, b"gateway down", now),
            (Decision::Retry(None), "gateway down".to_owned())
        );
    }
}
