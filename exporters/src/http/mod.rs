//! The Prometheus `/metrics` endpoint: axum routes served by hyper, with content
//! negotiation, gzip (and zstd), `name[]` filtering, limits, access control and
//! client_golang's self-metrics.
//!
//! One [`MetricsServer`] is used in one of three ways:
//!
//! ```no_run
//! use corral_exporters::http::MetricsServer;
//! use corral_std::default_registry;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // 1. Mounted into the application's own axum server.
//! let server = MetricsServer::new(default_registry())?;
//! let app = axum::Router::new().merge(server.router());
//! # let _ = app;
//!
//! // 2. Served on the caller's tokio runtime until the shutdown future completes.
//! # let server = MetricsServer::new(default_registry())?;
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let listener = server.bind().await?; // the configured host:port
//! tokio::spawn(server.serve(listener, async { let _ = stopped.await; }));
//! // ... later:
//! let _ = stop.send(());
//! # Ok(()) }
//! ```
//!
//! ```no_run
//! // 3. On its own thread with its own small runtime; stops when the handle drops.
//! use corral_exporters::http::MetricsServer;
//! use corral_std::config::ObservabilityConfig;
//!
//! let config = ObservabilityConfig::from_file("observability.yaml")?;
//! let handle = MetricsServer::new(corral_std::default_registry())?
//!     .with_endpoint(&config.prometheus.endpoint)
//!     .spawn_thread()?;
//! println!("metrics on http://{}/metrics", handle.local_addr());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Routes
//!
//! - `GET`/`HEAD` on the metrics path (`/metrics` unless configured): the registry in the
//!   negotiated format ([`negotiate()`]), gzip or zstd when asked for, `Vary: Accept-Encoding`.
//!   `?name[]=a&name[]=b` renders only the families registered under those exact names.
//! - `GET /health`: 200 while the process serves. `GET /ready`: 200 once ready (see
//!   [`Readiness`]), else 503.
//! - Other paths: 404; other methods: 405 with `Allow`.
//!
//! ## Where rendering runs
//!
//! Each scrape renders and compresses on tokio's blocking pool (`spawn_blocking`), never on
//! an async worker: a 100,000-series render and its gzip take tens of milliseconds of CPU,
//! and the blocking pool holds that without starving other tasks, in one hand-off instead
//! of one yield per chunk. The body and compressor state come from a pool and go back
//! to it once hyper has written the response, so a warm server allocates no new render
//! buffers per scrape. The body is handed to hyper in 32 KiB frames sliced from that
//! buffer (no copy), yielding to the runtime after every 128 KiB: hyper writes for as long
//! as the socket accepts bytes, so without the yields one task poll could push a whole
//! multi-megabyte body through the kernel.
//!
//! ## Limits (defaults in [`MetricsServer`]'s setters)
//!
//! At most `max_in_flight` scrapes render at once; one more is answered at once with 503
//! and client_golang's "Limit of concurrent requests reached (N), try again later." A render
//! that takes longer than `render_timeout` is answered with 503 "Exceeded configured
//! timeout of D." Request headers larger than `max_header_bytes` get 431 and a closed
//! connection, and a client that has not sent its whole header within
//! `header_read_timeout` is disconnected. Graceful shutdown stops accepting, lets in-flight
//! scrapes finish (up to `shutdown_grace`) and closes idle connections.
//!
//! ## Self-metrics
//!
//! Registered into the served registry under client_golang's names, so dashboards made
//! for Go exporters work unchanged:
//! `promhttp_metric_handler_requests_total{code}` (200, 500 and 503 exist from the start),
//! `promhttp_metric_handler_requests_in_flight`, plus
//! `corral_http_render_duration_seconds` (histogram) and `corral_http_response_bytes_total`.

pub mod negotiate;
mod render;
#[cfg(feature = "tls")]
mod tls;

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use bytes::Bytes;
use corral_core::encode::Format;
use corral_core::{Counter, Desc, DynamicFamily, Histogram, IntGauge, RegisterError, Registry};
use corral_std::config::EndpointConfig;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use subtle::ConstantTimeEq;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use negotiate::{CODINGS, FORMATS, negotiate, negotiate_coding};
#[doc(hidden)]
pub use render::render_names;
use render::{FillError, Pool, RenderSource};

/// The `name[]` values of a query string, decoded, in order (client_golang's filter; the
/// fuzz target `name_filter` checks it against a reference decoder).
#[doc(hidden)]
pub fn query_names(query: &str) -> Vec<String> {
    form_urlencoded::parse(query.as_bytes())
        .filter(|(k, _)| k == "name[]")
        .map(|(_, v)| v.into_owned())
        .collect()
}

