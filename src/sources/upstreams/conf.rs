//! Which upstream groups nginx.conf defines: pure, from the directives the nginx.conf reader
//! walked (`include`s and `nginx -T` output included).
//!
//! Two kinds of group, as nginx has (`ngx_http_upstream_add`):
//! - an `upstream NAME { server ADDRESS [parameters]; ... }` block of `http {}`: its servers
//!   are `server address [parameters]` (ngx_http_upstream_module): `host`, `host:port`,
//!   `[ipv6]:port` or `unix:/path`; **the port defaults to 80**; parameters `weight=`,
//!   `max_conns=`, `max_fails=`, `fail_timeout=`, `backup`, `down`, `resolve`, `service=`,
//!   `slow_start=`, `route=`, `drain`.
//! - a `proxy_pass http://host:port/...` (or `grpc_pass`, `fastcgi_pass`, `uwsgi_pass`,
//!   `scgi_pass`) whose host names no upstream block is a group of its own, named as
//!   nginx.conf spells it (`127.0.0.1:8080`); passes to the same host and port share it, as
//!   nginx's implicit upstreams do. `proxy_pass http://NAME` (no port) names the block `NAME`
//!   (case-insensitively, and wherever in the file the block is).
//!
//! A pass whose address holds a variable (`proxy_pass http://$backend`) is resolved by nginx
//! per request: it is listed in [`UpstreamConf::dynamic`], not guessed. `stream {}`'s
//! upstreams are TCP/UDP proxies, not HTTP requests, and are not read.

use std::path::PathBuf;

use crate::sources::access_log::nginx_conf::Located;

/// nginx's default port for a `server` in an upstream block, and for `http://`.
pub(crate) const DEFAULT_PORT: u16 = 80;

/// Where a directive is: its file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub file: PathBuf,
    pub line: usize,
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// A server's address as written: a host (a name or an IP literal, IPv6 without brackets)
/// and port, or a unix socket (which a TCP dump cannot see).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum ServerAddress {
    Host { host: String, port: u16 },
    Unix(PathBuf),
}

/// One `server` of a group (an implicit group has the one its pass names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct UpstreamServer {
    pub address: ServerAddress,
    /// `backup`: nginx connects to it when the primary servers fail; its connections are the
    /// group's all the same.
    pub backup: bool,
    /// `down`: nginx does not connect to it.
    pub down: bool,
    /// `resolve`: nginx re-resolves the name itself; the exporter re-resolves every name on
    /// its own timer either way.
    pub resolve: bool,
    pub place: Place,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    /// `upstream NAME { ... }`.
    Block,
    /// The target of a `proxy_pass` (or another `*_pass`) that names no block.
    Implicit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamGroup {
    /// As nginx.conf spells it: the block's name, or the pass's `host[:port]`.
    pub name: String,
    pub kind: GroupKind,
    pub place: Place,
    pub(crate) servers: Vec<UpstreamServer>,
    /// A `balancer_by_lua_block`/`balancer_by_lua_file` (OpenResty, Kong, APISIX) in the block:
    /// Lua picks the peer per request, so the `server` lines are not where connections go.
    pub lua_balancer: Option<Place>,
}

/// The groups of one nginx.conf, in the order their first directive appears.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpstreamConf {
    pub groups: Vec<UpstreamGroup>,
    /// Passes whose address holds a variable: nginx picks the group per request.
    pub(crate) dynamic: Vec<Place>,
}

/// A directive nginx would refuse, or one this reader cannot follow: file, line and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {message}")]
pub struct ConfError {
    pub place: Place,
    pub message: String,
}

/// The directives that send a request to an upstream, with the URL schemes they take and
/// their default ports. A pass without a scheme must give a port unless it names a block
/// (nginx: "no port in upstream").
const PASSES: &[(&str, &[(&str, u16)])] = &[
    ("proxy_pass", &[("http://", 80), ("https://", 443)]),
    ("grpc_pass", &[("grpc://", 80), ("grpcs://", 443)]),
    ("uwsgi_pass", &[("uwsgi://", 80), ("suwsgi://", 443)]),
    ("fastcgi_pass", &[]),
    ("scgi_pass", &[]),
];

