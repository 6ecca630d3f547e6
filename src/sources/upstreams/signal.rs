//! The live signal: nginx's TCP connections to its upstreams, from a sock_diag dump of
//! ESTABLISHED sockets with `INET_DIAG_INFO` (the kernel's `struct tcp_info`).
//!
//! **A connection is waiting when nginx sent on it after it last received**
//! (`tcpi_last_data_sent < tcpi_last_data_recv`, both in ms ago): a request went out and no
//! answer has come back since. A pooled keep-alive connection received its last response
//! after it sent its last request, so it is idle. Measured on nginx 1.22 (issue 25): busy
//! `1992 < 2524`, idle pooled `2828 > 2528`.
//!
//! **A tie is waiting only on a connection that has received nothing** (`tcpi_bytes_received`
//! is 0): the clocks count jiffies (4 ms at HZ=250), so a fresh connection's handshake and
//! nginx's request often fall in one tick (issue 25: `2000 = 2000`, busy), and so do a request
//! and its answer from a fast upstream, which then idles in the pool with equal clocks
//! (tests/upstreams.rs measured one such phantom after 20 fast answers). A pooled connection
//! reused within the tick its last answer arrived in is missed until the next answer.
//!
//! What it sees and misses (tests/upstreams.rs measures the first four on nginx):
//! - a request held at the upstream, on a fresh or a pooled connection: waiting;
//! - a response being streamed (data arriving after the request): not waiting;
//! - a request body still being sent (`proxy_request_buffering off`, or a large body): waiting,
//!   as the request is in flight;
//! - an upstream that sent its headers and then stalls: not waiting (data came after the
//!   request): missed, as is any response that has started;
//! - another process of the host with connections to the same addresses: counted unless the
//!   owner uid is given ([`crate::sources::upstreams::UpstreamReader::open`]); the dump tells
//!   a socket's uid, not its process;
//! - HTTP/2 and gRPC: nginx's upstream side is HTTP/1.x for `proxy_pass`, and `grpc_pass`
//!   sends one request per upstream connection at a time (from ngx_http_grpc_module: one
//!   stream per connection, reused by keepalive afterwards; not measured here), so the count is still
//!   requests waiting. A streaming RPC is waiting while the client streams (nginx sends) and
//!   not while the server streams (data arrives); a long-lived bidirectional stream is either,
//!   by whichever side spoke last.
//!
//! The decoder and the counting are pure; the socket is accept_queue's [`SockDiagReader`].
//!
//! [`SockDiagReader`]: crate::sources::accept_queue::sock_diag::SockDiagReader

use std::net::{IpAddr, SocketAddr};

use netlink_packet_sock_diag::constants::TCP_ESTABLISHED;
use netlink_packet_sock_diag::inet::nlas::Nla;
use netlink_packet_sock_diag::inet::InetResponse;

use crate::sources::accept_queue::sock_diag::{visit_dump_datagram, Dump, DumpError};

/// Offsets in `struct tcp_info` (linux/tcp.h, unchanged since 2.6): eight u8 fields, then
/// u32s: rto, ato, snd_mss, rcv_mss, unacked, sacked, lost, retrans, fackets (8 + 9 * 4 = 44),
/// `tcpi_last_data_sent` (44), `tcpi_last_ack_sent` (48), `tcpi_last_data_recv` (52).
const LAST_DATA_SENT: usize = 44;
const LAST_DATA_RECV: usize = 52;
/// ... rcv_rtt (92), rcv_space, total_retrans, u64 pacing_rate (104), max_pacing_rate,
/// bytes_acked (120), `tcpi_bytes_received` (128, u64; since Linux 4.1).
const BYTES_RECEIVED: usize = 128;

/// One ESTABLISHED TCP socket: where it goes, who owns it, and its two data clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpConnection {
    pub source: SocketAddr,
    pub(crate) destination: SocketAddr,
    /// The socket's owner (`sock_i_uid`: the uid of the process that created it; nginx's
    /// workers, which make the upstream connections, run as nginx's `user`).
    pub uid: u32,
    /// ms since the socket last sent data (not counting pure ACKs).
    pub(crate) last_data_sent_ms: u32,
    /// ms since the socket last received data.
    pub(crate) last_data_recv_ms: u32,
    /// Payload bytes received so far (`None` before Linux 4.1, whose tcp_info stops sooner).
    pub(crate) bytes_received: Option<u64>,
}