#[cfg(feature = "tls")]
pub use tls::{TlsConfig, TlsError};

/// Bucket bounds of `corral_http_render_duration_seconds`.
const RENDER_SECONDS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The server's own metrics, registered into the served registry.
struct SelfMetrics {
    requests: DynamicFamily<Counter, 1, 8>,
    in_flight: IntGauge,
    render_seconds: Histogram<15>,
    bytes: Counter,
}

impl SelfMetrics {
    fn register<const FAMILIES: usize>(
        registry: &'static Registry<FAMILIES>,
    ) -> Result<&'static Self, RegisterError> {
        // Lives as long as the registry it is registered in, which is `'static`.
        let metrics: &'static SelfMetrics = Box::leak(Box::new(SelfMetrics {
            requests: DynamicFamily::new(["code"]),
            in_flight: IntGauge::new(),
            render_seconds: Histogram::new(RENDER_SECONDS),
            bytes: Counter::new(),
        }));
        registry.register(
            Desc::new(
                "promhttp_metric_handler_requests_total",
                "Total number of scrapes by HTTP status code.",
            ),
            &metrics.requests,
        )?;
        for code in ["200", "500", "503"] {
            // Pre-created, as client_golang does, so rate() works from the first scrape.
            let _ = metrics.requests.with_labels([code]);
        }
        registry.register(
            Desc::new(
                "promhttp_metric_handler_requests_in_flight",
                "Current number of scrapes being served.",
            ),
            &metrics.in_flight,
        )?;
        registry.register(
            Desc::new(
                "corral_http_render_duration_seconds",
                "Time to render and compress one scrape.",
            )
            .with_unit("seconds"),
            &metrics.render_seconds,
        )?;
        registry.register(
            Desc::new(
                "corral_http_response_bytes_total",
                "Bytes of scrape bodies served, after compression.",
            )
            .with_unit("bytes"),
            &metrics.bytes,
        )?;
        Ok(metrics)
    }

    fn count(&self, code: StatusCode) {
        self.requests.with_labels([code.as_str()]).inc();
    }
}

/// Whether `/ready` answers 200. Cloned handles share one flag.
///
/// By default the server marks itself ready when it starts serving (or when its router
/// is taken); [`MetricsServer::manual_readiness`] leaves that to the application, which
/// calls [`set_ready`](Self::set_ready) once the rest of its start-up is done.
#[derive(Clone, Debug, Default)]
pub struct Readiness(Arc<AtomicBool>);

impl Readiness {
    /// Sets whether `/ready` answers 200 (`true`) or 503.
    pub fn set_ready(&self, ready: bool) {
        self.0.store(ready, Ordering::Release);
    }

    /// Whether `/ready` answers 200.
    pub fn is_ready(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Access control for the metrics path.
#[derive(Clone)]
enum Auth {
    /// The expected `Authorization` credentials after the scheme, and the challenge.
    Scheme {
        scheme: &'static str,
        credentials: Vec<u8>,
        challenge: HeaderValue,
    },
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Auth::Scheme { scheme, .. } => write!(f, "Auth({scheme}, <redacted>)"),
        }
    }
}

impl Auth {
    /// Whether `headers` carry the expected credentials. The credentials are compared in
    /// constant time (`subtle`); only their length can show through timing.
    fn allows(&self, headers: &HeaderMap) -> bool {
        let Auth::Scheme {
            scheme,
            credentials,
            ..
        } = self;
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return false;
        };
        let value = value.as_bytes();
        let Some(space) = value.iter().position(|&b| b == b' ') else {
            return false;
        };
        let (given_scheme, rest) = value.split_at(space);
        let given = rest.trim_ascii_start();
        let scheme_ok = given_scheme.eq_ignore_ascii_case(scheme.as_bytes());
        let credentials_ok: bool = given.ct_eq(credentials).into();
        scheme_ok & credentials_ok
    }

    fn challenge(&self) -> HeaderValue {
        let Auth::Scheme { challenge, .. } = self;
        challenge.clone()
    }
}