/// Whether a directive's blocks put it in `http {}`: a file read on its own (no `http`
/// around it) is taken as a snippet included inside `http {}`, as the log_format reader does,
/// unless it is inside `stream {}` or `mail {}`.
fn in_http(blocks: &[String]) -> bool {
    blocks
        .first()
        .is_none_or(|outer| !matches!(outer.as_str(), "stream" | "mail"))
}

/// The groups in `directives` (from [`crate::sources::access_log::nginx_conf::all_directives`]).
pub(crate) fn upstreams_in(directives: &[Located]) -> Result<UpstreamConf, ConfError> {
    let mut conf = UpstreamConf::default();
    // Blocks first: a pass may name a block defined after it, as in nginx.
    let mut open: Option<(usize, usize)> = None; // (group index, depth of the block's contents)
    for located in directives {
        let directive = &located.directive;
        let place = Place {
            file: located.file.clone(),
            line: directive.line,
        };
        if !in_http(&directive.blocks) {
            continue;
        }
        if directive.name == "upstream" && directive.blocks.len() <= 1 {
            let Some(name) = directive.args.first().filter(|_| directive.args.len() == 1) else {
                return Err(ConfError {
                    place,
                    message: "upstream takes one name: upstream NAME { ... }".into(),
                });
            };
            if let Some(first) = conf.groups.iter().find(|group| group.name.eq_ignore_ascii_case(name)) {
                return Err(ConfError {
                    place,
                    message: format!("duplicate upstream {name:?} (the first is at {})", first.place),
                });
            }
            conf.groups.push(UpstreamGroup {
                name: name.clone(),
                kind: GroupKind::Block,
                place,
                servers: Vec::new(),
                lua_balancer: None,
            });
            open = Some((conf.groups.len() - 1, directive.blocks.len() + 1));
            continue;
        }
        let Some((index, depth)) = open else { continue };
        let inside = directive.blocks.len() == depth && directive.blocks.last().is_some_and(|b| b == "upstream");
        if !inside {
            if directive.blocks.len() < depth {
                open = None;
            }
            continue;
        }
        match directive.name.as_str() {
            "server" => {
                let server = server_directive(&directive.args, place)?;
                conf.groups[index].servers.push(server);
            }
            "balancer_by_lua_block" | "balancer_by_lua_file" => {
                conf.groups[index].lua_balancer = Some(place);
            }
            _ => {}
        }
    }
    for located in directives {
        let directive = &located.directive;
        let Some((_, schemes)) = PASSES.iter().find(|(name, _)| *name == directive.name) else {
            continue;
        };
        if !in_http(&directive.blocks) {
            continue;
        }
        let place = Place {
            file: located.file.clone(),
            line: directive.line,
        };
        let Some(url) = directive.args.first() else {
            return Err(ConfError {
                place,
                message: format!("{} takes an address", directive.name),
            });
        };
        match pass_target(url, schemes).map_err(|message| ConfError {
            place: place.clone(),
            message: format!("{} {url:?}: {message}", directive.name),
        })? {
            PassTarget::Variable => conf.dynamic.push(place),
            PassTarget::BlockOrVariable(name) => {
                if !conf
                    .groups
                    .iter()
                    .any(|group| group.kind == GroupKind::Block && group.name.eq_ignore_ascii_case(&name))
                {
                    conf.dynamic.push(place);
                }
            }
            PassTarget::Named(name) => {
                if conf
                    .groups
                    .iter()
                    .any(|group| group.kind == GroupKind::Block && group.name.eq_ignore_ascii_case(&name))
                {
                    continue;
                }
                if schemes.is_empty() {
                    return Err(ConfError {
                        place,
                        message: format!(
                            "{} {url:?}: no port, and no upstream block of that name",
                            directive.name
                        ),
                    });
                }
                let default_port = schemes
                    .iter()
                    .find(|(scheme, _)| starts_with_ignore_case(url, scheme))
                    .map_or(DEFAULT_PORT, |(_, port)| *port);
                add_implicit(
                    &mut conf,
                    name.clone(),
                    ServerAddress::Host {
                        host: name,
                        port: default_port,
                    },
                    place,
                );
            }
            PassTarget::Address { spelled, address } => {
                if let ServerAddress::Host { host, .. } = &address {
                    if let Some(block) = conf
                        .groups
                        .iter()
                        .find(|group| group.kind == GroupKind::Block && group.name.eq_ignore_ascii_case(host))
                    {
                        // nginx: "upstream NAME may not have port".
                        return Err(ConfError {
                            place,
                            message: format!(
                                "{} {url:?} gives a port to upstream {:?} (defined at {}), which nginx refuses",
                                directive.name, block.name, block.place
                            ),
                        });
                    }
                }
                add_implicit(&mut conf, spelled, address, place);
            }
        }
    }
    Ok(conf)
}

