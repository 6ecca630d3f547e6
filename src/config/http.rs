//! `[http]`: where /metrics and /healthz are served, and what guards them off loopback.
//!
//! Loopback is the default and needs nothing. Any other address is refused unless
//! `http.allow_remote = true` says so; TLS (`[http.tls_server_config]`) and basic auth
//! (`[http.basic_auth_users]`, bcrypt hashes) take the names and meaning of the Prometheus
//! exporter-toolkit's web config, so a `web-config.yml` an SRE already has translates key for
//! key.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use toml::Spanned;

use super::{raw, ConfigError, Validator};

/// The validated `[http]` section.
#[derive(Debug, Clone)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// `[http.tls_server_config]`; `None`: plain HTTP.
    pub tls: Option<HttpTls>,
    /// User name -> bcrypt hash; empty: no authentication.
    pub basic_auth_users: BTreeMap<String, String>,
}

impl HttpConfig {
    /// Reachable from other hosts (not loopback): `http.allow_remote` was set to say so.
    pub(crate) fn is_remote(&self) -> bool {
        !self.listen.ip().is_loopback()
    }

    /// `https` with TLS, `http` without.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() {
            "https"
        } else {
            "http"
        }
    }

    /// What guards the listener, for `check` and the startup log: "TLS, client certificates
    /// from ca.pem, basic auth (2 users)" or "plain HTTP, no authentication".
    pub(crate) fn guards(&self) -> String {
        let mut parts = Vec::new();
        match &self.tls {
            None => parts.push("plain HTTP".to_owned()),
            Some(tls) => {
                parts.push(format!("TLS ({})", tls.cert_file.display()));
                if let Some(ca) = &tls.client_ca_file {
                    parts.push(format!("client certificates signed by {}", ca.display()));
                }
            }
        }
        match self.basic_auth_users.len() {
            0 => parts.push("no authentication".to_owned()),
            1 => parts.push("basic auth (1 user)".to_owned()),
            n => parts.push(format!("basic auth ({n} users)")),
        }
        parts.join(", ")
    }

    /// The risks an SRE should know about this listener, one sentence each (none on loopback).
    pub fn risks(&self) -> Vec<&'static str> {
        if !self.is_remote() {
            return Vec::new();
        }
        let mut risks = Vec::new();
        let authenticated =
            !self.basic_auth_users.is_empty() || self.tls.as_ref().is_some_and(|tls| tls.client_ca_file.is_some());
        if !authenticated {
            risks.push("anyone who can reach this address reads /metrics: restrict it with a firewall or security group, or set [http.basic_auth_users]");
        }
        if self.tls.is_none() {
            risks.push("plain HTTP: the metrics (and any basic-auth password) cross the network readable; set [http.tls_server_config]");
        }
        risks
    }
}

/// The TLS side of the listener.
#[derive(Debug, Clone)]
pub struct HttpTls {
    pub config: Arc<rustls::ServerConfig>,
    pub(crate) cert_file: PathBuf,
    pub client_ca_file: Option<PathBuf>,
}

