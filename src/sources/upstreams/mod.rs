//! Requests waiting at each upstream (issue 25), from nginx's TCP connections to its
//! upstreams. Not wired into the sampler yet.
//!
//! - [`conf`]: which groups nginx.conf defines (`upstream NAME {}` blocks, `proxy_pass`
//!   targets), pure.
//! - [`map`]: group names checked as CloudWatch dimension values, server names resolved
//!   (again when the caller asks), addresses -> groups, and the per-group count.
//! - [`signal`]: the sock_diag dump of ESTABLISHED sockets with tcp_info, decoded (pure);
//!   a connection is waiting when nginx sent after it last received (see there for ties).
//! - [`UpstreamReader`]: the dump on accept_queue's netlink socket.
//!
//! The sampler's use, once wired:
//! ```text
//! let mut map = UpstreamMap::from_conf(&nginx_conf)?;      // startup: config errors
//! for problem in map.resolve().await { warn!(%problem) }   // startup, then on a timer
//! let mut reader = UpstreamReader::open(owner_uid)?;
//! let counts = reader.sample(&map)?;                       // each sample
//! ```

pub mod conf;
pub mod map;
pub mod signal;

use netlink_packet_sock_diag::inet::{ExtensionFlags, StateFlags};

use crate::sources::accept_queue::sock_diag::{SockDiagError, SockDiagReader};
use crate::sources::access_log::nginx_conf::NginxConfError;

pub use conf::{ConfError, Place};
pub use map::{ConnectionCounts, UpstreamCounts, UpstreamMap};
pub use signal::TcpConnection;

/// Why the groups cannot be read or used: each names the file and line.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    #[error(transparent)]
    NginxConf(#[from] NginxConfError),
    #[error(transparent)]
    Conf(#[from] ConfError),
    #[error("{place}: upstream {group:?}: {message}")]
    Group {
        group: String,
        place: Place,
        message: String,
    },
}

/// The netlink socket and the connections of the last dump (reused between samples).
pub struct UpstreamReader {
    diag: SockDiagReader,
    owner: Option<u32>,
    connections: Vec<TcpConnection>,
}

impl UpstreamReader {
    /// `owner`: count only sockets of this uid (nginx's worker `user`). The dump tells a
    /// socket's owner uid, not its process: without it, another process of the host that
    /// connects to the same addresses is counted too.
    pub fn open(owner: Option<u32>) -> Result<Self, SockDiagError> {
        Ok(UpstreamReader {
            diag: SockDiagReader::open()?,
            owner,
            connections: Vec::new(),
        })
    }

    /// Dump every ESTABLISHED TCP socket of the host (both families) with its tcp_info.
    pub fn dump(&mut self) -> Result<&[TcpConnection], SockDiagError> {
        self.connections.clear();
        let connections = &mut self.connections;
        self.diag.dump(
            StateFlags::ESTABLISHED,
            ExtensionFlags::INFO,
            |family, sequence_number, datagram| {
                signal::connections_in_datagram(datagram, family, sequence_number, connections)
            },
        )?;
        Ok(&self.connections)
    }

    /// One sample: the connections to each group of `map`, waiting and idle.
    pub fn sample(&mut self, map: &UpstreamMap) -> Result<UpstreamCounts, SockDiagError> {
        let owner = self.owner;
        let connections = self.dump()?;
        Ok(map.count(connections, owner))
    }
}