/// One implicit group per address, named by its first spelling.
fn add_implicit(conf: &mut UpstreamConf, name: String, address: ServerAddress, place: Place) {
    let same = |server: &UpstreamServer| match (&server.address, &address) {
        (ServerAddress::Host { host: a, port: p }, ServerAddress::Host { host: b, port: q }) => {
            p == q && a.eq_ignore_ascii_case(b)
        }
        (a, b) => a == b,
    };
    if conf
        .groups
        .iter()
        .any(|group| group.kind == GroupKind::Implicit && group.servers.iter().any(same))
    {
        return;
    }
    conf.groups.push(UpstreamGroup {
        name,
        kind: GroupKind::Implicit,
        place: place.clone(),
        servers: vec![UpstreamServer {
            address,
            backup: false,
            down: false,
            resolve: false,
            place,
        }],
        lua_balancer: None,
    });
}

fn starts_with_ignore_case(text: &str, prefix: &str) -> bool {
    text.len() >= prefix.len() && text.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
}

#[derive(Debug, PartialEq, Eq)]
enum PassTarget {
    /// A host with no port: an upstream block's name, or a host on the scheme's port.
    Named(String),
    /// A host with a port, or a unix socket: never a block.
    Address {
        spelled: String,
        address: ServerAddress,
    },
    /// A host under a variable scheme: the block of that name, or unknown until a request.
    BlockOrVariable(String),
    Variable,
}

/// The target of a pass's address: `scheme://host[:port][/uri]`, `scheme://unix:/path:/uri`,
/// or, for the passes without a scheme, `host:port` and `unix:/path`.
fn pass_target(url: &str, schemes: &[(&str, u16)]) -> Result<PassTarget, String> {
    // A variable anywhere before the path (`$scheme://api`, `http://api$request_uri`, Kong's
    // `$upstream_scheme://kong_upstream$upstream_uri`): nginx evaluates the URL per request.
    // The literal host before the first variable still names a block if one has that name;
    // anything else is unknown until a request.
    if let Some((_, rest)) = url.split_once("://").filter(|(scheme, _)| scheme.contains('$')) {
        return Ok(variable_target(rest));
    }
    let rest = if schemes.is_empty() {
        url
    } else {
        let Some((scheme, _)) = schemes.iter().find(|(scheme, _)| starts_with_ignore_case(url, scheme)) else {
            let expected: Vec<&str> = schemes.iter().map(|(scheme, _)| *scheme).collect();
            return Err(format!("expected an address starting with {}", expected.join(" or ")));
        };
        &url[scheme.len()..]
    };
    if let Some(path) = rest.strip_prefix("unix:") {
        // With a scheme the socket's path ends at the `:` before the URI.
        let path = if schemes.is_empty() {
            path
        } else {
            path.split_once(':').map_or(path, |(path, _)| path)
        };
        if path.contains('$') {
            return Ok(PassTarget::Variable);
        }
        return Ok(PassTarget::Address {
            spelled: format!("unix:{path}"),
            address: ServerAddress::Unix(PathBuf::from(path)),
        });
    }
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    if authority.contains('$') {
        return Ok(variable_target(rest));
    }
    let (host, port) = split_host_port(authority)?;
    match port {
        None => Ok(PassTarget::Named(host)),
        Some(port) => Ok(PassTarget::Address {
            spelled: authority.to_string(),
            address: ServerAddress::Host { host, port },
        }),
    }
}