/// Why the server could not be set up or started.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerError {
    /// The self-metrics could not be registered (the registry is full, or a server
    /// already registered them there).
    Register(RegisterError),
    /// The address could not be bound.
    Bind {
        /// The address, as configured.
        address: String,
        /// Why.
        source: io::Error,
    },
    /// The server thread or its runtime could not be started.
    Start(io::Error),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Register(e) => write!(f, "metrics server self-metrics: {e}"),
            ServerError::Bind { address, source } if source.kind() == io::ErrorKind::AddrInUse => {
                write!(
                    f,
                    "cannot serve metrics on {address}: the address is already in use \
                     (another process, or another server, listens there)"
                )
            }
            ServerError::Bind { address, source } => {
                write!(f, "cannot serve metrics on {address}: {source}")
            }
            ServerError::Start(e) => write!(f, "cannot start the metrics server thread: {e}"),
        }
    }
}

impl std::error::Error for ServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServerError::Register(e) => Some(e),
            ServerError::Bind { source, .. } | ServerError::Start(source) => Some(source),
        }
    }
}

impl From<RegisterError> for ServerError {
    fn from(e: RegisterError) -> Self {
        ServerError::Register(e)
    }
}

/// The `/metrics` endpoint of one registry: configure it, then take its [`router`],
/// [`serve`] it, or [`spawn_thread`] it.
///
/// [`router`]: Self::router
/// [`serve`]: Self::serve
/// [`spawn_thread`]: Self::spawn_thread
#[derive(Clone)]
pub struct MetricsServer {
    source: &'static dyn RenderSource,
    metrics: &'static SelfMetrics,
    address: String,
    path: String,
    max_in_flight: usize,
    render_timeout: Duration,
    max_body_bytes: usize,
    max_header_bytes: usize,
    header_read_timeout: Duration,
    max_connections: usize,
    shutdown_grace: Duration,
    auth: Option<Auth>,
    readiness: Readiness,
    auto_ready: bool,
    #[cfg(feature = "tls")]
    tls: Option<TlsConfig>,
}

