//! Addresses -> upstream groups: the groups nginx.conf defines, their server names resolved
//! (again whenever the caller asks: ECS tasks come and go), and the per-group count of a
//! dump's connections.
//!
//! **A connection is never merged into a group it may not belong to**: an address two groups
//! claim (two names resolving to the same load balancer) is counted under [`SHARED`], and a
//! connection to a port some group uses but an address no group claims (a task that DNS no
//! longer or not yet lists) under [`UNCLAIMED`]. Connections to other ports are not upstream
//! traffic (clients' connections to nginx, anything else on the host) and are not counted.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use super::conf::{GroupKind, Place, ServerAddress, UpstreamConf, UpstreamGroup};
use super::signal::{canonical, TcpConnection};
use super::UpstreamError;

/// Addresses one group may resolve to. An ECS service rarely runs more tasks than this behind
/// one proxy; a name that resolves to more is more likely a wildcard or the wrong name, and
/// every address is a map entry the sampler looks up each second.
pub(crate) const MAX_ADDRESSES_PER_GROUP: usize = 256;

/// CloudWatch's dimension value: 1 to 1024 characters with at least one that is not
/// whitespace, ASCII only (PutMetricData's `Dimension` reference).
/// <https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_Dimension.html>
pub(crate) const MAX_GROUP_NAME_LEN: usize = crate::limits::MAX_DIMENSION_VALUE_LEN;

/// The key of connections to an upstream port at an address no group claims.
pub(crate) const UNCLAIMED: &str = "(unclaimed)";
/// The key of connections to an address more than one group claims.
pub(crate) const SHARED: &str = "(shared)";

/// One lookup of a server name; getaddrinfo has its own timeouts, but a resolver that never
/// answers must not hold a re-resolution forever.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a name cannot be a CloudWatch dimension value, if it cannot.
pub(crate) fn dimension_value_problem(name: &str) -> Option<String> {
    if name.trim().is_empty() {
        return Some("is empty".into());
    }
    if name.len() > MAX_GROUP_NAME_LEN {
        return Some(format!("is longer than {MAX_GROUP_NAME_LEN} characters"));
    }
    if name.chars().any(|c| !c.is_ascii() || c.is_ascii_control()) {
        return Some("is not printable ASCII".into());
    }
    None
}

/// A group and the addresses its servers resolved to, per server (a server whose name does
/// not resolve keeps what it last resolved to).
#[derive(Debug, Clone)]
struct Group {
    name: Arc<str>,
    spec: UpstreamGroup,
    resolved: Vec<Vec<SocketAddr>>,
}

impl Group {
    fn addresses(&self) -> impl Iterator<Item = SocketAddr> + '_ {
        self.resolved.iter().flatten().copied()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claim {
    One(usize),
    Shared,
}

/// Where a connection's destination belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Group(usize),
    Shared,
    Unclaimed,
    NotUpstream,
}

/// The groups of one nginx.conf and the addresses they claim.
#[derive(Debug, Clone)]
pub struct UpstreamMap {
    groups: Vec<Group>,
    claims: HashMap<SocketAddr, Claim>,
    ports: HashSet<u16>,
    dynamic: Vec<Place>,
}

/// The result of one lookup, for [`UpstreamMap::apply`]: group, server, addresses or error.
pub(crate) type Lookup = (usize, usize, Result<Vec<SocketAddr>, String>);

impl UpstreamMap {
    /// Read nginx.conf (or saved `nginx -T` output) and check its groups. Nothing is resolved
    /// yet: call [`UpstreamMap::resolve`].
    pub fn from_conf(nginx_conf: &std::path::Path) -> Result<Self, UpstreamError> {
        let directives = crate::sources::access_log::nginx_conf::all_directives(nginx_conf)?;
        Self::new(super::conf::upstreams_in(&directives)?)
    }

