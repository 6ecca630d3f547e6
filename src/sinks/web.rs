//! What stands between the network and the local HTTP outputs: TLS (`[http.tls_server_config]`)
//! and basic auth (`[http.basic_auth_users]`), with the Prometheus exporter-toolkit's meaning.
//! [`super::prometheus::serve`] accepts, hands each connection to [`Guard::handshake`], and
//! asks [`Guard::authorized`] before answering a request.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hyper::header::{HeaderValue, AUTHORIZATION};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;

use crate::config::HttpConfig;

/// A TLS handshake must finish within this, so a silent client holds no task for long.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Verified passwords remembered (as SHA-256 digests) so that a scrape every few seconds does
/// not pay bcrypt's cost each time, as the exporter-toolkit does; cleared when full.
const VERIFIED_CACHE: usize = 64;

/// The listener's TLS and basic auth, built once from the config.
#[derive(Clone)]
pub(crate) struct Guard {
    tls: Option<tokio_rustls::TlsAcceptor>,
    users: Option<Arc<Users>>,
}

/// Any byte stream a connection is served on: plain TCP or TLS over it.
pub trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

impl Guard {
    pub fn new(config: &HttpConfig) -> Self {
        Guard {
            tls: config
                .tls
                .as_ref()
                .map(|tls| tokio_rustls::TlsAcceptor::from(tls.config.clone())),
            users: (!config.basic_auth_users.is_empty()).then(|| {
                Arc::new(Users {
                    hashes: config.basic_auth_users.clone(),
                    verified: Mutex::new(HashSet::new()),
                })
            }),
        }
    }

    /// The stream to serve HTTP on, after the TLS handshake if there is TLS; `Err` says why
    /// the connection is dropped (a plain-HTTP client on the TLS port, an unknown client
    /// certificate, a timeout).
    pub async fn handshake(&self, stream: TcpStream) -> Result<Box<dyn Io>, String> {
        let Some(acceptor) = &self.tls else {
            return Ok(Box::new(stream));
        };
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
            Err(_) => Err("TLS handshake timed out".to_owned()),
            Ok(Err(error)) => Err(format!("TLS handshake failed: {error}")),
            Ok(Ok(tls)) => Ok(Box::new(tls)),
        }
    }

    /// Whether the request may be answered: always without basic auth, else only with the
    /// `Authorization: Basic` of a configured user and the password of its bcrypt hash.
    pub async fn authorized(&self, header: Option<&HeaderValue>) -> bool {
        let Some(users) = &self.users else {
            return true;
        };
        let Some((user, password)) = header.and_then(basic_credentials) else {
            return false;
        };
        let users = users.clone();
        // bcrypt takes tens of milliseconds by design: off the runtime's thread.
        tokio::task::spawn_blocking(move || users.verify(&user, &password))
            .await
            .unwrap_or(false)
    }
}

/// The `WWW-Authenticate` challenge of a 401.
pub(crate) const CHALLENGE: &str = "Basic realm=\"nginx-backlog-exporter\"";

struct Users {
    hashes: BTreeMap<String, String>,
    verified: Mutex<HashSet<[u8; 32]>>,
}

impl Users {
    fn verify(&self, user: &str, password: &str) -> bool {
        let hash = self.hashes.get(user);
        let digest = digest(user, password, hash.map_or("", String::as_str));
        if hash.is_some() && self.verified.lock().is_ok_and(|v| v.contains(&digest)) {
            return true;
        }
        // An unknown user is checked against another user's hash and refused all the same, so
        // that it takes as long as a wrong password and does not tell which names exist.
        let against = hash.or_else(|| self.hashes.values().next());
        let matched = against.is_some_and(|h| bcrypt::verify(password, h).unwrap_or(false));
        let ok = matched && hash.is_some();
        if ok {
            if let Ok(mut verified) = self.verified.lock() {
                if verified.len() >= VERIFIED_CACHE {
                    verified.clear();
                }
                verified.insert(digest);
            }
        }
        ok
    }
}

/// SHA-256 of the user, the password and the hash it matched (a changed hash never matches an
/// old entry), each length-prefixed so that no two triples run together alike.
fn digest(user: &str, password: &str, hash: &str) -> [u8; 32] {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [user, password, hash] {
        context.update(&(part.len() as u64).to_be_bytes());
        context.update(part.as_bytes());
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// `(user, password)` of an `Authorization: Basic base64(user:password)` header (RFC 7617).
fn basic_credentials(header: &HeaderValue) -> Option<(String, String)> {
    use base64::Engine as _;
    let value = header.to_str().ok()?;
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The `Authorization` header of a request, if any.
pub fn authorization<B>(request: &hyper::Request<B>) -> Option<&HeaderValue> {
    request.headers().get(AUTHORIZATION)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exporter-toolkit's own test users (web/testdata/web_config_users.good.yml), cost 10:
    /// the hashes of "carol123" and "dave123".
    const CAROL: &str = "$2y$10$qRTBuFoULoYNA7AQ/F3ck.trZBPyjV64.oA4ZsSBCIWvXuvQlQTuu";
    const DAVE: &str = "$2y$10$2UXri9cIDdgeKjBo4Rlpx.U3ZLDV8X1IxKmsfOvhcM5oXQt/mLmXq";

    fn users() -> Users {
        Users {
            hashes: BTreeMap::from([
                ("carol".to_owned(), CAROL.to_owned()),
                ("dave".to_owned(), DAVE.to_owned()),
            ]),
            verified: Mutex::new(HashSet::new()),
        }
    }

    #[test]
    fn a_user_passes_with_its_own_password_only() {
        let users = users();
        assert!(users.verify("dave", "dave123"));
        assert!(users.verify("carol", "carol123"));
        assert!(!users.verify("dave", "carol123"), "another user's password");
        assert!(!users.verify("dave", "dave1234"));
        assert!(!users.verify("mallory", "dave123"), "unknown user");
        assert!(
            !users.verify("mallory", "carol123"),
            "unknown user, the password of the hash it is checked against"
        );
        // Remembered after the first success, and still only for that password.
        assert!(users.verify("dave", "dave123"));
        assert!(!users.verify("dave", "dave12"));
    }

    #[test]
    fn basic_credentials_follow_rfc_7617() {
        let header = |v: &str| HeaderValue::from_str(v).unwrap();
        // RFC 7617 section 2's own example.
        assert_eq!(
            basic_credentials(&header("Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==")),
            Some(("Aladdin".to_owned(), "open sesame".to_owned()))
        );
        // The scheme is case-insensitive; the password may hold colons.
        assert_eq!(
            basic_credentials(&header("basic dTpwOnE=")),
            Some(("u".to_owned(), "p:q".to_owned()))
        );
        assert_eq!(basic_credentials(&header("Bearer QWxhZGRpbjpvcGVuIHNlc2FtZQ==")), None);
        assert_eq!(basic_credentials(&header("Basic !!!")), None);
        assert_eq!(basic_credentials(&header("Basic dXNlcg==")), None, "no colon");
    }
}