impl Validator<'_> {
    /// `[http]`: `None` when `listen` is not set.
    pub(super) fn http(&self, raw: raw::RawHttp) -> Result<Option<HttpConfig>, ConfigError> {
        let Some(listen) = raw.listen else {
            // The guards mean nothing without a listener: say so rather than ignore them.
            if let Some(allow) = &raw.allow_remote {
                return self.invalid("http.allow_remote", allow.span(), "only used with http.listen".into());
            }
            if let Some(tls) = &raw.tls_server_config {
                return self.invalid(
                    "http.tls_server_config",
                    tls.span(),
                    "only used with http.listen".into(),
                );
            }
            if let Some(users) = &raw.basic_auth_users {
                return self.invalid(
                    "http.basic_auth_users",
                    users.span(),
                    "only used with http.listen".into(),
                );
            }
            return Ok(None);
        };
        let addr = match listen.get_ref().parse::<SocketAddr>() {
            Ok(addr) => addr,
            Err(_) => {
                return self.invalid(
                    "http.listen",
                    listen.span(),
                    "not an address like \"127.0.0.1:9145\" (or \"0.0.0.0:9145\" with http.allow_remote = true)".into(),
                )
            }
        };
        let allow_remote = raw.allow_remote.as_ref().is_some_and(|a| *a.get_ref());
        if !addr.ip().is_loopback() && !allow_remote {
            return self.invalid(
                "http.listen",
                listen.span(),
                format!(
                    "{addr} is not a loopback address: /metrics would be open to the network; set \
                     http.allow_remote = true to serve it there, with [http.tls_server_config] and \
                     [http.basic_auth_users] to guard it"
                ),
            );
        }
        let tls = raw.tls_server_config.map(|tls| self.tls_server(tls)).transpose()?;
        let basic_auth_users = match raw.basic_auth_users {
            None => BTreeMap::new(),
            Some(users) => self.basic_auth_users(users)?,
        };
        Ok(Some(HttpConfig {
            listen: addr,
            tls,
            basic_auth_users,
        }))
    }

    fn tls_server(&self, raw: Spanned<raw::RawTlsServer>) -> Result<HttpTls, ConfigError> {
        use rustls::server::WebPkiClientVerifier;
        use rustls_pki_types::pem::PemObject;
        use rustls_pki_types::PrivateKeyDer;

        let table_span = raw.span();
        let raw = raw.into_inner();
        let (Some(cert_file), Some(key_file)) = (raw.cert_file, raw.key_file) else {
            return self.invalid(
                "http.tls_server_config",
                table_span,
                "needs both cert_file and key_file (PEM)".into(),
            );
        };
        let chain = self.pem_certificates("http.tls_server_config.cert_file", &cert_file)?;
        let key_pem = self.pem_file("http.tls_server_config.key_file", &key_file)?;
        let key = match PrivateKeyDer::from_pem_slice(&key_pem) {
            Ok(key) => key,
            Err(e) => {
                return self.invalid(
                    "http.tls_server_config.key_file",
                    key_file.span(),
                    format!("{}: no PEM private key: {e}", key_file.get_ref()),
                )
            }
        };
        let versions: &[&rustls::SupportedProtocolVersion] =
            match raw.min_version.as_ref().map(|v| v.get_ref().as_str()) {
                None | Some("TLS12") => &[&rustls::version::TLS13, &rustls::version::TLS12],
                Some("TLS13") => &[&rustls::version::TLS13],
                Some(other) => {
                    let span = raw.min_version.as_ref().map_or(table_span.clone(), |v| v.span());
                    return self.invalid(
                        "http.tls_server_config.min_version",
                        span,
                        format!("{other:?} is not \"TLS12\" or \"TLS13\""),
                    );
                }
            };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder =
            match rustls::ServerConfig::builder_with_provider(provider.clone()).with_protocol_versions(versions) {
                Ok(builder) => builder,
                Err(e) => return self.invalid("http.tls_server_config", table_span, format!("TLS setup: {e}")),
            };
        let builder = match &raw.client_ca_file {
            None => builder.with_no_client_auth(),
            Some(ca_file) => {
                let key = "http.tls_server_config.client_ca_file";
                let mut roots = rustls::RootCertStore::empty();
                for cert in self.pem_certificates(key, ca_file)? {
                    if let Err(e) = roots.add(cert) {
                        return self.invalid(key, ca_file.span(), format!("{}: {e}", ca_file.get_ref()));
                    }
                }
                match WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider).build() {
                    Ok(verifier) => builder.with_client_cert_verifier(verifier),
                    Err(e) => return self.invalid(key, ca_file.span(), format!("{}: {e}", ca_file.get_ref())),
                }
            }
        };
        let mut config = match builder.with_single_cert(chain, key) {
            Ok(config) => config,
            Err(e) => {
                return self.invalid(
                    "http.tls_server_config.key_file",
                    key_file.span(),
                    format!("{} does not fit {}: {e}", key_file.get_ref(), cert_file.get_ref()),
                )
            }
        };
        // The server speaks HTTP/1.1 only.
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(HttpTls {
            config: Arc::new(config),
            cert_file: PathBuf::from(cert_file.into_inner()),
            client_ca_file: raw.client_ca_file.map(|f| PathBuf::from(f.into_inner())),
        })
    }

    fn basic_auth_users(
        &self,
        users: Spanned<BTreeMap<String, Spanned<String>>>,
    ) -> Result<BTreeMap<String, String>, ConfigError> {
        let key = "http.basic_auth_users";
        let span = users.span();
        let users = users.into_inner();
        if users.is_empty() {
            return self.invalid(
                key,
                span,
                "has no users: add `NAME = \"BCRYPT HASH\"` lines or remove the table".into(),
            );
        }
        let mut hashes = BTreeMap::new();
        for (name, hash) in users {
            // Basic auth sends "name:password": a name cannot hold the colon.
            if name.is_empty() || name.contains(':') || name.chars().any(char::is_control) {
                return self.invalid(
                    key,
                    hash.span(),
                    format!("user name {name:?} must be non-empty, without ':' or control characters"),
                );
            }
            if hash.get_ref().parse::<bcrypt::HashParts>().is_err() {
                return self.invalid(
                    key,
                    hash.span(),
                    format!(
                        "the password of {name:?} is not a bcrypt hash (\"$2y$10$...\", 60 characters); \
                         make one with `htpasswd -nBC 10 \"\" | tr -d ':\\n'`"
                    ),
                );
            }
            hashes.insert(name, hash.into_inner());
        }
        Ok(hashes)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::parse;
    use super::*;

    /// The exporter-toolkit's own test user (web/testdata/web_config_users.good.yml): the
    /// bcrypt hash of "dave123", cost 10.
    const DAVE: &str = "$2y$10$2UXri9cIDdgeKjBo4Rlpx.U3ZLDV8X1IxKmsfOvhcM5oXQt/mLmXq";

    fn http(section: &str) -> Result<Option<HttpConfig>, String> {
        parse(
            Path::new("test.toml"),
            &format!("[cloudwatch]\nnamespace = \"x\"\n[http]\n{section}"),
        )
        .map(|c| c.http)
        .map_err(|e| e.to_string())
    }

    #[test]
    fn loopback_needs_nothing_and_says_no_risk() {
        for listen in ["127.0.0.1:9145", "[::1]:9145", "127.0.0.2:80"] {
            let config = http(&format!("listen = \"{listen}\"\n")).unwrap().unwrap();
            assert_eq!(config.listen, listen.parse().unwrap());
            assert!(!config.is_remote());
            assert!(config.risks().is_empty());
            assert_eq!(config.guards(), "plain HTTP, no authentication");
        }
        assert!(http("").unwrap().is_none());
    }

    #[test]
    fn another_address_is_refused_without_allow_remote_naming_the_key() {
        for listen in ["0.0.0.0:9145", "[::]:9145", "10.0.3.7:9145"] {
            let error = http(&format!("listen = \"{listen}\"\n")).unwrap_err();
            assert!(
                error.starts_with(&format!(
                    "test.toml:4: http.listen: {listen} is not a loopback address: /metrics would be open to the network; set http.allow_remote = true"
                )),
                "{error}"
            );
            // false is no opt-in either.
            let error = http(&format!("listen = \"{listen}\"\nallow_remote = false\n")).unwrap_err();
            assert!(error.contains("set http.allow_remote = true"), "{error}");
        }
        let config = http("listen = \"0.0.0.0:9145\"\nallow_remote = true\n")
            .unwrap()
            .unwrap();
        assert!(config.is_remote());
        assert_eq!(config.risks().len(), 2, "{:?}", config.risks());
    }

    #[test]
    fn basic_auth_users_are_bcrypt_hashes() {
        let config = http(&format!(
            "listen = \"0.0.0.0:9145\"\nallow_remote = true\n[http.basic_auth_users]\ndave = \"{DAVE}\"\n"
        ))
        .unwrap()
        .unwrap();
        assert_eq!(config.basic_auth_users.get("dave").map(String::as_str), Some(DAVE));
        assert_eq!(config.guards(), "plain HTTP, basic auth (1 user)");
        assert_eq!(config.risks().len(), 1, "still plain HTTP: {:?}", config.risks());

        // A plain-text password where the hash goes: refused, and not echoed back.
        let error = http("listen = \"127.0.0.1:9145\"\n[http.basic_auth_users]\ndave = \"dave123\"\n").unwrap_err();
        assert!(
            error.starts_with("test.toml:6: http.basic_auth_users: the password of \"dave\" is not a bcrypt hash"),
            "{error}"
        );
        assert!(!error.contains("dave123"), "{error}");
        let error = http("listen = \"127.0.0.1:9145\"\n[http.basic_auth_users]\n").unwrap_err();
        assert!(error.contains("http.basic_auth_users: has no users"), "{error}");
        let error = http(&format!(
            "listen = \"127.0.0.1:9145\"\n[http.basic_auth_users]\n\"a:b\" = \"{DAVE}\"\n"
        ))
        .unwrap_err();
        assert!(error.contains("without ':'"), "{error}");
    }

    #[test]
    fn guards_without_a_listener_are_refused() {
        let error = http("allow_remote = true\n").unwrap_err();
        assert_eq!(error, "test.toml:4: http.allow_remote: only used with http.listen");
        let error = http(&format!("[http.basic_auth_users]\ndave = \"{DAVE}\"\n")).unwrap_err();
        assert!(
            error.contains("http.basic_auth_users: only used with http.listen"),
            "{error}"
        );
    }

    #[test]
    fn tls_files_are_read_and_checked_up_front() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let cert_file = dir.path().join("server.crt");
        let key_file = dir.path().join("server.key");
        std::fs::write(&cert_file, cert.pem()).unwrap();
        std::fs::write(&key_file, key.serialize_pem()).unwrap();
        let section = |extra: &str| {
            format!(
                "listen = \"127.0.0.1:9145\"\n[http.tls_server_config]\ncert_file = \"{}\"\nkey_file = \"{}\"\n{extra}",
                cert_file.display(),
                key_file.display()
            )
        };
        let config = http(&section("")).unwrap().unwrap();
        assert_eq!(config.scheme(), "https");
        assert!(config.tls.as_ref().unwrap().client_ca_file.is_none());

        let config = http(&section(&format!("client_ca_file = \"{}\"\n", cert_file.display())))
            .unwrap()
            .unwrap();
        assert!(
            config.guards().contains("client certificates signed by"),
            "{}",
            config.guards()
        );

        let error = http(&section("min_version = \"TLS10\"\n")).unwrap_err();
        assert!(
            error.starts_with("test.toml:8: http.tls_server_config.min_version: \"TLS10\" is not"),
            "{error}"
        );

        // A key that is not the certificate's.
        let other = rcgen::KeyPair::generate().unwrap();
        std::fs::write(&key_file, other.serialize_pem()).unwrap();
        let error = http(&section("")).unwrap_err();
        assert!(
            error.starts_with("test.toml:7: http.tls_server_config.key_file: "),
            "{error}"
        );
        assert!(error.contains("does not fit"), "{error}");

        let error = http("listen = \"127.0.0.1:9145\"\n[http.tls_server_config]\ncert_file = \"/nonexistent.crt\"\n")
            .unwrap_err();
        assert!(
            error.contains("http.tls_server_config: needs both cert_file and key_file"),
            "{error}"
        );
        let error = http(
            "listen = \"127.0.0.1:9145\"\n[http.tls_server_config]\ncert_file = \"/nonexistent.crt\"\nkey_file = \"/k\"\n",
        )
        .unwrap_err();
        assert!(
            error.starts_with("test.toml:6: http.tls_server_config.cert_file: cannot read /nonexistent.crt"),
            "{error}"
        );
    }
}