impl fmt::Debug for MetricsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsServer")
            .field("address", &self.address)
            .field("path", &self.path)
            .field("max_in_flight", &self.max_in_flight)
            .field("render_timeout", &self.render_timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("max_header_bytes", &self.max_header_bytes)
            .field("header_read_timeout", &self.header_read_timeout)
            .field("max_connections", &self.max_connections)
            .field("shutdown_grace", &self.shutdown_grace)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl MetricsServer {
    /// A server for `registry`, with the defaults of the specification's
    /// `prometheus.endpoint` (`0.0.0.0:9090`, `/metrics`) and of each setter below. Its
    /// self-metrics are registered into `registry` now.
    ///
    /// # Errors
    ///
    /// [`ServerError::Register`] when the self-metrics cannot be registered (for one, a
    /// second server on the same registry).
    pub fn new<const FAMILIES: usize>(
        registry: &'static Registry<FAMILIES>,
    ) -> Result<Self, ServerError> {
        let metrics = SelfMetrics::register(registry)?;
        Ok(Self {
            source: registry,
            metrics,
            address: "0.0.0.0:9090".to_string(),
            path: "/metrics".to_string(),
            max_in_flight: 4,
            render_timeout: Duration::from_secs(10),
            max_body_bytes: 256 << 20,
            max_header_bytes: 16 << 10,
            header_read_timeout: Duration::from_secs(10),
            max_connections: 256,
            shutdown_grace: Duration::from_secs(10),
            auth: None,
            readiness: Readiness::default(),
            auto_ready: true,
            #[cfg(feature = "tls")]
            tls: None,
        })
    }

    /// Host, port and path from `observability.prometheus.endpoint`.
    pub fn with_endpoint(mut self, endpoint: &EndpointConfig) -> Self {
        self.address = endpoint.address();
        self.path.clone_from(&endpoint.path);
        self
    }

    /// The address [`bind`](Self::bind) and [`spawn_thread`](Self::spawn_thread) listen on,
    /// `host:port`. Default `0.0.0.0:9090`.
    pub fn address(mut self, address: impl Into<String>) -> Self {
        self.address = address.into();
        self
    }

    /// The metrics path, starting with `/`. Default `/metrics`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = path.into();
        self
    }

    /// Scrapes rendering at once; one more gets 503 at once. Default 4; at least 1.
    pub fn max_in_flight(mut self, n: usize) -> Self {
        self.max_in_flight = n.max(1);
        self
    }

    /// How long a render may take before the scrape gets 503. Default 10 s (Prometheus'
    /// default scrape timeout).
    pub fn render_timeout(mut self, timeout: Duration) -> Self {
        self.render_timeout = timeout;
        self
    }

    /// The largest body rendered; a registry larger than this is answered with 500.
    /// Default 256 MiB.
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// The largest request head (request line and headers) read; past it the client gets
    /// 431 and the connection closes. Default 16 KiB; at least 8 KiB (hyper's minimum).
    pub fn max_header_bytes(mut self, bytes: usize) -> Self {
        self.max_header_bytes = bytes.max(8192);
        self
    }

    /// How long a client may take to send a request's head before it is disconnected.
    /// Default 10 s.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// Open connections at most; connections past it are closed as they arrive.
    /// Default 256.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long graceful shutdown waits for in-flight scrapes. Default 10 s.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Requires `Authorization: Bearer <token>` on the metrics path.
    pub fn bearer_token(mut self, token: impl AsRef<str>) -> Self {
        self.auth = Some(Auth::Scheme {
            scheme: "Bearer",
            credentials: token.as_ref().as_bytes().to_vec(),
            challenge: HeaderValue::from_static("Bearer realm=\"metrics\""),
        });
        self
    }

    /// Requires HTTP Basic credentials on the metrics path.
    pub fn basic_auth(mut self, user: impl AsRef<str>, password: impl AsRef<str>) -> Self {
        let pair = format!("{}:{}", user.as_ref(), password.as_ref());
        self.auth = Some(Auth::Scheme {
            scheme: "Basic",
            credentials: base64::engine::general_purpose::STANDARD
                .encode(pair)
                .into_bytes(),
            challenge: HeaderValue::from_static("Basic realm=\"metrics\", charset=\"UTF-8\""),
        });
        self
    }

    /// Serves HTTPS with `tls` ([`serve`](Self::serve) and [`spawn_thread`](Self::spawn_thread);
    /// a mounted [`router`](Self::router) is served however its application serves).
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Leaves `/ready` at 503 until the application calls
    /// [`Readiness::set_ready`] on [`readiness`](Self::readiness).
    pub fn manual_readiness(mut self) -> Self {
        self.auto_ready = false;
        self
    }

    /// The flag `/ready` reports.
    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }

    /// The routes: the metrics path, `/health` and `/ready`, to serve or to merge into an
    /// application's router.
    pub fn router(&self) -> Router {
        if self.auto_ready {
            self.readiness.set_ready(true);
        }
        let state = Arc::new(Shared {
            source: self.source,
            metrics: self.metrics,
            in_flight: Arc::new(Semaphore::new(self.max_in_flight)),
            max_in_flight: self.max_in_flight,
            render_timeout: self.render_timeout,
            max_body_bytes: self.max_body_bytes,
            auth: self.auth.clone(),
            pool: Pool::new(self.max_in_flight),
        });
        let readiness = self.readiness.clone();
        Router::new()
            .route(&self.path, get(metrics).with_state(state))
            .route("/health", get(|| async { "ok\n" }))
            .route(
                "/ready",
                get(move || {
                    let ready = readiness.is_ready();
                    async move {
                        if ready {
                            (StatusCode::OK, "ready\n")
                        } else {
                            (StatusCode::SERVICE_UNAVAILABLE, "not ready\n")
                        }
                    }
                }),
            )
            .layer(tower_http::limit::RequestBodyLimitLayer::new(64 << 10))
    }

    /// Binds the configured address.
    ///
    /// # Errors
    ///
    /// [`ServerError::Bind`] naming the address (in use, not an address, not permitted).
    pub async fn bind(&self) -> Result<TcpListener, ServerError> {
        TcpListener::bind(&self.address)
            .await
            .map_err(|source| ServerError::Bind {
                address: self.address.clone(),
                source,
            })
    }

    /// Serves on `listener`, on the current tokio runtime, until `shutdown` completes; then
    /// stops accepting, lets in-flight scrapes finish (up to the shutdown grace) and
    /// returns.
    ///
    /// # Errors
    ///
    /// None today: failed connections are dropped one by one and accepting goes on; the
    /// `Result` leaves room for listener failures that cannot be recovered from.
    pub async fn serve<F>(self, listener: TcpListener, shutdown: F) -> io::Result<()>
    where
        F: Future<Output = ()> + Send,
    {
        let router = self.router();
        let graceful = GracefulShutdown::new();
        let connections = Arc::new(Semaphore::new(self.max_connections));
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(self.header_read_timeout)
            .max_buf_size(self.max_header_bytes);
        #[cfg(feature = "tls")]
        let acceptor = self.tls.as_ref().map(TlsConfig::acceptor);
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = &mut shutdown => break,
            };
            let (stream, _peer) = match accepted {
                Ok(pair) => pair,
                Err(_) => {
                    // Out of file descriptors or a connection reset before it was
                    // accepted: wait a little rather than spin.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            };
            let Ok(permit) = Arc::clone(&connections).try_acquire_owned() else {
                drop(stream);
                continue;
            };
            let _ = stream.set_nodelay(true);
            let service = TowerToHyperService::new(router.clone());
            #[cfg(feature = "tls")]
            if let Some(acceptor) = &acceptor {
                let acceptor = acceptor.clone();
                let http = http.clone();
                let watcher = graceful.watcher();
                let handshake_timeout = self.header_read_timeout;
                tokio::spawn(async move {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(handshake_timeout, acceptor.accept(stream)).await
                    else {
                        return;
                    };
                    let conn = http.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn).await;
                    drop(permit);
                });
                continue;
            }
            let conn = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                let _ = conn.await;
                drop(permit);
            });
        }
        drop(listener);
        self.readiness.set_ready(false);
        let _ = tokio::time::timeout(self.shutdown_grace, graceful.shutdown()).await;
        Ok(())
    }

    /// Binds the configured address and serves on a thread of its own, with a
    /// single-threaded tokio runtime (renders go to that runtime's blocking pool), for
    /// applications that do not run tokio. Dropping the handle shuts it down gracefully.
    ///
    /// # Errors
    ///
    /// [`ServerError::Bind`] naming the address when it cannot be bound (before any
    /// thread starts); [`ServerError::Start`] when the runtime or thread cannot be made.
    pub fn spawn_thread(self) -> Result<ServerHandle, ServerError> {
        let std_listener =
            std::net::TcpListener::bind(&self.address).map_err(|source| ServerError::Bind {
                address: self.address.clone(),
                source,
            })?;
        std_listener
            .set_nonblocking(true)
            .map_err(ServerError::Start)?;
        let local_addr = std_listener.local_addr().map_err(ServerError::Start)?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .max_blocking_threads(self.max_in_flight + 1)
            .thread_name("corral-metrics")
            .build()
            .map_err(ServerError::Start)?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("corral-metrics".to_string())
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = TcpListener::from_std(std_listener)?;
                    self.serve(listener, async {
                        let _ = stopped.await;
                    })
                    .await
                })
            })
            .map_err(ServerError::Start)?;
        Ok(ServerHandle {
            local_addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }
}