    /// Check the groups: names CloudWatch takes, not our own keys, servers under the cap.
    /// IP literals are claimed at once.
    pub fn new(conf: UpstreamConf) -> Result<Self, UpstreamError> {
        let mut groups = Vec::with_capacity(conf.groups.len());
        for spec in conf.groups {
            let refuse = |message: String| UpstreamError::Group {
                group: spec.name.clone(),
                place: spec.place.clone(),
                message,
            };
            if let Some(problem) = dimension_value_problem(&spec.name) {
                return Err(refuse(format!(
                    "the name {problem}, and CloudWatch takes 1 to {MAX_GROUP_NAME_LEN} printable ASCII characters as a dimension value"
                )));
            }
            if spec.name == UNCLAIMED || spec.name == SHARED {
                return Err(refuse(
                    "the name is the exporter's own key for connections no single group claims; rename the upstream block".into(),
                ));
            }
            if spec.servers.len() > MAX_ADDRESSES_PER_GROUP {
                return Err(refuse(format!(
                    "{} servers, more than the {MAX_ADDRESSES_PER_GROUP} addresses a group may have",
                    spec.servers.len()
                )));
            }
            let resolved = spec
                .servers
                .iter()
                .map(|server| match &server.address {
                    ServerAddress::Host { host, port } => host
                        .parse::<std::net::IpAddr>()
                        .map(|ip| vec![canonical(SocketAddr::new(ip, *port))])
                        .unwrap_or_default(),
                    ServerAddress::Unix(_) => Vec::new(),
                })
                .collect();
            groups.push(Group {
                name: Arc::from(spec.name.as_str()),
                spec,
                resolved,
            });
        }
        let mut map = UpstreamMap {
            groups,
            claims: HashMap::new(),
            ports: HashSet::new(),
            dynamic: conf.dynamic,
        };
        map.rebuild();
        Ok(map)
    }

