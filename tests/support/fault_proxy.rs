//! A fault-injecting HTTP proxy in front of ministack, switched by the test: pass
//! requests through, or answer them the ways CloudWatch and networks fail. Counts every
//! call (an HTTP request, or a connection it reset or held).
//!
//! The error answers have the shape of real CloudWatch over Smithy RPC v2 CBOR: a CBOR map
//! with `__type` and `message`, plus the `x-amzn-query-error: <Code>;<Sender|Receiver>`
//! header CloudWatch keeps for awsQuery compatibility. aws-sdk-cloudwatch reads the code
//! from the body's `__type` and then lets the header override it, so `.code()` is
//! `Throttling` (checked in tests/faults.rs), which the exporter classifies as retryable.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward to ministack.
    Pass,
    /// HTTP 400 `Throttling` (CloudWatch's "Rate exceeded").
    Throttle,
    /// HTTP 400 `AccessDenied`, with the message IAM writes.
    AccessDenied,
    /// This status (500, 503...) with CloudWatch's InternalServiceError body.
    Status(u16),
    /// Accept, then reset the connection (RST) without answering.
    Reset,
    /// Accept and read, never answer.
    Hang,
    /// Close the listener: connections are refused (kept connections are closed).
    Refuse,
}

/// One call as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Call {
    pub at: Instant,
    pub fault: Fault,
    /// Size of the request body (a PutMetricData with more datums is bigger).
    pub request_bytes: usize,
    /// The status ministack or the proxy answered, if any.
    pub status: Option<u16>,
}

struct State {
    fault: Mutex<Fault>,
    calls: Mutex<Vec<Call>>,
    /// The access key id of every request that reached the proxy's HTTP handling, in order.
    access_keys: Mutex<Vec<String>>,
    upstream: String,
    accept_task: Mutex<Option<JoinHandle<()>>>,
    client: Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    state: Arc<State>,
}

impl FaultProxy {
    /// Start passing requests through to `upstream` (like "http://127.0.0.1:4566").
    pub async fn start(upstream: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            fault: Mutex::new(Fault::Pass),
            calls: Mutex::new(Vec::new()),
            access_keys: Mutex::new(Vec::new()),
            upstream: upstream.trim_end_matches('/').to_owned(),
            accept_task: Mutex::new(None),
            client: Client::builder(TokioExecutor::new()).build_http(),
        });
        *state.accept_task.lock().unwrap() = Some(tokio::spawn(accept_loop(listener, state.clone())));
        FaultProxy { addr, state }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn fault(&self) -> Fault {
        *self.state.fault.lock().unwrap()
    }

    /// Switch behaviour; `Refuse` closes the listener, anything else reopens it on the same port.
    pub async fn set(&self, fault: Fault) {
        let previous = std::mem::replace(&mut *self.state.fault.lock().unwrap(), fault);
        if fault == Fault::Refuse && previous != Fault::Refuse {
            let task = self.state.accept_task.lock().unwrap().take();
            if let Some(task) = task {
                task.abort();
                let _ = task.await;
            }
        } else if fault != Fault::Refuse && previous == Fault::Refuse {
            // tokio sets SO_REUSEADDR, so the port can be bound again at once.
            let listener = TcpListener::bind(self.addr).await.expect("rebind the proxy port");
            *self.state.accept_task.lock().unwrap() = Some(tokio::spawn(accept_loop(listener, self.state.clone())));
        }
    }

    /// Access key ids the requests were signed with (from `Authorization: ... Credential=AKID/...`).
    pub fn access_keys(&self) -> Vec<String> {
        self.state.access_keys.lock().unwrap().clone()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state.calls.lock().unwrap().clone()
    }

    fn record(state: &State, fault: Fault, request_bytes: usize, status: Option<u16>) {
        state.calls.lock().unwrap().push(Call {
            at: Instant::now(),
            fault,
            request_bytes,
            status,
        });
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        if let Some(task) = self.state.accept_task.lock().unwrap().take() {
            task.abort();
        }
    }
}

