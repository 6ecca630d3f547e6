//! The TLS files of an https `nginx.status_url`, in two steps: [`Validator::tls_client_files`]
//! checks the keys without touching the disk; [`Validator::tls_client_config`], run after the
//! whole file is validated, reads them into a rustls client config. `[http]`'s server side
//! reads its PEM files through the same [`Validator::pem_file`] and
//! [`Validator::pem_certificates`].

use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use toml::Spanned;

use super::{ConfigError, Validator};

/// A file-naming key and its value.
type FileKey = (&'static str, Spanned<String>);

/// The https status page's TLS files, checked (absolute paths; a client certificate with
/// its key) but not read.
pub(super) struct TlsClientFiles {
    /// `None`: the system's CA store.
    ca_file: Option<FileKey>,
    /// The client certificate and its private key.
    client_auth: Option<(FileKey, FileKey)>,
    /// Where `nginx.status_url` is, for errors about the system's store.
    url_span: std::ops::Range<usize>,
}

impl Validator<'_> {
    /// Checks `nginx.ca_file`, `nginx.client_cert` and `nginx.client_key` without reading
    /// them: the paths must be absolute, and a certificate needs its key and a key its
    /// certificate.
    pub(super) fn tls_client_files(
        &self,
        ca_file: Option<FileKey>,
        client_cert: Option<FileKey>,
        client_key: Option<FileKey>,
        url_span: std::ops::Range<usize>,
    ) -> Result<TlsClientFiles, ConfigError> {
        for (key, file) in [&ca_file, &client_cert, &client_key].into_iter().flatten() {
            self.absolute_path(key, file)?;
        }
        let client_auth = match (client_cert, client_key) {
            (None, None) => None,
            (Some((key, file)), None) => {
                return self.invalid(
                    key,
                    file.span(),
                    "needs nginx.client_key, the certificate's private key".into(),
                )
            }
            (None, Some((key, file))) => {
                return self.invalid(
                    key,
                    file.span(),
                    "needs nginx.client_cert, the key's certificate".into(),
                )
            }
            (Some(cert), Some(key)) => Some((cert, key)),
        };
        Ok(TlsClientFiles {
            ca_file,
            client_auth,
            url_span,
        })
    }

    /// rustls (on ring) trusting `ca_file`, or the system's CA store without it; with a
    /// client certificate when one is given. Reads the files.
    pub(super) fn tls_client_config(&self, files: TlsClientFiles) -> Result<rustls::ClientConfig, ConfigError> {
        let TlsClientFiles {
            ca_file,
            client_auth,
            url_span,
        } = files;
        let mut roots = rustls::RootCertStore::empty();
        match &ca_file {
            Some((key, file)) => {
                for cert in self.pem_certificates(key, file)? {
                    if let Err(e) = roots.add(cert) {
                        return self.invalid(key, file.span(), format!("{}: {e}", file.get_ref()));
                    }
                }
            }
            None => {
                // The system's store (SSL_CERT_FILE/SSL_CERT_DIR replace it), as for CloudWatch.
                let found = rustls_native_certs::load_native_certs();
                roots.add_parsable_certificates(found.certs);
                if roots.is_empty() {
                    return self.invalid(
                        "nginx.status_url",
                        url_span,
                        "https without nginx.ca_file, and the system has no CA certificates".into(),
                    );
                }
            }
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let builder = match rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions()
        {
            Ok(builder) => builder.with_root_certificates(roots),
            Err(e) => return self.invalid("nginx.status_url", url_span, format!("TLS setup: {e}")),
        };
        let Some(((cert_key, cert_file), (key_key, key_file))) = client_auth else {
            return Ok(builder.with_no_client_auth());
        };
        let chain = self.pem_certificates(cert_key, &cert_file)?;
        let pem = self.pem_file(key_key, &key_file)?;
        let private = match PrivateKeyDer::from_pem_slice(&pem) {
            Ok(private) => private,
            Err(e) => {
                return self.invalid(
                    key_key,
                    key_file.span(),
                    format!("{}: no PEM private key: {e}", key_file.get_ref()),
                )
            }
        };
        builder.with_client_auth_cert(chain, private).or_else(|e| {
            self.invalid(
                key_key,
                key_file.span(),
                format!("{} does not fit {}: {e}", key_file.get_ref(), cert_file.get_ref()),
            )
        })
    }

    fn absolute_path(&self, key: &'static str, file: &Spanned<String>) -> Result<(), ConfigError> {
        if Path::new(file.get_ref()).is_absolute() {
            Ok(())
        } else {
            self.invalid(key, file.span(), "must be an absolute path".into())
        }
    }

    /// The bytes of a PEM file named by `key` (an absolute path).
    pub(super) fn pem_file(&self, key: &'static str, file: &Spanned<String>) -> Result<Vec<u8>, ConfigError> {
        self.absolute_path(key, file)?;
        std::fs::read(file.get_ref())
            .or_else(|e| self.invalid(key, file.span(), format!("cannot read {}: {e}", file.get_ref())))
    }

    /// The certificates of a PEM file named by `key`: at least one.
    pub(super) fn pem_certificates(
        &self,
        key: &'static str,
        file: &Spanned<String>,
    ) -> Result<Vec<CertificateDer<'static>>, ConfigError> {
        let pem = self.pem_file(key, file)?;
        let certs: Result<Vec<_>, _> = CertificateDer::pem_slice_iter(&pem).collect();
        match certs {
            Ok(certs) if !certs.is_empty() => Ok(certs),
            Ok(_) => self.invalid(key, file.span(), format!("{} holds no PEM certificate", file.get_ref())),
            Err(e) => self.invalid(key, file.span(), format!("{}: {e}", file.get_ref())),
        }
    }
}