    /// Look every server name up again (IP literals need no lookup) and apply the answers.
    /// Returns what failed, each naming its group, file and line; the groups it names keep
    /// the addresses they had.
    pub async fn resolve(&mut self) -> Vec<UpstreamError> {
        let mut lookups: Vec<Lookup> = Vec::new();
        for (group_index, group) in self.groups.iter().enumerate() {
            for (server_index, server) in group.spec.servers.iter().enumerate() {
                let ServerAddress::Host { host, port } = &server.address else {
                    continue;
                };
                if host.parse::<std::net::IpAddr>().is_ok() {
                    continue;
                }
                let answer =
                    match tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host.as_str(), *port))).await {
                        Ok(Ok(addresses)) => Ok(addresses.map(canonical).collect()),
                        Ok(Err(error)) => Err(error.to_string()),
                        Err(_) => Err(format!("no answer in {}s", LOOKUP_TIMEOUT.as_secs())),
                    };
                lookups.push((group_index, server_index, answer));
            }
        }
        self.apply(lookups)
    }

    /// Apply lookups (pure: [`UpstreamMap::resolve`] feeds it). A failed lookup keeps the
    /// server's previous addresses; a group that would exceed [`MAX_ADDRESSES_PER_GROUP`]
    /// keeps all of its previous addresses.
    pub fn apply(&mut self, lookups: Vec<Lookup>) -> Vec<UpstreamError> {
        let mut problems = Vec::new();
        let mut proposed: Vec<Vec<Vec<SocketAddr>>> = self.groups.iter().map(|g| g.resolved.clone()).collect();
        for (group_index, server_index, answer) in lookups {
            let Some(group) = self.groups.get(group_index) else {
                continue;
            };
            let Some(server) = group.spec.servers.get(server_index) else {
                continue;
            };
            match answer {
                Ok(mut addresses) => {
                    addresses.sort();
                    addresses.dedup();
                    proposed[group_index][server_index] = addresses;
                }
                Err(message) => {
                    let host = match &server.address {
                        ServerAddress::Host { host, .. } => host.as_str(),
                        ServerAddress::Unix(_) => "",
                    };
                    problems.push(UpstreamError::Group {
                        group: group.spec.name.clone(),
                        place: server.place.clone(),
                        message: format!("cannot resolve {host}: {message}"),
                    });
                }
            }
        }
        for (group, resolved) in self.groups.iter_mut().zip(proposed) {
            let count: HashSet<&SocketAddr> = resolved.iter().flatten().collect();
            if count.len() > MAX_ADDRESSES_PER_GROUP {
                problems.push(UpstreamError::Group {
                    group: group.spec.name.clone(),
                    place: group.spec.place.clone(),
                    message: format!(
                        "resolves to {} addresses, more than the {MAX_ADDRESSES_PER_GROUP} a group may have",
                        count.len()
                    ),
                });
                continue;
            }
            group.resolved = resolved;
        }
        self.rebuild();
        problems
    }

    fn rebuild(&mut self) {
        self.claims.clear();
        self.ports.clear();
        for (index, group) in self.groups.iter().enumerate() {
            for server in &group.spec.servers {
                if let ServerAddress::Host { port, .. } = server.address {
                    self.ports.insert(port);
                }
            }
            for address in group.addresses() {
                self.claims
                    .entry(address)
                    .and_modify(|claim| {
                        if *claim != Claim::One(index) {
                            *claim = Claim::Shared;
                        }
                    })
                    .or_insert(Claim::One(index));
            }
        }
    }

    /// Where a connection to `destination` is counted.
    pub fn slot(&self, destination: SocketAddr) -> Slot {
        match self.claims.get(&canonical(destination)) {
            Some(Claim::One(index)) => Slot::Group(*index),
            Some(Claim::Shared) => Slot::Shared,
            None if self.ports.contains(&destination.port()) => Slot::Unclaimed,
            None => Slot::NotUpstream,
        }
    }

    /// The group names, in nginx.conf's order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.groups.iter().map(|group| &*group.name)
    }

    /// Each group's name, where it is defined, whether it is a block, and the addresses it
    /// claims now (sorted).
    pub fn groups(&self) -> Vec<GroupView<'_>> {
        self.groups
            .iter()
            .map(|group| {
                let mut addresses: Vec<SocketAddr> = group.addresses().collect();
                addresses.sort();
                addresses.dedup();
                GroupView {
                    name: &group.name,
                    place: &group.spec.place,
                    block: group.spec.kind == GroupKind::Block,
                    addresses,
                    unix_sockets: group
                        .spec
                        .servers
                        .iter()
                        .filter(|server| matches!(server.address, ServerAddress::Unix(_)))
                        .count(),
                    lua_balancer: group.spec.lua_balancer.as_ref(),
                }
            })
            .collect()
    }

    /// Addresses more than one group claims, with the groups' names.
    #[cfg(test)]
    pub(crate) fn shared_addresses(&self) -> Vec<(SocketAddr, Vec<&str>)> {
        let mut shared: Vec<(SocketAddr, Vec<&str>)> = self
            .claims
            .iter()
            .filter(|(_, claim)| **claim == Claim::Shared)
            .map(|(address, _)| {
                let names = self
                    .groups
                    .iter()
                    .filter(|group| group.addresses().any(|a| a == *address))
                    .map(|group| &*group.name)
                    .collect();
                (*address, names)
            })
            .collect();
        shared.sort();
        shared
    }

    /// Passes whose target holds a variable (nginx picks the group per request).
    pub fn dynamic_passes(&self) -> &[Place] {
        &self.dynamic
    }

    /// Count `connections` per group (only those owned by `owner`, when given).
    pub fn count(&self, connections: &[TcpConnection], owner: Option<u32>) -> UpstreamCounts {
        let mut counts = UpstreamCounts {
            groups: self
                .groups
                .iter()
                .map(|group| (Arc::clone(&group.name), ConnectionCounts::default()))
                .collect(),
            shared: ConnectionCounts::default(),
            unclaimed: ConnectionCounts::default(),
        };
        for connection in connections {
            if owner.is_some_and(|uid| uid != connection.uid) {
                continue;
            }
            let counts = match self.slot(connection.destination) {
                Slot::Group(index) => &mut counts.groups[index].1,
                Slot::Shared => &mut counts.shared,
                Slot::Unclaimed => &mut counts.unclaimed,
                Slot::NotUpstream => continue,
            };
            if connection.waiting() {
                counts.waiting += 1;
            } else {
                counts.idle += 1;
            }
        }
        counts
    }
}

/// What [`UpstreamMap::groups`] shows of a group (for `check`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView<'a> {
    pub name: &'a str,
    pub place: &'a Place,
    pub block: bool,
    pub addresses: Vec<SocketAddr>,
    /// `server unix:...` entries, which a TCP dump cannot see.
    pub unix_sockets: usize,
    pub lua_balancer: Option<&'a Place>,
}

/// Connections to one group in one dump.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ConnectionCounts {
    /// nginx sent at or after it last received: a request waiting on the upstream.
    pub waiting: u32,
    /// Pooled keep-alive connections, and responses arriving.
    pub idle: u32,
}

/// One sample: every group in nginx.conf's order (zero when nothing is open to it), and the
/// two keys no group owns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamCounts {
    pub groups: Vec<(Arc<str>, ConnectionCounts)>,
    /// Connections to addresses more than one group claims ([`SHARED`]).
    pub shared: ConnectionCounts,
    /// Connections to an upstream port at an address no group claims ([`UNCLAIMED`]).
    pub unclaimed: ConnectionCounts,
}

