//! Public, real-world nginx configurations (tests/fixtures/real-world, sources in its README):
//! every `log_format` of `http {}` is found through includes, stream blocks and OpenResty's Lua
//! blocks, and compiles; then real nginx writes lines in those formats for requests that carry
//! quotes, backslashes, tabs and non-UTF-8 bytes, come over IPv6, are retried on a second
//! upstream server (`, `) and redirected internally to another upstream (` : `), and each line is
//! read back field by field against what the test sent. nginx's own output is the reference.

use nginx_backlog_exporter_test_support as support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use nginx_backlog_exporter::sources::access_log::nginx_conf::{self, NginxConfError};
use nginx_backlog_exporter::sources::access_log::{values, Escape, LineMatcher, LineParser, LogFormat};

fn corpus(path: &str) -> PathBuf {
    support::project_root().join("tests/fixtures/real-world").join(path)
}

/// `log_format NAME` of `http {}` in the corpus file: its escaping and variables in order,
/// written from the file's own text.
struct Defined {
    file: &'static str,
    name: &'static str,
    escape: Escape,
    variables: &'static [&'static str],
}

const DEFINED: &[Defined] = &[
    Defined {
        file: "h5bp/nginx.conf",
        name: "main",
        escape: Escape::Default,
        variables: &[
            "remote_addr",
            "remote_user",
            "time_local",
            "request",
            "status",
            "body_bytes_sent",
            "http_referer",
            "http_user_agent",
            "http_x_forwarded_for",
        ],
    },
    Defined {
        file: "npm/nginx.conf",
        name: "proxy",
        escape: Escape::Default,
        variables: &[
            "time_local",
            "upstream_cache_status",
            "upstream_status",
            "status",
            "request_method",
            "scheme",
            "host",
            "request_uri",
            "remote_addr",
            "body_bytes_sent",
            "gzip_ratio",
            "server",
            "http_user_agent",
            "http_referer",
        ],
    },
    Defined {
        file: "npm/nginx.conf",
        name: "standard",
        escape: Escape::Default,
        variables: &[
            "time_local",
            "status",
            "request_method",
            "scheme",
            "host",
            "request_uri",
            "remote_addr",
            "body_bytes_sent",
            "gzip_ratio",
            "http_user_agent",
            "http_referer",
        ],
    },
    Defined {
        file: "discourse/nginx.sample.conf",
        name: "log_discourse",
        escape: Escape::Default,
        variables: &[
            "time_local",
            "remote_addr",
            "request",
            "http_user_agent",
            "sent_http_x_discourse_route",
            "status",
            "bytes_sent",
            "http_referer",
            "upstream_response_time",
            "request_time",
            "sent_http_x_discourse_username",
        ],
    },
    Defined {
        file: "ingress-nginx/nginx.conf",
        name: "upstreaminfo",
        escape: Escape::Default,
        variables: &[
            "remote_addr",
            "remote_user",
            "time_local",
            "request",
            "status",
            "body_bytes_sent",
            "http_referer",
            "http_user_agent",
            "request_length",
            "request_time",
            "proxy_upstream_name",
            "proxy_alternative_upstream_name",
            "upstream_addr",
            "upstream_response_length",
            "upstream_response_time",
            "upstream_status",
            "req_id",
        ],
    },
    Defined {
        file: "nginx-proxy/vhost.conf",
        name: "vhost",
        escape: Escape::Default,
        variables: &[
            "host",
            "remote_addr",
            "remote_user",
            "time_local",
            "request",
            "status",
            "body_bytes_sent",
            "http_referer",
            "http_user_agent",
            "upstream_addr",
        ],
    },
    Defined {
        file: "nginx-proxy/vhost-json.conf",
        name: "vhost",
        escape: Escape::Json,
        variables: &[
            "time_iso8601",
            "http_x_forwarded_for",
            "remote_addr",
            "request",
            "status",
            "body_bytes_sent",
            "request_time",
            "upstream_response_time",
            "upstream_addr",
            "http_referer",
            "http_user_agent",
            "request_id",
        ],
    },
    Defined {
        file: "kong/nginx.conf",
        name: "kong_log_format",
        escape: Escape::Default,
        variables: &[
            "remote_addr",
            "remote_user",
            "time_local",
            "request",
            "status",
            "body_bytes_sent",
            "http_referer",
            "http_user_agent",
            "kong_request_id",
        ],
    },
    Defined {
        file: "crossplane/quoted-right-brace.conf",
        name: "main",
        escape: Escape::Json,
        variables: &[
            "time_iso8601",
            "server_name",
            "host",
            "status",
            "request",
            "uri",
            "args",
            "https",
            "request_method",
            "http_referer",
            "http_user_agent",
        ],
    },
];

