//! /metrics off loopback: TLS and basic auth as the Prometheus exporter-toolkit's web config
//! has them, tested against the live exporter with certificates made for the test.

use nginx_backlog_exporter_test_support as support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use support::*;

/// The exporter-toolkit's own test user (web/testdata/web_config_users.good.yml): the bcrypt
/// hash of "dave123", cost 10.
const DAVE: &str = "$2y$10$2UXri9cIDdgeKjBo4Rlpx.U3ZLDV8X1IxKmsfOvhcM5oXQt/mLmXq";

/// A CA, a server certificate it signed for localhost and 127.0.0.1, and a client certificate
/// it signed, written as PEM files into `dir`.
struct Pki {
    ca: rcgen::Certificate,
    client: (rcgen::Certificate, rcgen::KeyPair),
}

impl Pki {
    fn write(dir: &Path) -> Pki {
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let mut ca_params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "exporter test CA");
        let ca = ca_params.self_signed(&ca_key).unwrap();

        let server_key = rcgen::KeyPair::generate().unwrap();
        let server_params =
            rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
        let server = server_params.signed_by(&server_key, &ca, &ca_key).unwrap();

        let client_key = rcgen::KeyPair::generate().unwrap();
        let mut client_params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        client_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "prometheus");
        client_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let client = client_params.signed_by(&client_key, &ca, &ca_key).unwrap();

        std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
        std::fs::write(dir.join("server.crt"), server.pem()).unwrap();
        std::fs::write(dir.join("server.key"), server_key.serialize_pem()).unwrap();
        Pki {
            ca,
            client: (client, client_key),
        }
    }

    /// A client trusting the CA, with the client certificate when `with_certificate`.
    fn client(&self, with_certificate: bool) -> rustls::ClientConfig {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.der().clone()).unwrap();
        let builder = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
        if with_certificate {
            let (cert, key) = &self.client;
            let key = rustls_pki_types::PrivatePkcs8KeyDer::from(key.serialize_der()).into();
            builder.with_client_auth_cert(vec![cert.der().clone()], key).unwrap()
        } else {
            builder.with_no_client_auth()
        }
    }
}

/// GET `url` over https with `tls`, and `user:password` as basic auth when given:
/// `Ok((status, WWW-Authenticate, body))`, or `Err` when no HTTP answer came.
async fn get(
    tls: rustls::ClientConfig,
    url: &str,
    credentials: Option<(&str, &str)>,
) -> Result<(u16, Option<String>, String), String> {
    use base64::Engine as _;
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_only()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, Empty<Bytes>>(connector);
    // As Prometheus asks: the exporter answers OpenMetrics then (curl gets the text format).
    let mut request = hyper::Request::get(url).header("accept", PROMETHEUS_ACCEPT);
    if let Some((user, password)) = credentials {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        request = request.header("authorization", format!("Basic {encoded}"));
    }
    let response = tokio::time::timeout(
        Duration::from_secs(10),
        client.request(request.body(Empty::new()).unwrap()),
    )
    .await
    .map_err(|_| "timed out".to_owned())?
    .map_err(|e| format!("{e:?}"))?;
    let status = response.status().as_u16();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, challenge, String::from_utf8_lossy(&body).into_owned()))
}

/// A config that serves /metrics on `listen` with `http_extra` under `[http]`, reads no nginx
/// and needs no AWS (`run --dry-run`, the instance id given).
fn config(dir: &Path, listen: &str, http_extra: &str) -> std::path::PathBuf {
    write_config(
        dir,
        &format!(
            "[nginx]\nstatus_url = \"http://127.0.0.1:9/nginx_status\"\n[cloudwatch]\nnamespace = \"Test/Tls\"\n\
             instance_id = \"i-0tls\"\nregion = \"us-east-1\"\npending = \"in_flight\"\n[http]\nlisten = \"{listen}\"\n{http_extra}"
        ),
    )
}

fn tls_section(dir: &Path) -> String {
    format!(
        "[http.tls_server_config]\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
        dir.join("server.crt").display(),
        dir.join("server.key").display()
    )
}

