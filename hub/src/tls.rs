//! TLS termination in the hub (`[server.tls]`), with optional client certificates: when
//! `server.tls.client_ca` is set the hub asks every connection for a certificate issued by
//! those CAs, without requiring one (browsers present none), and a connection that presents
//! one carries its SHA-256 fingerprint to the handlers ([`ClientCert`]). Partners configured
//! with `client_certificates` must present one of theirs (mutual TLS).

use std::future::Future;
use std::io;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use axum_server::accept::Accept;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::server::TlsStream;
use tower_http::add_extension::AddExtension;

use platform::context::{ClientCert, PeerCertificate};

/// The server's rustls settings: its certificate and key, and the CAs of client certificates.
pub fn server_config(
    cert: &Path,
    key: &Path,
    client_ca: Option<&Path>,
) -> io::Result<RustlsConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let invalid =
        |e: &dyn std::fmt::Display| io::Error::new(io::ErrorKind::InvalidData, e.to_string());
    let pem_certs = |path: &Path| -> io::Result<Vec<CertificateDer<'static>>> {
        CertificateDer::pem_file_iter(path)
            .map_err(|e| invalid(&e))?
            .collect::<Result<_, _>>()
            .map_err(|e| invalid(&e))
    };
    let certs = pem_certs(cert)?;
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| invalid(&e))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(&e))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in pem_certs(path)? {
                roots.add(c).map_err(|e| invalid(&e))?;
            }
            if roots.is_empty() {
                return Err(invalid(&format!("{} holds no certificate", path.display())));
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .allow_unauthenticated()
            .build()
            .map_err(|e| invalid(&e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| invalid(&e))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(RustlsConfig::from_config(Arc::new(config)))
}

/// The TLS acceptor that hands each connection's client certificate to its requests.
#[derive(Clone)]
pub struct ClientCertAcceptor(pub RustlsAcceptor);

type Accepted<I, S> = io::Result<(TlsStream<I>, AddExtension<S, PeerCertificate>)>;

impl<I, S> Accept<I, S> for ClientCertAcceptor
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: Send + 'static,
{
    type Stream = TlsStream<I>;
    type Service = AddExtension<S, PeerCertificate>;
    type Future = Pin<Box<dyn Future<Output = Accepted<I, S>> + Send>>;

    fn accept(&self, stream: I, service: S) -> Self::Future {
        let handshake = self.0.accept(stream, service);
        Box::pin(async move {
            let (stream, service) = handshake.await?;
            let cert = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(|chain| chain.first())
                .map(|leaf| ClientCert(Sha256::digest(leaf.as_ref()).into()));
            Ok((stream, AddExtension::new(service, cert)))
        })
    }
}