async fn accept_loop(listener: TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let fault = *state.fault.lock().unwrap();
        match fault {
            Fault::Reset => {
                FaultProxy::record(&state, fault, 0, None);
                let _ = stream.set_zero_linger();
                drop(stream);
            }
            Fault::Hang => {
                FaultProxy::record(&state, fault, 0, None);
                tokio::spawn(async move {
                    let mut stream = stream;
                    let mut sink = tokio::io::sink();
                    let _ = tokio::io::copy(&mut stream, &mut sink).await;
                });
            }
            _ => {
                let state = state.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request| handle(state.clone(), request));
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

/// Answer one request on a kept connection according to the current fault.
async fn handle(state: Arc<State>, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let key = parts
        .headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split("Credential=").nth(1))
        .and_then(|v| v.split('/').next())
        .map(str::to_owned);
    if let Some(key) = key {
        state.access_keys.lock().unwrap().push(key);
    }
    let fault = *state.fault.lock().unwrap();
    let answer = |status: u16, code: &str, kind: &str, r#type: &str, message: &str| {
        FaultProxy::record(&state, fault, body.len(), Some(status));
        Ok(Response::builder()
            .status(status)
            .header("content-type", "application/cbor")
            .header("smithy-protocol", "rpc-v2-cbor")
            .header("x-amzn-query-error", format!("{code};{kind}"))
            .header("x-amzn-requestid", "fault-proxy")
            .body(Full::new(cbor_error(r#type, message)))
            .unwrap())
    };
    match fault {
        Fault::Pass => {
            let uri = format!(
                "{}{}",
                state.upstream,
                parts.uri.path_and_query().map_or("/", |p| p.as_str())
            );
            let mut forward = Request::builder().method(parts.method).uri(uri);
            for (name, value) in &parts.headers {
                if name != hyper::header::HOST {
                    forward = forward.header(name, value);
                }
            }
            let forward = forward.body(Full::new(body.clone())).unwrap();
            match state.client.request(forward).await {
                Ok(response) => {
                    let (parts, upstream_body) = response.into_parts();
                    let upstream_body = upstream_body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                    FaultProxy::record(&state, fault, body.len(), Some(parts.status.as_u16()));
                    Ok(Response::from_parts(parts, Full::new(upstream_body)))
                }
                Err(error) => {
                    FaultProxy::record(&state, fault, body.len(), Some(502));
                    Err(std::io::Error::other(error))
                }
            }
        }
        Fault::Throttle => answer(
            400,
            "Throttling",
            "Sender",
            "com.amazon.coral.availability#ThrottlingException",
            "Rate exceeded",
        ),
        Fault::AccessDenied => answer(
            400,
            "AccessDenied",
            "Sender",
            "com.amazon.coral.service#AccessDeniedException",
            "User: arn:aws:sts::123456789012:assumed-role/web/i-0fault is not authorized to perform: cloudwatch:PutMetricData because no identity-based policy allows the cloudwatch:PutMetricData action",
        ),
        Fault::Status(status) => answer(
            status,
            "InternalServiceError",
            "Receiver",
            "InternalServiceError",
            "Internal service error",
        ),
        // A connection kept from before the switch: close it without an answer.
        Fault::Reset | Fault::Refuse => {
            FaultProxy::record(&state, fault, body.len(), None);
            Err(std::io::Error::other("fault proxy: connection dropped"))
        }
        Fault::Hang => {
            FaultProxy::record(&state, fault, body.len(), None);
            std::future::pending::<Infallible>().await;
            unreachable!("pending never completes")
        }
    }
}

/// `{"__type": r#type, "message": message}` in CBOR (RFC 8949): a map of two text pairs.
fn cbor_error(r#type: &str, message: &str) -> Bytes {
    fn text(out: &mut Vec<u8>, value: &str) {
        let len = value.len();
        match len {
            0..=23 => out.push(0x60 | len as u8),
            24..=255 => out.extend([0x78, len as u8]),
            _ => {
                out.push(0x79);
                out.extend((len as u16).to_be_bytes());
            }
        }
        out.extend_from_slice(value.as_bytes());
    }
    let mut out = vec![0xa2];
    text(&mut out, "__type");
    text(&mut out, r#type);
    text(&mut out, "message");
    text(&mut out, message);
    Bytes::from(out)
}
