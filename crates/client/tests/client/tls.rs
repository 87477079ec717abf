//! HTTPS with a private CA: refused without the bundle, trusted with it.

use std::net::SocketAddr;
use std::sync::Arc;

use nxlog_client::{Client, ConfigError, Error, ErrorClass, Selector};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls;

use crate::support;

const CA: &str = include_str!("certs/ca.pem");
const SERVER_CERT: &str = include_str!("certs/server.pem");
const SERVER_KEY: &str = include_str!("certs/server.key");

/// A TLS server with the test CA's certificate that answers every request
/// with the JSON body `3`.
async fn tls_server() -> SocketAddr {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_slice_iter(SERVER_CERT.as_bytes()).collect::<Result<_, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_slice(SERVER_KEY.as_bytes()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();

    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let mut head = Vec::new();
                let mut buffer = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1\r\nconnection: close\r\n\r\n3";
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

fn client(base: &str, ca: Option<&str>) -> Result<Client, Error> {
    let mut config = support::config(base, support::RW).retry(nxlog_client::RetryPolicy::none());
    if let Some(pem) = ca {
        config = config.ca_bundle_pem(pem.as_bytes());
    }
    Client::new(config.build()?)
}

#[tokio::test]
async fn a_private_ca_is_refused_without_the_bundle_and_trusted_with_it() {
    support::init();
    let addr = tls_server().await;
    for base in [
        format!("https://127.0.0.1:{}", addr.port()),
        format!("https://localhost:{}/", addr.port()),
    ] {
        let error = client(&base, None).unwrap().count(&Selector::All).await.unwrap_err();
        assert!(matches!(error, Error::Transport { .. }), "{error:?}");
        assert_eq!(error.class(), ErrorClass::Network);
        assert!(error.to_string().contains("certificate"), "{error}");

        let count = client(&base, Some(CA)).unwrap().count(&Selector::All).await.unwrap();
        assert_eq!(count, 3, "{base}");
    }
}

fn check_bundle(pem: &str, expected: &str) {
    let error = client("https://127.0.0.1:9", Some(pem)).unwrap_err();
    assert!(matches!(error, Error::Config(ConfigError::CaBundle { .. })), "{error:?}");
    assert!(error.to_string().starts_with(expected), "{error}");
}

#[test]
fn unusable_bundles_are_refused() {
    check_bundle("", "invalid ca bundle: expected at least one PEM certificate, found none");
    check_bundle(
        "not a certificate",
        "invalid ca bundle: expected at least one PEM certificate, found none",
    );
    check_bundle(
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        "invalid ca bundle: ",
    );
}
