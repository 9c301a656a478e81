//! A Prometheus Pushgateway client for batch jobs (feature `pushgateway`).
//!
//! A job that ends before any scrape could see it pushes its registry to a Pushgateway,
//! which keeps the last push of each group for Prometheus to scrape. A group is the job
//! name plus grouping labels; the body is the registry in the Prometheus text format,
//! rendered by corral-core's encoder.
//!
//! ```no_run
//! use corral_core::{Counter, Desc, Registry};
//! use corral_exporters::push::Pushgateway;
//!
//! static REGISTRY: Registry<8> = Registry::new();
//! static ROWS: Counter = Counter::new();
//!
//! REGISTRY.register(Desc::new("rows_imported_total", "Rows imported"), &ROWS)?;
//! let gateway = Pushgateway::new("http://pushgateway:9091")?
//!     .with_timeout(std::time::Duration::from_secs(5));
//! ROWS.inc_by(1234);
//! gateway.push_blocking("nightly_import", &[("shard", "eu/1")], &REGISTRY)?; // PUT
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! - [`push`](Pushgateway::push) (PUT) replaces every metric of the group,
//!   [`push_add`](Pushgateway::push_add) (POST) replaces only the families pushed, and
//!   [`delete`](Pushgateway::delete) (DELETE) removes the group.
//! - Grouping: the URL is `<base>/metrics/job/<job>/<label>/<value>...`. A job name or
//!   value that is empty, contains `/`, or holds anything but unreserved URL characters
//!   (`A-Z a-z 0-9 - . _ ~`) is sent base64url-encoded as `<label>@base64/<encoded>` (an
//!   empty value as `=`), as the Pushgateway API specifies; label names must be valid
//!   Prometheus label names.
//! - A pushed family that carries a `job` label, or a label of the grouping, is refused
//!   while the registry is rendered ([`PushError::JobLabel`], [`PushError::GroupingLabel`]):
//!   the gateway would overwrite it silently. Nothing is sent then.
//! - Authentication: Basic ([`with_basic_auth`](Pushgateway::with_basic_auth)) or a bearer
//!   token ([`with_bearer_token`](Pushgateway::with_bearer_token)). A timeout (10 s by
//!   default) bounds each whole request. A refused request fails with
//!   [`PushError::Status`], naming the HTTP status and the gateway's message.
//! - Blocking and async: the async calls run on the caller's Tokio runtime (which needs
//!   its time driver, as `#[tokio::main]` enables); the `_blocking` calls run a small
//!   current-thread runtime of their own, on a helper thread when the caller is itself
//!   inside a Tokio runtime, so they never panic or stall a runtime's worker.
//! - [`PushOnDrop`]: pushes when a job's guard goes out of scope, on success or early
//!   return alike.
//!
//! Only `http://` gateways are supported (no TLS).

use core::fmt;
use std::future::Future;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use bytes::Bytes;
use corral_core::encode::{EncodeError, PROMETHEUS_CONTENT_TYPE, PrometheusText, Source};
use corral_core::{Cursor, FamilyInfo, SeriesLabels, Value, Visit, Visitor, is_valid_label_name};
use corral_std::encode::VecSink;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tracing_events as log;

/// The timeout of a request unless [`Pushgateway::with_timeout`] sets another.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The most bytes of a gateway's error response kept in [`PushError::Status`].
const MESSAGE_LIMIT: usize = 1024;

