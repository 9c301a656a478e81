//! HTTPS through rustls (ring provider): a scrape over TLS with a certificate made here,
//! and a plain-HTTP client refused.

use std::sync::Arc;

use corral_core::{Counter, Desc, Registry};
use corral_exporters::http::{MetricsServer, TlsConfig};
use rustls::pki_types::ServerName;
use rustls::pki_types::pem::PemObject;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scraped_over_https() {
    let registry: &'static Registry<8> = Box::leak(Box::new(Registry::new()));
    let events: &'static Counter = Box::leak(Box::new(Counter::new()));
    registry
        .register(Desc::new("tls_events_total", "Events"), events)
        .unwrap();
    events.inc_by(9);

    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let tls = TlsConfig::from_pem(
        cert.pem().as_bytes(),
        signing_key.serialize_pem().as_bytes(),
    )
    .unwrap();
    assert!(TlsConfig::from_pem(b"", signing_key.serialize_pem().as_bytes()).is_err());
    assert!(TlsConfig::from_pem(cert.pem().as_bytes(), b"not a key").is_err());

    let server = MetricsServer::new(registry)
        .unwrap()
        .address("127.0.0.1:0")
        .tls(tls);
    let listener = server.bind().await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.serve(listener, async {
        let _ = stopped.await;
    }));

    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls::pki_types::CertificateDer::from_pem_slice(cert.pem().as_bytes()).unwrap())
        .unwrap();
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut stream = connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
        .unwrap();
    stream
        .write_all(b"GET /metrics?name[]=tls_events_total HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response).await;
    let response = String::from_utf8(response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(
        response.ends_with("\r\n\r\n# HELP tls_events_total Events\n# TYPE tls_events_total counter\ntls_events_total 9\n"),
        "{response}"
    );

    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut plain = tokio::net::TcpStream::connect(addr).await.unwrap();
    plain
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut back = Vec::new();
    let _ = plain.read_to_end(&mut back).await;
    assert!(
        !back.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&back)
    );

    stop.send(()).unwrap();
    serving.await.unwrap().unwrap();
}