/// The target of an address with a variable before its path: the literal host in front of
/// the first `$`, if there is one and it has no port, may name a block.
fn variable_target(after_scheme: &str) -> PassTarget {
    let literal = after_scheme.split(['$', '/', '?']).next().unwrap_or_default();
    if literal.is_empty() || literal.contains([':', '[']) {
        return PassTarget::Variable;
    }
    PassTarget::BlockOrVariable(literal.to_string())
}

/// `host`, `host:port`, `[ipv6]`, `[ipv6]:port` -> the host (IPv6 without brackets) and the
/// port if given.
fn split_host_port(authority: &str) -> Result<(String, Option<u16>), String> {
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let Some((host, after)) = bracketed.split_once(']') else {
            return Err("an IPv6 address without its closing \"]\"".into());
        };
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(format!("unexpected {after:?} after the IPv6 address")),
            },
        }
    } else {
        match authority.split_once(':') {
            Some((_, port)) if port.contains(':') => {
                return Err("an IPv6 address must be in brackets: [::1]:8080".into())
            }
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("no host".into());
    }
    let port = match port {
        None => None,
        Some(text) => match text.parse::<u16>() {
            Ok(port) if port > 0 => Some(port),
            _ => return Err(format!("invalid port {text:?}: expected 1 to 65535")),
        },
    };
    Ok((host.to_string(), port))
}