impl UpstreamCounts {
    pub fn group(&self, name: &str) -> Option<ConnectionCounts> {
        self.groups
            .iter()
            .find(|(group, _)| &**group == name)
            .map(|(_, counts)| *counts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map_of(text: &str) -> Result<UpstreamMap, UpstreamError> {
        let located = super::super::conf::tests::located("/etc/nginx/nginx.conf", text);
        UpstreamMap::new(super::super::conf::upstreams_in(&located)?)
    }

    fn connection(destination: &str, sent: u32, received: u32) -> TcpConnection {
        TcpConnection {
            source: "127.0.0.1:50000".parse().unwrap(),
            destination: destination.parse().unwrap(),
            uid: 33,
            last_data_sent_ms: sent,
            last_data_recv_ms: received,
            bytes_received: Some(if sent == received { 0 } else { 900 }),
        }
    }

    fn counts(waiting: u32, idle: u32) -> ConnectionCounts {
        ConnectionCounts { waiting, idle }
    }

    const TWO: &str = "http {\n upstream api {\n  server 127.0.0.1:8080;\n  keepalive 16;\n }\n server { location /web/ { proxy_pass http://127.0.0.1:8081; } location /api/ { proxy_pass http://api; } }\n}\n";

    /// The issue's measurement: 3 held at api on pooled connections, 3 idle pooled, 2 held
    /// at web on fresh connections; nginx's client connection and the backends' own sockets
    /// are not upstream connections.
    #[test]
    fn counts_the_issues_measurement() {
        let map = map_of(TWO).unwrap();
        let dump = [
            connection("127.0.0.1:8080", 1992, 2524),
            connection("127.0.0.1:8080", 1988, 2524),
            connection("127.0.0.1:8080", 2000, 2524),
            connection("127.0.0.1:8080", 2828, 2528),
            connection("127.0.0.1:8080", 2828, 2528),
            connection("127.0.0.1:8080", 2828, 2528),
            connection("127.0.0.1:8081", 2000, 2000),
            connection("127.0.0.1:8081", 2000, 2000),
            // The backends' side of the same connections, to nginx's ephemeral ports.
            connection("127.0.0.1:41234", 2524, 1992),
            // A client's connection to nginx.
            connection("10.1.2.3:55555", 10, 10),
        ];
        let got = map.count(&dump, None);
        assert_eq!(got.group("api"), Some(counts(3, 3)));
        assert_eq!(got.group("127.0.0.1:8081"), Some(counts(2, 0)));
        assert_eq!((got.shared, got.unclaimed), (counts(0, 0), counts(0, 0)));
        let names: Vec<&str> = map.names().collect();
        assert_eq!(names, ["api", "127.0.0.1:8081"]);
    }

    #[test]
    fn only_the_owners_sockets_when_asked() {
        let map = map_of(TWO).unwrap();
        let mut other = connection("127.0.0.1:8080", 1, 2);
        other.uid = 1000;
        let dump = [connection("127.0.0.1:8080", 1, 2), other];
        assert_eq!(map.count(&dump, Some(33)).group("api"), Some(counts(1, 0)));
        assert_eq!(map.count(&dump, None).group("api"), Some(counts(2, 0)));
    }

    #[test]
    fn unclaimed_and_shared_addresses_are_never_merged() {
        let mut map = map_of(
            "upstream a { server a.internal:8080; }\nupstream b { server b.internal:8080; server 10.0.0.9:9090; }\n",
        )
        .unwrap();
        let problems = map.apply(vec![
            (
                0,
                0,
                Ok(vec!["10.0.0.1:8080".parse().unwrap(), "10.0.0.2:8080".parse().unwrap()]),
            ),
            (
                1,
                0,
                Ok(vec!["10.0.0.2:8080".parse().unwrap(), "10.0.0.3:8080".parse().unwrap()]),
            ),
        ]);
        assert!(problems.is_empty(), "{problems:?}");
        let dump = [
            connection("10.0.0.1:8080", 1, 1),
            connection("10.0.0.2:8080", 1, 1),
            connection("10.0.0.3:8080", 5, 1),
            connection("10.0.0.9:9090", 1, 1),
            connection("10.0.0.4:8080", 1, 1), // a task DNS does not list (yet)
            connection("10.0.0.4:9090", 1, 1),
            connection("10.0.0.4:443", 1, 1), // not an upstream port
        ];
        let got = map.count(&dump, None);
        assert_eq!(got.group("a"), Some(counts(1, 0)));
        assert_eq!(got.group("b"), Some(counts(1, 1)));
        assert_eq!(got.shared, counts(1, 0));
        assert_eq!(got.unclaimed, counts(2, 0));
        assert_eq!(
            map.shared_addresses(),
            [("10.0.0.2:8080".parse().unwrap(), vec!["a", "b"])]
        );
    }

    #[test]
    fn re_resolution_replaces_addresses_and_keeps_them_on_failure() {
        let mut map = map_of("upstream a {\n server a.internal:8080;\n}\n").unwrap();
        assert_eq!(map.slot("10.0.0.1:8080".parse().unwrap()), Slot::Unclaimed);
        map.apply(vec![(0, 0, Ok(vec!["10.0.0.1:8080".parse().unwrap()]))]);
        assert_eq!(map.slot("10.0.0.1:8080".parse().unwrap()), Slot::Group(0));
        // A task replaced: the new address is the group's, the old one no longer is.
        map.apply(vec![(0, 0, Ok(vec!["10.0.0.2:8080".parse().unwrap()]))]);
        assert_eq!(map.slot("10.0.0.1:8080".parse().unwrap()), Slot::Unclaimed);
        assert_eq!(map.slot("10.0.0.2:8080".parse().unwrap()), Slot::Group(0));
        // DNS fails: the last answer stands, and the failure names the server's line.
        let problems = map.apply(vec![(0, 0, Err("Name or service not known".into()))]);
        assert_eq!(map.slot("10.0.0.2:8080".parse().unwrap()), Slot::Group(0));
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            ["/etc/nginx/nginx.conf:2: upstream \"a\": cannot resolve a.internal: Name or service not known"]
        );
    }

    #[test]
    fn a_group_over_the_cap_names_its_file_and_line() {
        let mut map = map_of("\nupstream big {\n server big.internal;\n}\n").unwrap();
        let many: Vec<SocketAddr> = (0..=MAX_ADDRESSES_PER_GROUP)
            .map(|i| SocketAddr::from(([10, 0, (i / 256) as u8, (i % 256) as u8], 80)))
            .collect();
        let problems = map.apply(vec![(0, 0, Ok(many))]);
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert_eq!(
            text,
            ["/etc/nginx/nginx.conf:2: upstream \"big\": resolves to 257 addresses, more than the 256 a group may have"]
        );
        assert_eq!(map.slot("10.0.0.1:80".parse().unwrap()), Slot::Unclaimed);

        let servers: String = (0..=MAX_ADDRESSES_PER_GROUP)
            .map(|i| format!(" server 10.1.{}.{};\n", i / 256, i % 256))
            .collect();
        let error = map_of(&format!("upstream big {{\n{servers}}}\n"))
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "/etc/nginx/nginx.conf:1: upstream \"big\": 257 servers, more than the 256 addresses a group may have"
        );
    }