/// APISIX's default http format (the `http&stream` layout): found in `http {}`, after the
/// stream's own `main` and its Lua blocks. Its `$upstream_host$upstream_uri` has nothing
/// between them, which no reader can split.
const APISIX_MAIN: &str = r#"$remote_addr - $remote_user [$time_local] $http_host "$request" $status $body_bytes_sent $request_time "$http_referer" "$http_user_agent" $upstream_addr $upstream_status $upstream_response_time "$upstream_scheme://$upstream_host$upstream_uri" "$apisix_request_id""#;

#[test]
fn every_http_log_format_in_the_corpus_is_found_and_compiles() {
    for defined in DEFINED {
        let found = nginx_conf::find_log_format(&corpus(defined.file), defined.name)
            .unwrap_or_else(|error| panic!("{}: {error}", defined.file));
        let format = LogFormat::compile(&found.format, found.escape)
            .unwrap_or_else(|error| panic!("{} {}: {error}", defined.file, defined.name));
        assert_eq!(format.escape(), defined.escape, "{} {}", defined.file, defined.name);
        assert_eq!(
            format.variables().collect::<Vec<_>>(),
            defined.variables,
            "{} {}",
            defined.file,
            defined.name
        );
    }
    let apisix = nginx_conf::find_log_format(&corpus("apisix/nginx.conf"), "main").unwrap();
    assert_eq!((apisix.format.as_str(), apisix.escape), (APISIX_MAIN, Escape::Default));
    assert!(apisix.line > 60, "http's main, not stream's: line {}", apisix.line);
    // Refused loudly at startup, saying which two variables.
    let error = LogFormat::compile(&apisix.format, apisix.escape).unwrap_err();
    assert!(
        error.message.contains("$upstream_host and $upstream_uri are adjacent"),
        "{error}"
    );
}

/// The layout of APISIX's `http&stream` mode without its Lua: `stream {}` defines `main`
/// before `http {}` does, and the access log is read with http's.
#[test]
fn http_main_is_taken_over_an_earlier_stream_main() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(
        &conf,
        "events {}\nstream {\n    log_format main '$remote_addr [$time_local] $protocol $status';\n}\nhttp {\n    log_format main '$remote_addr [$time_local] \"$request\" $status';\n}\n",
    )
    .unwrap();
    let found = nginx_conf::find_log_format(&conf, "main").unwrap();
    assert_eq!(
        (found.format.as_str(), found.line),
        ("$remote_addr [$time_local] \"$request\" $status", 6)
    );
}

/// Formats these configurations define only in `stream {}` are not an access log's: the
/// error says where they are.
#[test]
fn stream_formats_are_refused_and_located() {
    for (file, name, stream_file) in [
        ("npm/nginx.conf", "stream", "npm/conf.d/include/log-stream.conf"),
        ("ingress-nginx/nginx.conf", "log_stream", "ingress-nginx/nginx.conf"),
        ("kong/nginx.conf", "basic", "kong/nginx-kong-stream.conf"),
    ] {
        let error = nginx_conf::find_log_format(&corpus(file), name).unwrap_err();
        assert!(matches!(error, NginxConfError::NotFound { .. }), "{file}: {error}");
        let message = error.to_string();
        assert!(
            message.contains(&format!("{}:", corpus(stream_file).display())) && message.contains("in stream {}"),
            "{file} {name}: {message}"
        );
    }
    // nginx's own example keeps its `main` commented out.
    let error = nginx_conf::find_log_format(&corpus("nginx/nginx.conf"), "main").unwrap_err();
    assert!(
        matches!(error, NginxConfError::NotFound { elsewhere: None, .. }),
        "{error}"
    );
}