/// Why a push or delete failed. Nothing is retried.
#[derive(Debug)]
#[non_exhaustive]
pub enum PushError {
    /// The gateway URL cannot be used.
    InvalidUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The job name is empty, or a grouping label name is invalid or repeated.
    InvalidGrouping {
        /// What is wrong.
        reason: String,
    },
    /// A family to push carries its own `job` label.
    JobLabel {
        /// The family.
        metric: String,
    },
    /// A family to push carries a label that is also a grouping label.
    GroupingLabel {
        /// The family.
        metric: String,
        /// The label.
        label: String,
    },
    /// The registry could not be rendered.
    Render(EncodeError),
    /// The request did not complete: the gateway could not be reached, or the connection
    /// failed.
    Transport {
        /// The request's URL.
        url: String,
        /// The client's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The gateway did not answer within the timeout.
    Timeout {
        /// The request's URL.
        url: String,
        /// The timeout.
        after: Duration,
    },
    /// The gateway answered with a status other than 2xx.
    Status {
        /// The request's URL.
        url: String,
        /// The HTTP status code.
        status: u16,
        /// The gateway's message (the start of the response body).
        message: String,
    },
    /// The blocking call could not start its runtime or helper thread.
    Runtime(std::io::Error),
}

impl fmt::Display for PushError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PushError::InvalidUrl { url, reason } => {
                write!(f, "invalid Pushgateway URL `{url}`: {reason}")
            }
            PushError::InvalidGrouping { reason } => write!(f, "invalid grouping: {reason}"),
            PushError::JobLabel { metric } => write!(
                f,
                "metric `{metric}` has a `job` label, which the Pushgateway would overwrite; \
                 refusing to push"
            ),
            PushError::GroupingLabel { metric, label } => write!(
                f,
                "metric `{metric}` has the grouping label `{label}`, which the Pushgateway \
                 would overwrite; refusing to push"
            ),
            PushError::Render(e) => write!(f, "cannot render the registry: {e}"),
            PushError::Transport { url, source } => {
                write!(f, "cannot reach the Pushgateway at {url}: {source}")?;
                let mut cause = source.source();
                while let Some(c) = cause {
                    write!(f, ": {c}")?;
                    cause = c.source();
                }
                Ok(())
            }
            PushError::Timeout { url, after } => {
                write!(
                    f,
                    "the Pushgateway at {url} did not answer within {after:?}"
                )
            }
            PushError::Status {
                url,
                status,
                message,
            } => write!(
                f,
                "the Pushgateway at {url} answered HTTP {status}: {}",
                message.trim()
            ),
            PushError::Runtime(e) => write!(f, "cannot start the push runtime: {e}"),
        }
    }
}

impl std::error::Error for PushError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            PushError::Render(e) => Some(e),
            PushError::Transport { source, .. } => Some(&**source),
            PushError::Runtime(e) => Some(e),
            _ => None,
        }
    }
}

#[derive(Clone)]
enum Auth {
    None,
    Header(HeaderValue),
}

/// A Pushgateway: its base URL, credentials and timeout. Cheap to clone.
#[derive(Clone)]
pub struct Pushgateway {
    base: String,
    auth: Auth,
    timeout: Duration,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl fmt::Debug for Pushgateway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pushgateway")
            .field("base", &self.base)
            .field("auth", &matches!(self.auth, Auth::Header(_)))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Pushgateway {
    /// A gateway at `url` (`http://host:port`, optionally with a path prefix).
    ///
    /// # Errors
    ///
    /// [`PushError::InvalidUrl`] if it is not an `http://` URL with a host.
    pub fn new(url: &str) -> Result<Self, PushError> {
        let invalid = |reason: &str| PushError::InvalidUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: Uri = url.parse().map_err(|e| invalid(&format!("{e}")))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(invalid("https is not supported; use http://")),
            _ => return Err(invalid("the URL must start with http://")),
        }
        if uri.authority().is_none() {
            return Err(invalid("the URL has no host"));
        }
        if uri.query().is_some() {
            return Err(invalid("the URL must not have a query"));
        }
        // No pooled connections: each request opens its own, so a gateway works from any
        // runtime (a pooled connection belongs to the runtime that opened it).
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build_http();
        Ok(Self {
            base: url.trim_end_matches('/').to_owned(),
            auth: Auth::None,
            timeout: DEFAULT_TIMEOUT,
            client,
        })
    }

    /// Sends HTTP Basic credentials with every request.
    #[must_use]
    pub fn with_basic_auth(mut self, user: &str, password: &str) -> Self {
        let token = STANDARD.encode(format!("{user}:{password}"));
        self.auth = header(&format!("Basic {token}"));
        self
    }