/// Waits until something answers TLS on `port`.
async fn wait_for_tls(pki: &Pki, port: u16) {
    let url = format!("https://localhost:{port}/healthz");
    wait_until(Duration::from_secs(20), "the exporter to serve TLS", async || {
        get(pki.client(true), &url, None).await.is_ok()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_over_tls_answer_only_the_configured_user() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::write(dir.path());
    let port = free_port();
    let path = config(
        dir.path(),
        &format!("127.0.0.1:{port}"),
        &format!(
            "{}[http.basic_auth_users]\ndave = \"{DAVE}\"\n",
            tls_section(dir.path())
        ),
    );
    let (daemon, _lines) = dry_run_daemon(&path);
    wait_for_tls(&pki, port).await;
    let metrics = format!("https://localhost:{port}/metrics");

    // No credentials, a wrong password, an unknown user: 401 with a Basic challenge, no metrics.
    for credentials in [None, Some(("dave", "dave1234")), Some(("mallory", "dave123"))] {
        let (status, challenge, body) = get(pki.client(false), &metrics, credentials).await.unwrap();
        assert_eq!(status, 401, "{credentials:?}: {body}");
        assert!(
            challenge.as_deref().is_some_and(|c| c.starts_with("Basic ")),
            "{challenge:?}"
        );
        assert!(!body.contains("nginx_backlog"), "{body}");
    }
    // /healthz is behind the same guard.
    let healthz = format!("https://localhost:{port}/healthz");
    assert_eq!(get(pki.client(false), &healthz, None).await.unwrap().0, 401);

    // The right user and password: 200 and the metrics, twice (the second from the cache of
    // verified passwords).
    for _ in 0..2 {
        let (status, _, body) = get(pki.client(false), &metrics, Some(("dave", "dave123")))
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
        let parsed = parse_openmetrics(&body);
        assert!(parsed.contains_key("nginx_backlog_pending_requests{}"), "{body}");
    }

    // Plain HTTP to the TLS port gets no HTTP answer.
    assert_eq!(http_get(&format!("http://127.0.0.1:{port}/metrics")).await, None);
    stop(daemon).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_ca_requires_a_certificate_it_signed() {
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::write(dir.path());
    let port = free_port();
    let path = config(
        dir.path(),
        &format!("127.0.0.1:{port}"),
        &format!(
            "{}client_ca_file = \"{}\"\n",
            tls_section(dir.path()),
            dir.path().join("ca.pem").display()
        ),
    );
    let (daemon, _lines) = dry_run_daemon(&path);
    wait_for_tls(&pki, port).await;
    let metrics = format!("https://localhost:{port}/metrics");
    let (status, _, body) = get(pki.client(true), &metrics, None).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let refused = get(pki.client(false), &metrics, None).await;
    assert!(refused.is_err(), "served without a client certificate: {refused:?}");
    stop(daemon).await;
}

#[tokio::test]
async fn another_address_than_loopback_needs_allow_remote() {
    let dir = tempfile::tempdir().unwrap();
    let path = config(dir.path(), "0.0.0.0:9145", "");
    let (code, stdout, stderr) =
        run_exporter(exporter().arg("--config").arg(&path).args(["check", "--config-only"])).await;
    assert_eq!(code, 2, "{stdout}{stderr}");
    let line = path.display().to_string() + ":9: http.listen: 0.0.0.0:9145 is not a loopback address";
    assert!(stderr.contains(&line), "{stderr}");
    assert!(stderr.contains("set http.allow_remote = true"), "{stderr}");

    // Asked for explicitly: accepted, and `check --config-only` is fine; the risks of a bare
    // listener are named by `check`'s http line (unit-tested with the config).
    let path = config(dir.path(), "0.0.0.0:9145", "allow_remote = true\n");
    let (code, stdout, stderr) =
        run_exporter(exporter().arg("--config").arg(&path).args(["check", "--config-only"])).await;
    assert_eq!(code, 0, "{stdout}{stderr}");
}