    /// PutMetricData's Dimension: Value, 1 to 1024 characters.
    #[test]
    fn group_names_must_be_dimension_values() {
        let long = "a".repeat(1025);
        let error = map_of(&format!("upstream {long} {{ server 10.0.0.1; }}\n"))
            .unwrap_err()
            .to_string();
        assert!(error.contains("longer than 1024 characters"), "{error}");
        assert!(error.starts_with("/etc/nginx/nginx.conf:1: upstream"), "{error}");
        assert!(map_of(&format!("upstream {} {{ server 10.0.0.1; }}\n", "a".repeat(1024))).is_ok());
        let error = map_of("upstream \"caf\u{e9}\" { server 10.0.0.1; }\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("not printable ASCII"), "{error}");
        let error = map_of("upstream \" \" { server 10.0.0.1; }\n").unwrap_err().to_string();
        assert!(error.contains("is empty"), "{error}");
        let error = map_of("upstream \"(shared)\" { server 10.0.0.1; }\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("the exporter's own key"), "{error}");
    }

    #[tokio::test]
    async fn resolves_names_through_the_system_resolver() {
        // localhost is in /etc/hosts: no network.
        let mut map = map_of("upstream local { server localhost:8080; }\n").unwrap();
        let problems = map.resolve().await;
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(map.slot("127.0.0.1:8080".parse().unwrap()), Slot::Group(0));
    }
}