impl TcpConnection {
    /// Sent after it last received: a request is out and its answer has not started. In a
    /// tie (one clock tick), only a connection that has received nothing is waiting (a
    /// kernel too old to say counts the tie as waiting, the first rule).
    pub fn waiting(&self) -> bool {
        match self.last_data_sent_ms.cmp(&self.last_data_recv_ms) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Greater => false,
            std::cmp::Ordering::Equal => self.bytes_received.is_none_or(|bytes| bytes == 0),
        }
    }
}

/// An IPv4 peer of an AF_INET6 socket shows as `::ffff:a.b.c.d`; the map holds it as IPv4.
pub(crate) fn canonical(address: SocketAddr) -> SocketAddr {
    match address.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), address.port()),
            None => address,
        },
        IpAddr::V4(_) => address,
    }
}

/// Add the ESTABLISHED sockets in one datagram of the reply to the dump request
/// `(family, sequence_number)` to `out`. A socket without a `tcp_info` long enough to hold
/// the two clocks is an error: the kernel dropped the attribute, and a count without it would
/// be a guess.
pub(crate) fn connections_in_datagram(
    datagram: &[u8],
    family: u8,
    sequence_number: u32,
    out: &mut Vec<TcpConnection>,
) -> Result<Dump, DumpError> {
    let mut missing_info = false;
    let dump = visit_dump_datagram(datagram, family, sequence_number, |response| {
        // The request asked for ESTABLISHED only; a kernel that ignored the filter must not
        // have a socket in another state counted.
        if response.header.state != TCP_ESTABLISHED {
            return;
        }
        match connection(response) {
            Some(connection) => out.push(connection),
            None => missing_info = true,
        }
    })?;
    if missing_info {
        return Err(DumpError::Malformed("an ESTABLISHED socket without tcp_info".into()));
    }
    Ok(dump)
}