/// A server running on its own thread ([`MetricsServer::spawn_thread`]); dropping it
/// shuts the server down gracefully and joins the thread.
#[derive(Debug)]
pub struct ServerHandle {
    local_addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl ServerHandle {
    /// The address bound (with the actual port when port 0 was configured).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Shuts down gracefully and waits for the thread.
    ///
    /// # Errors
    ///
    /// The server's own error, or `Other` if its thread panicked.
    pub fn shutdown(mut self) -> io::Result<()> {
        self.stop_and_join()
    }

    fn stop_and_join(&mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take() {
            Some(thread) => thread
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the metrics server thread panicked"))),
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        let _ = self.stop_and_join();
    }
}

/// What the metrics handler shares between requests.
struct Shared {
    source: &'static dyn RenderSource,
    metrics: &'static SelfMetrics,
    in_flight: Arc<Semaphore>,
    max_in_flight: usize,
    render_timeout: Duration,
    max_body_bytes: usize,
    auth: Option<Auth>,
    pool: Arc<Pool>,
}

/// Decrements the in-flight gauge when a scrape ends, however it ends.
struct InFlight(&'static SelfMetrics);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.dec();
    }
}

fn plain(status: StatusCode, text: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

async fn metrics(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Some(auth) = &shared.auth
        && !auth.allows(&headers)
    {
        return (
            StatusCode::UNAUTHORIZED,
            [
                (header::WWW_AUTHENTICATE, auth.challenge()),
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                ),
            ],
            "Unauthorized\n",
        )
            .into_response();
    }
    let Ok(permit) = Arc::clone(&shared.in_flight).try_acquire_owned() else {
        shared.metrics.count(StatusCode::SERVICE_UNAVAILABLE);
        return plain(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "Limit of concurrent requests reached ({}), try again later.\n",
                shared.max_in_flight
            ),
        );
    };
    shared.metrics.in_flight.inc();
    let in_flight = InFlight(shared.metrics);