    /// Sends `Authorization: Bearer <token>` with every request.
    #[must_use]
    pub fn with_bearer_token(mut self, token: &str) -> Self {
        self.auth = header(&format!("Bearer {token}"));
        self
    }

    /// Bounds each whole request (connect, send, answer) by `timeout`.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The URL of a group: `<base>/metrics/job/<job>/<label>/<value>...`.
    ///
    /// # Errors
    ///
    /// [`PushError::InvalidGrouping`] for an empty job name, an invalid or repeated label
    /// name, or a grouping label called `job`.
    pub fn group_url(&self, job: &str, grouping: &[(&str, &str)]) -> Result<String, PushError> {
        let invalid = |reason: String| PushError::InvalidGrouping { reason };
        if job.is_empty() {
            return Err(invalid("the job name is empty".into()));
        }
        let mut url = format!("{}/metrics", self.base);
        segment(&mut url, "job", job);
        for (i, &(name, value)) in grouping.iter().enumerate() {
            if !is_valid_label_name(name) || name.starts_with("__") {
                return Err(invalid(format!("`{name}` is not a valid label name")));
            }
            if name == "job" {
                return Err(invalid(
                    "`job` is the job name, not a grouping label".into(),
                ));
            }
            if grouping[..i].iter().any(|&(n, _)| n == name) {
                return Err(invalid(format!("the grouping label `{name}` is repeated")));
            }
            segment(&mut url, name, value);
        }
        Ok(url)
    }

    /// Replaces the group's metrics with `source`'s (HTTP PUT).
    ///
    /// # Errors
    ///
    /// See [`PushError`].
    pub async fn push<S: Source + ?Sized>(
        &self,
        job: &str,
        grouping: &[(&str, &str)],
        source: &S,
    ) -> Result<(), PushError> {
        let (url, body) = self.prepare(job, grouping, Some(source))?;
        self.send(Method::PUT, url, body).await
    }

    /// Replaces the group's metrics of the families `source` has, keeping the others
    /// (HTTP POST).
    ///
    /// # Errors
    ///
    /// See [`PushError`].
    pub async fn push_add<S: Source + ?Sized>(
        &self,
        job: &str,
        grouping: &[(&str, &str)],
        source: &S,
    ) -> Result<(), PushError> {
        let (url, body) = self.prepare(job, grouping, Some(source))?;
        self.send(Method::POST, url, body).await
    }

    /// Deletes the group (HTTP DELETE).
    ///
    /// # Errors
    ///
    /// See [`PushError`].
    pub async fn delete(&self, job: &str, grouping: &[(&str, &str)]) -> Result<(), PushError> {
        let (url, body) = self.prepare::<corral_core::Registry<0>>(job, grouping, None)?;
        self.send(Method::DELETE, url, body).await
    }

    /// [`push`](Self::push), blocking the calling thread.
    ///
    /// # Errors
    ///
    /// See [`PushError`].
    pub fn push_blocking<S: Source + ?Sized>(
        &self,
        job: &str,
        grouping: &[(&str, &str)],
        source: &S,
    ) -> Result<(), PushError> {
        let (url, body) = self.prepare(job, grouping, Some(source))?;
        block_on(self.send(Method::PUT, url, body))
    }

    /// [`push_add`](Self::push_add), blocking the calling thread.
    ///
    /// # Errors
    ///
    /// See [`PushError`].
    pub fn push_add_blocking<S: Source + ?Sized>(
        &self,
        job: &str,
        grouping: &[(&str, &str)],
        source: &S,
    ) -> Result<(), PushError> {
        let (url, body) = self.prepare(job, grouping, Some(source))?;
        block_on(self.send(Method::POST, url, body))
    }

    /// [`delete`](Self::delete), blocking the calling thread.
    ///
    /// # Errors
    ///
    /// See [`PushError`].
    pub fn delete_blocking(&self, job: &str, grouping: &[(&str, &str)]) -> Result<(), PushError> {
        let (url, body) = self.prepare::<corral_core::Registry<0>>(job, grouping, None)?;
        block_on(self.send(Method::DELETE, url, body))
    }