fn connection(response: &InetResponse) -> Option<TcpConnection> {
    let info = response.nlas.iter().find_map(|nla| match nla {
        Nla::TcpInfo(bytes) => Some(bytes),
        _ => None,
    })?;
    // tcp_info is in host byte order.
    let field = |at: usize| -> Option<u32> { Some(u32::from_ne_bytes(info.get(at..at + 4)?.try_into().ok()?)) };
    let id = &response.header.socket_id;
    Some(TcpConnection {
        source: canonical(SocketAddr::new(id.source_address, id.source_port)),
        destination: canonical(SocketAddr::new(id.destination_address, id.destination_port)),
        uid: response.header.uid,
        last_data_sent_ms: field(LAST_DATA_SENT)?,
        last_data_recv_ms: field(LAST_DATA_RECV)?,
        bytes_received: info
            .get(BYTES_RECEIVED..BYTES_RECEIVED + 8)
            .and_then(|bytes| Some(u64::from_ne_bytes(bytes.try_into().ok()?))),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6};

    use crate::sources::accept_queue::sock_diag::tests::{done, socket_reply, Socket};

    /// INET_DIAG_INFO, linux/inet_diag.h.
    const INET_DIAG_INFO: u16 = 2;
    const TCP_LISTEN: u8 = 10;

    struct Row {
        socket: Socket,
        info: Option<Vec<u8>>,
    }

    /// A tcp_info of the kernel's current size (232 bytes on 6.x) with the two clocks set.
    fn tcp_info(last_data_sent: u32, last_data_recv: u32) -> Vec<u8> {
        let mut info = vec![0u8; 232];
        info[128..136].copy_from_slice(&517u64.to_ne_bytes()); // tcpi_bytes_received
        info[0] = TCP_ESTABLISHED;
        info[44..48].copy_from_slice(&last_data_sent.to_ne_bytes());
        info[48..52].copy_from_slice(&7u32.to_ne_bytes()); // tcpi_last_ack_sent, not read
        info[52..56].copy_from_slice(&last_data_recv.to_ne_bytes());
        info[56..60].copy_from_slice(&9u32.to_ne_bytes()); // tcpi_last_ack_recv, not read
        info
    }

    fn reply(sequence_number: u32, row: &Row) -> Vec<u8> {
        match &row.info {
            Some(info) => socket_reply(sequence_number, &row.socket, &[(INET_DIAG_INFO, info)]),
            None => socket_reply(sequence_number, &row.socket, &[]),
        }
    }

    fn established(source: &str, destination: &str, sent: u32, received: u32) -> Row {
        let source: SocketAddr = source.parse().unwrap();
        Row {
            socket: Socket {
                family: if source.is_ipv4() { AF_INET } else { AF_INET6 },
                state: TCP_ESTABLISHED,
                source,
                destination: destination.parse().unwrap(),
                rqueue: 0,
                wqueue: 0,
                uid: 33,
            },
            info: Some(tcp_info(sent, received)),
        }
    }

    #[test]
    fn decodes_addresses_owner_and_clocks() {
        let mut datagram = reply(5, &established("127.0.0.1:40001", "127.0.0.1:8080", 1992, 2524));
        let mut listening = established("127.0.0.1:80", "0.0.0.0:0", 0, 0);
        listening.socket.state = TCP_LISTEN;
        datagram.extend(reply(5, &listening));
        datagram.extend(done(5, 0));
        let mut out = Vec::new();
        assert_eq!(connections_in_datagram(&datagram, AF_INET, 5, &mut out), Ok(Dump::Done));
        assert_eq!(
            out,
            [TcpConnection {
                source: "127.0.0.1:40001".parse().unwrap(),
                destination: "127.0.0.1:8080".parse().unwrap(),
                uid: 33,
                last_data_sent_ms: 1992,
                last_data_recv_ms: 2524,
                bytes_received: Some(517),
            }]
        );
    }

    #[test]
    fn ipv4_mapped_peers_become_ipv4() {
        let row = established("[::ffff:10.0.0.9]:40001", "[::ffff:10.0.0.1]:8080", 1, 1);
        let v6 = established("[2001:db8::9]:40001", "[2001:db8::1]:8080", 1, 1);
        let mut datagram = reply(6, &row);
        datagram.extend(reply(6, &v6));
        let mut out = Vec::new();
        assert_eq!(
            connections_in_datagram(&datagram, AF_INET6, 6, &mut out),
            Ok(Dump::More)
        );
        let destinations: Vec<String> = out.iter().map(|c| c.destination.to_string()).collect();
        assert_eq!(destinations, ["10.0.0.1:8080", "[2001:db8::1]:8080"]);
    }

    #[test]
    fn a_socket_without_tcp_info_is_an_error() {
        let mut row = established("127.0.0.1:40001", "127.0.0.1:8080", 1, 1);
        row.info = None;
        let mut out = Vec::new();
        assert!(connections_in_datagram(&reply(5, &row), AF_INET, 5, &mut out).is_err());
        row.info = Some(vec![0; 52]); // cut before tcpi_last_data_recv
        assert!(connections_in_datagram(&reply(5, &row), AF_INET, 5, &mut out).is_err());
    }

    /// The measurement on nginx 1.22 (ms ago, as `ss -ti` prints them), and the
    /// ties of one clock tick.
    #[test]
    fn waiting_is_sent_after_the_last_receive() {
        let connection = |sent, received, bytes_received| TcpConnection {
            source: "127.0.0.1:1".parse().unwrap(),
            destination: "127.0.0.1:2".parse().unwrap(),
            uid: 0,
            last_data_sent_ms: sent,
            last_data_recv_ms: received,
            bytes_received,
        };
        for (sent, received, bytes, waiting, what) in [
            (1992, 2524, Some(900), true, "busy pooled connection to api"),
            (1988, 2524, Some(900), true, "busy pooled connection to api"),
            (2000, 2524, Some(900), true, "busy pooled connection to api"),
            (2828, 2528, Some(900), false, "idle pooled keep-alive connection to api"),
            (
                2000,
                2000,
                Some(0),
                true,
                "fresh connection to web: only the handshake received",
            ),
            (
                2000,
                2000,
                Some(900),
                false,
                "a fast answer in the request's tick, then idle",
            ),
            (2000, 2000, None, true, "a tie on a kernel without tcpi_bytes_received"),
        ] {
            assert_eq!(connection(sent, received, bytes).waiting(), waiting, "{what}");
        }
    }
}