    let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok());
    let offer = negotiate(accept, FORMATS);
    let (format, content_type): (Format, &'static str) = (offer.value, offer.content_type);
    let accept_encoding = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok());
    let coding = negotiate_coding(accept_encoding, CODINGS);
    let names: Vec<String> = query.as_deref().map(query_names).unwrap_or_default();

    let mut pooled = shared.pool.take();
    let source = shared.source;
    let limit = shared.max_body_bytes;
    let started = Instant::now();
    let job = tokio::task::spawn_blocking(move || {
        // The permit and the gauge stay held until the render really ends, even when the
        // scrape has already been answered with a timeout.
        let _permit = permit;
        let _in_flight = in_flight;
        let result = pooled.get_mut().fill(source, format, &names, coding, limit);
        (pooled, result)
    });
    let (pooled, result) = match tokio::time::timeout(shared.render_timeout, job).await {
        Err(_elapsed) => {
            shared.metrics.count(StatusCode::SERVICE_UNAVAILABLE);
            return plain(
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "Exceeded configured timeout of {:?}.\n",
                    shared.render_timeout
                ),
            );
        }
        Ok(Err(join_error)) => {
            shared.metrics.count(StatusCode::INTERNAL_SERVER_ERROR);
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("An error has occurred while rendering metrics: {join_error}\n"),
            );
        }
        Ok(Ok(done)) => done,
    };
    if let Err(error) = result {
        shared.metrics.count(StatusCode::INTERNAL_SERVER_ERROR);
        let message = match error {
            FillError::Encode(e) => e.to_string(),
            FillError::Compress(e) => e.to_string(),
        };
        return plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("An error has occurred while rendering metrics: {message}\n"),
        );
    }
    shared
        .metrics
        .render_seconds
        .observe(started.elapsed().as_secs_f64());
    let length = pooled.as_ref().len();
    shared.metrics.bytes.inc_by(length as u64);
    shared.metrics.count(StatusCode::OK);

    let mut response = Response::new(Body::new(Chunked::new(Bytes::from_owner(pooled))));
    let out = response.headers_mut();
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    out.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    if let Some(encoding) = coding.header_value() {
        out.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
    }
    out.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    response
}

/// The body in frames of [`FRAME`] bytes, sliced from the one pooled buffer without copying,
/// that yields to the runtime after every [`SLICE`] bytes. hyper keeps pulling frames and
/// writing them for as long as the socket accepts them, so without the yield one task poll
/// could write a whole multi-megabyte body (on loopback, several milliseconds of kernel
/// time); with it, a poll writes at most about two slices.
struct Chunked {
    rest: Bytes,
    since_yield: usize,
}

/// Bytes per body frame.
const FRAME: usize = 32 << 10;
/// Bytes written between yields.
const SLICE: usize = 128 << 10;

impl Chunked {
    fn new(body: Bytes) -> Self {
        Self {
            rest: body,
            since_yield: 0,
        }
    }
}

impl http_body::Body for Chunked {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        if self.rest.is_empty() {
            return std::task::Poll::Ready(None);
        }
        if self.since_yield >= SLICE {
            self.since_yield = 0;
            cx.waker().wake_by_ref();
            return std::task::Poll::Pending;
        }
        let n = FRAME.min(self.rest.len());
        self.since_yield += n;
        let frame = self.rest.split_to(n);
        std::task::Poll::Ready(Some(Ok(http_body::Frame::data(frame))))
    }

    fn is_end_stream(&self) -> bool {
        self.rest.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.rest.len() as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::negotiate::Coding;
    use super::*;

    #[test]
    fn pooled_buffers_are_reused_without_growth() {
        static REGISTRY: Registry<8> = Registry::new();
        static EVENTS: Counter = Counter::new();
        REGISTRY
            .register(Desc::new("events_total", "Events"), &EVENTS)
            .unwrap();
        let pool = Pool::new(1);
        for coding in [Coding::Identity, Coding::Gzip] {
            let mut first = pool.take();
            first
                .get_mut()
                .fill(&REGISTRY, Format::Prometheus, &[], coding, usize::MAX)
                .unwrap();
            drop(first);
        }
        let warm = pool.held_capacity();
        assert_eq!(warm.len(), 1);
        for _ in 0..20 {
            for coding in [Coding::Identity, Coding::Gzip] {
                let mut again = pool.take();
                again
                    .get_mut()
                    .fill(&REGISTRY, Format::Prometheus, &[], coding, usize::MAX)
                    .unwrap();
                assert!(!again.as_ref().is_empty());
                drop(again);
            }
        }
        assert_eq!(pool.held_capacity(), warm, "no growth once warm");
    }
}