    /// A guard that pushes (PUT) `source` to the group when it is dropped.
    pub fn push_on_drop<'a, S: Source + Sync + ?Sized>(
        &self,
        job: &str,
        grouping: &[(&str, &str)],
        source: &'a S,
    ) -> PushOnDrop<'a, S> {
        PushOnDrop {
            gateway: self.clone(),
            job: job.to_owned(),
            grouping: grouping
                .iter()
                .map(|&(n, v)| (n.to_owned(), v.to_owned()))
                .collect(),
            source,
            done: false,
        }
    }

    /// The URL and the rendered body (none for a delete), checked for `job` and grouping
    /// labels.
    fn prepare<S: Source + ?Sized>(
        &self,
        job: &str,
        grouping: &[(&str, &str)],
        source: Option<&S>,
    ) -> Result<(String, Bytes), PushError> {
        let url = self.group_url(job, grouping)?;
        let Some(source) = source else {
            return Ok((url, Bytes::new()));
        };
        let mut body = Vec::new();
        let (visit, refused, failed) = {
            let mut sink = VecSink::new(&mut body);
            let mut checked = Checked {
                text: PrometheusText::new(&mut sink),
                grouping,
                refused: None,
            };
            let visit = source.visit_from(Cursor::START, &mut checked);
            let failed = checked.text.failed_family();
            // Dropping the encoder writes its last block into `body`.
            (visit, checked.refused, failed)
        };
        if let Some(error) = refused {
            return Err(error);
        }
        if visit != Visit::Complete {
            // An unbounded Vec takes everything, so only an encoder refusal gets here.
            return Err(PushError::Render(EncodeError::TooLarge { family: failed }));
        }
        Ok((url, Bytes::from(body)))
    }

    async fn send(&self, method: Method, url: String, body: Bytes) -> Result<(), PushError> {
        let transport =
            |url: &str, e: Box<dyn std::error::Error + Send + Sync>| PushError::Transport {
                url: url.to_owned(),
                source: e,
            };
        let mut request = Request::builder().method(method).uri(url.as_str());
        if !body.is_empty() {
            request = request.header(CONTENT_TYPE, PROMETHEUS_CONTENT_TYPE);
        }
        if let Auth::Header(value) = &self.auth {
            request = request.header(AUTHORIZATION, value.clone());
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| PushError::InvalidUrl {
                url: url.clone(),
                reason: e.to_string(),
            })?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| transport(&url, Box::new(e)))?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| transport(&url, Box::new(e)))?
                .to_bytes();
            Ok::<_, PushError>((status, body))
        };
        let (status, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| PushError::Timeout {
                url: url.clone(),
                after: self.timeout,
            })??;
        if status.is_success() {
            return Ok(());
        }
        let end = body.len().min(MESSAGE_LIMIT);
        Err(PushError::Status {
            url,
            status: status.as_u16(),
            message: String::from_utf8_lossy(&body[..end]).into_owned(),
        })
    }
}

fn header(value: &str) -> Auth {
    // Credentials with bytes a header cannot carry (control characters) are not sent;
    // the gateway then answers 401, which names the problem.
    match HeaderValue::from_str(value) {
        Ok(mut v) => {
            v.set_sensitive(true);
            Auth::Header(v)
        }
        Err(_) => {
            log::warn!(target: "corral::push", "credentials with characters a header cannot hold are not sent");
            Auth::None
        }
    }
}

/// Appends `/<name>/<value>`, or `/<name>@base64/<value in base64url>`. `.` and `..`
/// go as base64 too: as path segments they are dot segments, which the Pushgateway
/// answers with a redirect to the resolved path (and proxies resolve).
fn segment(url: &mut String, name: &str, value: &str) {
    let plain = !value.is_empty()
        && value != "."
        && value != ".."
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    url.push('/');
    url.push_str(name);
    if plain {
        url.push('/');
        url.push_str(value);
    } else if value.is_empty() {
        url.push_str("@base64/=");
    } else {
        url.push_str("@base64/");
        url.push_str(&URL_SAFE.encode(value));
    }
}