/// crossplane's Lua test configs: every nginx directive around the Lua blocks is read, in its
/// block, and nothing from inside the Lua.
#[test]
fn crossplane_lua_blocks_are_skipped_whole() {
    let read = |name: &str| {
        let text = std::fs::read(corpus(&format!("crossplane/{name}.conf"))).unwrap();
        nginx_conf::directives(&text)
            .unwrap_or_else(|error| panic!("{name}: {error:?}"))
            .into_iter()
            .map(|d| (d.name, d.args, d.blocks.join(">")))
            .collect::<Vec<_>>()
    };
    let owned = |rows: &[(&str, &[&str], &str)]| {
        rows.iter()
            .map(|(name, args, blocks)| {
                (
                    name.to_string(),
                    args.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
                    blocks.to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        read("lua-block-simple"),
        owned(&[
            ("http", &[], ""),
            ("init_by_lua_block", &[], "http"),
            ("init_worker_by_lua_block", &[], "http"),
            ("body_filter_by_lua_block", &[], "http"),
            ("header_filter_by_lua_block", &[], "http"),
            ("server", &[], "http"),
            ("listen", &["127.0.0.1:8080"], "http>server"),
            ("location", &["/"], "http>server"),
            ("content_by_lua_block", &[], "http>server>location"),
            ("return", &["200", "foo bar baz"], "http>server>location"),
            ("ssl_certificate_by_lua_block", &[], "http>server"),
            ("location", &["/a"], "http>server"),
            ("client_max_body_size", &["100k"], "http>server>location"),
            ("client_body_buffer_size", &["100k"], "http>server>location"),
            ("upstream", &["foo"], "http"),
            ("server", &["127.0.0.1"], "http>upstream"),
            ("balancer_by_lua_block", &[], "http>upstream"),
            ("log_by_lua_block", &[], "http>upstream"),
        ])
    );
    assert_eq!(
        read("lua-block-larger"),
        owned(&[
            ("http", &[], ""),
            ("content_by_lua_block", &[], "http"),
            ("access_by_lua_block", &[], "http"),
        ])
    );
    assert_eq!(
        read("lua-block-tricky"),
        owned(&[
            ("http", &[], ""),
            ("server", &[], "http"),
            ("listen", &["127.0.0.1:8080"], "http>server"),
            ("server_name", &["content_by_lua_block"], "http>server"),
            ("set_by_lua_block", &["$res"], "http>server"),
            ("rewrite_by_lua_block", &[], "http>server"),
            ("upstream", &["content_by_lua_block"], "http"),
        ])
    );
}

/// What one request sends and what nginx knows of it.
struct Sent {
    /// Over IPv6 (`::1`) rather than 127.0.0.1.
    ipv6: bool,
    request_line: &'static [u8],
    user_agent: &'static [u8],
    referer: Option<&'static [u8]>,
    /// `$upstream_addr` and `$upstream_status` as nginx's ngx_http_upstream.c writes them for
    /// the route the config gives this path (ports filled in), or none for no upstream.
    upstream: Option<(String, &'static str)>,
}

/// A backend on its own port: `ok` for any path, 503 for /fail.
const BACKEND: &str = r#"location / { return 200 "ok\n"; } location /fail { return 503; }"#;

fn nginx_config(ports: &Ports, formats: &str, access_logs: &str, ipv6: bool) -> String {
    let Ports {
        front,
        good,
        second,
        closed,
    } = ports;
    let listen_ipv6 = if ipv6 {
        format!("listen [::1]:{front};")
    } else {
        String::new()
    };
    format!(
        r#"
    {formats}
    server {{ listen 127.0.0.1:{good}; access_log off; {BACKEND} }}
    server {{ listen 127.0.0.1:{second}; access_log off; {BACKEND} }}
    upstream retried {{
        server 127.0.0.1:{closed} max_fails=0;
        server 127.0.0.1:{good} backup;
    }}
    server {{
        listen 127.0.0.1:{front};
        {listen_ipv6}
        {access_logs}
        # The variables these products set for themselves.
        set $server "127.0.0.1";
        set $proxy_upstream_name "default-app-80";
        set $proxy_alternative_upstream_name "";
        set $req_id $request_id;
        set $kong_request_id $request_id;
        proxy_next_upstream error;
        proxy_intercept_errors on;
        location /ok {{ proxy_pass http://127.0.0.1:{good}; }}
        location /static {{ return 200 "static\n"; }}
        location /retry {{ proxy_pass http://retried; }}
        location /redirect {{ proxy_pass http://127.0.0.1:{good}/fail; error_page 503 = @second; }}
        location /both {{ proxy_pass http://retried/fail; error_page 503 = @second; }}
        location @second {{ proxy_pass http://127.0.0.1:{second}; }}
    }}
"#
    )
}

struct Ports {
    front: u16,
    good: u16,
    second: u16,
    closed: u16,
}

fn requests(ports: &Ports, ipv6: bool) -> Vec<Sent> {
    let Ports {
        good, second, closed, ..
    } = ports;
    let mut sent = vec![
        Sent {
            ipv6: false,
            request_line: b"GET /ok HTTP/1.1",
            user_agent: b"curl/8.5.0",
            referer: None,
            upstream: Some((format!("127.0.0.1:{good}"), "200")),
        },
        Sent {
            ipv6: false,
            request_line: b"GET /ok?q=\"a\\b\" HTTP/1.1",
            user_agent: b"say \"hi\" \\ back\tcaf\xc3\xa9 \xff\xfe end",
            referer: Some(b"http://example.com/\"quoted\"\\"),
            upstream: Some((format!("127.0.0.1:{good}"), "200")),
        },
        Sent {
            ipv6: false,
            request_line: b"GET /static HTTP/1.1",
            user_agent: b"-",
            referer: None,
            upstream: None,
        },
        Sent {
            ipv6: false,
            request_line: b"GET /retry HTTP/1.1",
            user_agent: b"retry",
            referer: None,
            upstream: Some((format!("127.0.0.1:{closed}, 127.0.0.1:{good}"), "502, 200")),
        },
        Sent {
            ipv6: false,
            request_line: b"GET /redirect HTTP/1.1",
            user_agent: b"redirect",
            referer: None,
            upstream: Some((format!("127.0.0.1:{good} : 127.0.0.1:{second}"), "503 : 200")),
        },
        Sent {
            ipv6: false,
            request_line: b"GET /both HTTP/1.1",
            user_agent: b"retry then redirect",
            referer: None,
            upstream: Some((
                format!("127.0.0.1:{closed}, 127.0.0.1:{good} : 127.0.0.1:{second}"),
                "502, 503 : 200",
            )),
        },
    ];
    if ipv6 {
        sent.push(Sent {
            ipv6: true,
            request_line: b"GET /both HTTP/1.1",
            user_agent: b"over IPv6",
            referer: None,
            upstream: Some((
                format!("127.0.0.1:{closed}, 127.0.0.1:{good} : 127.0.0.1:{second}"),
                "502, 503 : 200",
            )),
        });
    }
    sent
}

/// Send one request as raw bytes (the test owns every byte) and read the whole answer.
fn send(front: u16, sent: &Sent) -> Vec<u8> {
    let address = if sent.ipv6 {
        format!("[::1]:{front}")
    } else {
        format!("127.0.0.1:{front}")
    };
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut request = sent.request_line.to_vec();
    request.extend_from_slice(b"\r\nHost: corpus.test\r\nUser-Agent: ");
    request.extend_from_slice(sent.user_agent);
    if let Some(referer) = sent.referer {
        request.extend_from_slice(b"\r\nReferer: ");
        request.extend_from_slice(referer);
    }
    request.extend_from_slice(b"\r\nConnection: close\r\n\r\n");
    stream.write_all(&request).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    answer
}

/// An nginx `'...'` string holding `text` as it is.
fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// `$upstream_*` times and lengths: the same `, ` / ` : ` shape as `$upstream_addr`, each
/// entry a number (`0.001`, `157`) or `-`.
fn same_list_shape(value: &[u8], addr: &str) -> bool {
    let shape = |text: &str| -> Vec<usize> { text.split(" : ").map(|group| group.split(", ").count()).collect() };
    let Ok(text) = std::str::from_utf8(value) else {
        return false;
    };
    let numbers = text
        .split(" : ")
        .flat_map(|group| group.split(", "))
        .all(|entry| entry == "-" || (!entry.is_empty() && entry.bytes().all(|b| b.is_ascii_digit() || b == b'.')));
    numbers && shape(text) == shape(addr)
}

/// What the value of `variable` must be for `sent`, when the test knows it: `Err` with why not.
/// nginx's `escape=` parameter for `escape` (the inverse of `Escape::from_nginx`).
fn escape_parameter(escape: Escape) -> &'static str {
    match escape {
        Escape::Default => "default",
        Escape::Json => "json",
        Escape::None => "none",
    }
}

fn check_value(variable: &str, value: &[u8], sent: &Sent, escape: Escape) -> Result<(), String> {
    let unset: &[u8] = if escape == Escape::Json { b"" } else { b"-" };
    let want: Option<Vec<u8>> = match variable {
        "remote_addr" => Some(if sent.ipv6 {
            b"::1".to_vec()
        } else {
            b"127.0.0.1".to_vec()
        }),
        "request" => Some(sent.request_line.to_vec()),
        "status" => Some(b"200".to_vec()),
        "request_method" => Some(b"GET".to_vec()),
        "scheme" => Some(b"http".to_vec()),
        "host" | "http_host" => Some(b"corpus.test".to_vec()),
        "request_uri" => sent.request_line.split(|&b| b == b' ').nth(1).map(<[u8]>::to_vec),
        "remote_user" | "http_x_forwarded_for" => Some(unset.to_vec()),
        "http_user_agent" => Some(sent.user_agent.to_vec()),
        "http_referer" => Some(sent.referer.unwrap_or(unset).to_vec()),
        "server" => Some(b"127.0.0.1".to_vec()),
        "proxy_upstream_name" => Some(b"default-app-80".to_vec()),
        "upstream_addr" => Some(
            sent.upstream
                .as_ref()
                .map_or(unset.to_vec(), |(addr, _)| addr.as_bytes().to_vec()),
        ),
        "upstream_status" => Some(
            sent.upstream
                .as_ref()
                .map_or(unset.to_vec(), |(_, status)| status.as_bytes().to_vec()),
        ),
        "upstream_response_time" | "upstream_connect_time" | "upstream_header_time" | "upstream_response_length" => {
            return match &sent.upstream {
                None if value == unset => Ok(()),
                Some((addr, _)) if same_list_shape(value, addr) => Ok(()),
                _ => Err(format!(
                    "${variable} {:?} is not shaped like the upstreams tried",
                    String::from_utf8_lossy(value)
                )),
            };
        }
        "req_id" | "kong_request_id" | "request_id" => {
            return if value.len() == 32 && value.iter().all(u8::is_ascii_hexdigit) {
                Ok(())
            } else {
                Err(format!(
                    "${variable} {:?} is not a request id",
                    String::from_utf8_lossy(value)
                ))
            };
        }
        _ => None,
    };
    match want {
        Some(want) if values::unescape(escape, value) != want.as_slice() => Err(format!(
            "${variable}: read {:?} (unescaped {:?}), sent {:?}",
            String::from_utf8_lossy(value),
            String::from_utf8_lossy(&values::unescape(escape, value)),
            String::from_utf8_lossy(&want)
        )),
        _ => Ok(()),
    }
}

/// IPv6 on loopback, if the machine has it.
fn ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

#[tokio::test]
async fn real_nginx_lines_in_the_corpus_formats_read_back_field_by_field() {
    let ipv6 = ipv6_loopback();
    let ports = Ports {
        front: support::free_port(),
        good: support::free_port(),
        second: support::free_port(),
        closed: support::free_port(),
    };
    // Each format under its own name, logged to its own file, for the same requests.
    let mut formats = String::new();
    let mut logs = Vec::new();
    let scratch = tempfile::tempdir().unwrap();
    for (index, defined) in DEFINED.iter().enumerate() {
        let found = nginx_conf::find_log_format(&corpus(defined.file), defined.name).unwrap();
        let name = format!("corpus{index}");
        formats.push_str(&format!(
            "log_format {name} escape={} {};\n",
            escape_parameter(found.escape),
            quoted(&found.format)
        ));
        logs.push((defined, found, scratch.path().join(format!("{name}.log")), name));
    }
    let access_logs: String = logs
        .iter()
        .map(|(_, _, path, name)| format!("access_log {} {name};\n", path.display()))
        .collect();
    let nginx = support::Nginx::start_with(ports.good, &nginx_config(&ports, &formats, &access_logs, ipv6)).await;
    let sent = requests(&ports, ipv6);
    for request in &sent {
        let answer = send(ports.front, request);
        assert!(
            answer.starts_with(b"HTTP/1.1 200"),
            "{:?} answered {:?}; nginx said {}",
            String::from_utf8_lossy(request.request_line),
            String::from_utf8_lossy(&answer),
            nginx.error_log()
        );
    }
    // nginx writes the line when the request ends, before closing the connection.
    let mut failures = Vec::new();
    for (defined, found, path, _) in &logs {
        let text = std::fs::read(path).unwrap();
        let lines: Vec<&[u8]> = text.split(|&b| b == b'\n').filter(|line| !line.is_empty()).collect();
        assert_eq!(lines.len(), sent.len(), "{}: {} lines", defined.file, lines.len());
        let format = LogFormat::compile(&found.format, found.escape).unwrap();
        let mut matcher = LineMatcher::new(format.clone());
        let mut parser = LineParser::new(format.clone(), None).unwrap();
        for (line, request) in lines.iter().zip(&sent) {
            let place = format!("{} {}: {:?}", defined.file, defined.name, String::from_utf8_lossy(line));
            let fields = match matcher.match_line(line) {
                Ok(fields) => fields,
                Err(error) => {
                    failures.push(format!("{place}: {error}"));
                    continue;
                }
            };
            for (variable, value) in format.variables().zip(fields.iter()) {
                if let Err(why) = check_value(variable, value, request, found.escape) {
                    failures.push(format!("{place}: {why}"));
                }
            }
            // The one parser of the daemon, replay and parse-log takes the line too.
            match parser.parse(line) {
                Ok(completed) if completed.status == 200 => {}
                other => failures.push(format!("{place}: LineParser gave {other:?}")),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