/// `server address [parameters]` in an upstream block.
fn server_directive(args: &[String], place: Place) -> Result<UpstreamServer, ConfError> {
    let error = |message: String| ConfError {
        place: place.clone(),
        message,
    };
    let Some((address, parameters)) = args.split_first() else {
        return Err(error("server takes an address: server ADDRESS [parameters]".into()));
    };
    let address = if let Some(path) = address.strip_prefix("unix:") {
        ServerAddress::Unix(PathBuf::from(path))
    } else {
        if address.contains('$') {
            return Err(error(format!("server {address:?}: nginx takes no variables here")));
        }
        let (host, port) =
            split_host_port(address).map_err(|message| error(format!("server {address:?}: {message}")))?;
        ServerAddress::Host {
            host,
            port: port.unwrap_or(DEFAULT_PORT),
        }
    };
    let mut server = UpstreamServer {
        address,
        backup: false,
        down: false,
        resolve: false,
        place: place.clone(),
    };
    for parameter in parameters {
        match parameter.split_once('=').map_or(parameter.as_str(), |(name, _)| name) {
            "backup" => server.backup = true,
            "down" => server.down = true,
            "resolve" => server.resolve = true,
            "weight" | "max_conns" | "max_fails" | "fail_timeout" | "service" | "slow_start" | "route" | "drain" => {}
            _ => return Err(error(format!("server: invalid parameter {parameter:?}"))),
        }
    }
    Ok(server)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::sources::access_log::nginx_conf::directives;

    /// The directives of `text`, as if read from `file`.
    pub(crate) fn located(file: &str, text: &str) -> Vec<Located> {
        directives(text.as_bytes())
            .unwrap()
            .into_iter()
            .map(|directive| Located {
                file: PathBuf::from(file),
                directive,
            })
            .collect()
    }

    fn conf(text: &str) -> Result<UpstreamConf, ConfError> {
        upstreams_in(&located("nginx.conf", text))
    }

    fn host(host: &str, port: u16) -> ServerAddress {
        ServerAddress::Host {
            host: host.into(),
            port,
        }
    }

    /// Each group's name, kind and server addresses, in order.
    fn check(text: &str, expected: &[(&str, GroupKind, &[ServerAddress])]) {
        let got = conf(text).unwrap_or_else(|error| panic!("{text}: {error}"));
        let got: Vec<(String, GroupKind, Vec<ServerAddress>)> = got
            .groups
            .into_iter()
            .map(|group| {
                (
                    group.name,
                    group.kind,
                    group.servers.into_iter().map(|server| server.address).collect(),
                )
            })
            .collect();
        let expected: Vec<(String, GroupKind, Vec<ServerAddress>)> = expected
            .iter()
            .map(|(name, kind, servers)| (name.to_string(), *kind, servers.to_vec()))
            .collect();
        assert_eq!(got, expected, "{text}");
    }

    fn check_error(text: &str, line: usize, message: &str) {
        let error = conf(text).expect_err(text);
        assert_eq!(error.place.line, line, "{error}");
        assert!(error.to_string().contains(message), "{error} lacks {message:?}");
        assert!(error.to_string().starts_with("nginx.conf:"), "{error}");
    }

    use GroupKind::{Block, Implicit};

    /// The example of ngx_http_upstream_module's page, as written there.
    #[test]
    fn the_upstream_modules_example() {
        let text = "http {\n\
upstream backend {\n\
    server backend1.example.com       weight=5;\n\
    server backend2.example.com:8080;\n\
    server unix:/tmp/backend3;\n\
\n\
    server backup1.example.com:8080   backup;\n\
    server backup2.example.com:8080   backup;\n\
}\n\
\n\
server {\n\
    location / {\n\
        proxy_pass http://backend;\n\
    }\n\
}\n}\n";
        check(
            text,
            &[(
                "backend",
                Block,
                &[
                    host("backend1.example.com", 80),
                    host("backend2.example.com", 8080),
                    ServerAddress::Unix("/tmp/backend3".into()),
                    host("backup1.example.com", 8080),
                    host("backup2.example.com", 8080),
                ],
            )],
        );
        let groups = conf(text).unwrap().groups;
        let backups: Vec<bool> = groups[0].servers.iter().map(|server| server.backup).collect();
        assert_eq!(backups, [false, false, false, true, true]);
        assert_eq!(groups[0].place.line, 2);
        assert_eq!(groups[0].servers[4].place.line, 8);
    }

    /// The `server` directive's own page: its address forms and the parameters `down`,
    /// `resolve` and the ones that only tune balancing.
    #[test]
    fn server_addresses_and_parameters() {
        let text = "upstream u {\n zone u 64k;\n server 127.0.0.1:8080 max_fails=3 fail_timeout=30s;\n server [::1]:9000 down;\n server [2001:db8::1];\n server app.internal resolve max_conns=10 slow_start=30s;\n keepalive 16;\n}\n";
        check(
            text,
            &[(
                "u",
                Block,
                &[
                    host("127.0.0.1", 8080),
                    host("::1", 9000),
                    host("2001:db8::1", 80),
                    host("app.internal", 80),
                ],
            )],
        );
        let servers = &conf(text).unwrap().groups[0].servers;
        let flags: Vec<(bool, bool)> = servers.iter().map(|s| (s.down, s.resolve)).collect();
        assert_eq!(flags, [(false, false), (true, false), (false, false), (false, true)]);
    }

    #[test]
    fn passes_name_blocks_or_make_their_own_group() {
        check(
            "http {\n\
 server {\n\
  location /api/ { proxy_pass http://API/v1/; }\n\
  location /web/ { proxy_pass http://127.0.0.1:8081; }\n\
  location /web2/ { proxy_pass http://127.0.0.1:8081/two/; }\n\
  location /plain/ { proxy_pass http://static.internal; }\n\
  location /tls/ { proxy_pass https://secure.internal; }\n\
  location /v6/ { proxy_pass http://[::1]:8082; }\n\
  location /sock/ { proxy_pass http://unix:/run/app.sock:/uri/; }\n\
  location /grpc { grpc_pass grpc://127.0.0.1:50051; }\n\
  location ~ \\.php$ { fastcgi_pass 127.0.0.1:9000; }\n\
  location /dyn/ { proxy_pass http://$backend; }\n\
 }\n\
 upstream api { server 10.0.0.1:8080; }\n\
}\n",
            &[
                ("api", Block, &[host("10.0.0.1", 8080)]),
                ("127.0.0.1:8081", Implicit, &[host("127.0.0.1", 8081)]),
                ("static.internal", Implicit, &[host("static.internal", 80)]),
                ("secure.internal", Implicit, &[host("secure.internal", 443)]),
                ("[::1]:8082", Implicit, &[host("::1", 8082)]),
                (
                    "unix:/run/app.sock",
                    Implicit,
                    &[ServerAddress::Unix("/run/app.sock".into())],
                ),
                ("127.0.0.1:50051", Implicit, &[host("127.0.0.1", 50051)]),
                ("127.0.0.1:9000", Implicit, &[host("127.0.0.1", 9000)]),
            ],
        );
        let dynamic = conf("http { server { location / { proxy_pass http://$backend; } } }")
            .unwrap()
            .dynamic;
        assert_eq!(dynamic.len(), 1);
        // Kong's `$upstream_scheme://kong_upstream$upstream_uri` names the block.
        let kong = conf("upstream kong_upstream { server 0.0.0.1; }\nserver { location / { proxy_pass $upstream_scheme://kong_upstream$upstream_uri; } }\n").unwrap();
        assert_eq!((kong.groups.len(), kong.dynamic.len()), (1, 0));
        let request_uri =
            conf("upstream api { server 10.0.0.1; }\nserver { location / { proxy_pass http://api$request_uri; } }\n")
                .unwrap();
        assert_eq!((request_uri.groups.len(), request_uri.dynamic.len()), (1, 0));
        let elsewhere = conf("server { location / { proxy_pass $scheme://other.internal; } }\n").unwrap();
        assert_eq!((elsewhere.groups.len(), elsewhere.dynamic.len()), (0, 1));
    }

    #[test]
    fn stream_upstreams_are_not_http_requests() {
        check(
            "stream {\n upstream dns { server 10.0.0.53:53; }\n server { listen 53; proxy_pass dns; }\n}\nhttp { upstream web { server 10.0.0.80; } }\n",
            &[("web", Block, &[host("10.0.0.80", 80)])],
        );
    }

    #[test]
    fn lua_balancers_are_noted() {
        let groups = conf("http {\n upstream kong_upstream {\n  server 0.0.0.1;\n  balancer_by_lua_block {\n   Kong.balancer()\n  }\n }\n}\n")
            .unwrap()
            .groups;
        assert_eq!(groups[0].lua_balancer.as_ref().map(|place| place.line), Some(4));
    }

    #[test]
    fn what_nginx_refuses_names_the_line() {
        check_error(
            "http {\n upstream a { server 10.0.0.1; }\n upstream A { server 10.0.0.2; }\n}\n",
            3,
            "duplicate upstream \"A\" (the first is at nginx.conf:2)",
        );
        check_error(
            "upstream a {\n server 10.0.0.1 weight=2 sticky;\n}\n",
            2,
            "invalid parameter \"sticky\"",
        );
        check_error("upstream a {\n server 10.0.0.1:0;\n}\n", 2, "invalid port \"0\"");
        check_error("upstream a {\n server 10.0.0.1:http;\n}\n", 2, "invalid port \"http\"");
        check_error("upstream a {\n server ::1;\n}\n", 2, "must be in brackets");
        check_error("upstream a {\n server;\n}\n", 2, "takes an address");
        check_error("upstream a b { }\n", 1, "one name");
        check_error(
            "upstream a { server 10.0.0.1; }\nserver {\n location / { proxy_pass http://a:8080; }\n}\n",
            3,
            "gives a port to upstream \"a\"",
        );
        check_error(
            "server {\n location / { proxy_pass 10.0.0.1:8080; }\n}\n",
            2,
            "expected an address starting with http:// or https://",
        );
        check_error("server {\n location / { fastcgi_pass php; }\n}\n", 2, "no port");
    }

    #[test]
    fn groups_close_with_their_block() {
        check(
            "http {\n upstream a {\n  server 10.0.0.1;\n }\n server { listen 80; server_name x; }\n upstream b { server 10.0.0.2; }\n}\n",
            &[("a", Block, &[host("10.0.0.1", 80)]), ("b", Block, &[host("10.0.0.2", 80)])],
        );
    }
}