/// The Prometheus text encoder, refusing families with a `job` or grouping label.
struct Checked<'a, 's> {
    text: PrometheusText<'s, VecSink<'a>>,
    grouping: &'a [(&'a str, &'a str)],
    refused: Option<PushError>,
}

impl Visitor for Checked<'_, '_> {
    fn family(&mut self, family: &FamilyInfo<'_>) -> core::ops::ControlFlow<()> {
        for &label in family.label_names {
            if label == "job" {
                self.refused = Some(PushError::JobLabel {
                    metric: family.name.to_owned(),
                });
                return core::ops::ControlFlow::Break(());
            }
            if self.grouping.iter().any(|&(n, _)| n == label) {
                self.refused = Some(PushError::GroupingLabel {
                    metric: family.name.to_owned(),
                    label: label.to_owned(),
                });
                return core::ops::ControlFlow::Break(());
            }
        }
        self.text.family(family)
    }

    fn series(
        &mut self,
        family: &FamilyInfo<'_>,
        labels: &SeriesLabels<'_>,
        value: &Value<'_>,
    ) -> core::ops::ControlFlow<()> {
        self.text.series(family, labels, value)
    }

    fn family_end(&mut self, family: &FamilyInfo<'_>) -> core::ops::ControlFlow<()> {
        self.text.family_end(family)
    }
}

/// Runs `future` to completion on a current-thread runtime of its own; on a helper thread
/// when this thread is inside a Tokio runtime already (blocking a runtime's thread on
/// another runtime would panic).
fn block_on<F>(future: F) -> Result<(), PushError>
where
    F: Future<Output = Result<(), PushError>> + Send,
{
    let run = move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(PushError::Runtime)?
            .block_on(future)
    };
    if tokio::runtime::Handle::try_current().is_err() {
        return run();
    }
    std::thread::scope(|scope| {
        let helper = std::thread::Builder::new()
            .name("corral-push".into())
            .spawn_scoped(scope, run)
            .map_err(PushError::Runtime)?;
        helper
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

/// Pushes (PUT) a source to a group when dropped; see [`Pushgateway::push_on_drop`].
///
/// ```no_run
/// use corral_core::{Counter, Desc, Registry};
/// use corral_exporters::push::Pushgateway;
///
/// static REGISTRY: Registry<8> = Registry::new();
/// static DONE: Counter = Counter::new();
///
/// fn run_job(gateway: &Pushgateway) -> Result<(), std::io::Error> {
///     let _push = gateway.push_on_drop("cleanup", &[], &REGISTRY);
///     DONE.inc();
///     Ok(()) // the registry is pushed here, also on an early `?` return
/// }
/// ```
///
/// Dropping logs a failed push (target `corral::push`); call [`finish`](Self::finish) to
/// push and see the error instead.
pub struct PushOnDrop<'a, S: Source + Sync + ?Sized> {
    gateway: Pushgateway,
    job: String,
    grouping: Vec<(String, String)>,
    source: &'a S,
    done: bool,
}

impl<S: Source + Sync + ?Sized> fmt::Debug for PushOnDrop<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushOnDrop")
            .field("gateway", &self.gateway)
            .field("job", &self.job)
            .field("grouping", &self.grouping)
            .finish_non_exhaustive()
    }
}

impl<S: Source + Sync + ?Sized> PushOnDrop<'_, S> {
    /// Pushes now (blocking) and returns the outcome; nothing is pushed on drop after.
    ///
    /// # Errors
    ///
    /// See [`PushError`].
    pub fn finish(mut self) -> Result<(), PushError> {
        self.done = true;
        self.push()
    }

    fn push(&self) -> Result<(), PushError> {
        let grouping: Vec<(&str, &str)> = self
            .grouping
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        self.gateway
            .push_blocking(&self.job, &grouping, self.source)
    }
}

impl<S: Source + Sync + ?Sized> Drop for PushOnDrop<'_, S> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        if let Err(e) = self.push() {
            log::warn!(target: "corral::push", "push of job `{}` on drop failed: {e}", self.job);
        }
    }
}
