//! Accept queues through the kernel's sock_diag netlink interface (`NETLINK_SOCK_DIAG`,
//! inet_diag), which is how `ss -lnt` reads them.
//!
//! Why not /proc: reading `/proc/net/tcp{,6}` makes the kernel walk every bucket of the
//! established-socket hash (262,144 on a host with a few GiB of memory), ~6 ms of system time
//! per file, once a second, for a handful of LISTEN rows. An inet_diag dump that asks for
//! sockets in state LISTEN only walks the listening hash. For a listening socket the reply's
//! `idiag_rqueue` is the accept queue's length and `idiag_wqueue` its limit, the same figures
//! /proc shows as `rx_queue` and `tx_queue`.
//!
//! The request encoder and the reply decoder are pure; [`SockDiagReader`] is the thin socket
//! I/O around them. The unsafe syscalls live in `netlink-sys`. The per-upstream source
//! (sources/upstreams) dumps ESTABLISHED sockets through the same encoder, reply checks and
//! reader ([`encode_dump`], [`visit_dump_datagram`], [`SockDiagReader::dump`]).

use std::io;
use std::time::Duration;

use netlink_packet_core::{NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_sock_diag::constants::{AF_INET, AF_INET6, IPPROTO_TCP, TCP_LISTEN};
use netlink_packet_sock_diag::inet::{ExtensionFlags, InetRequest, InetResponse, SocketId, StateFlags};
use netlink_packet_sock_diag::SockDiagMessage;
use netlink_sys::{protocols::NETLINK_SOCK_DIAG, Socket, SocketAddr};

use super::queue::AcceptQueue;

/// Both families are asked in turn: an inet_diag dump covers one family, and an IPv6 socket
/// (dual-stack or not) is reported only to an AF_INET6 dump, as it is only in /proc's tcp6.
const FAMILIES: [u8; 2] = [AF_INET, AF_INET6];

/// The kernel fills one dump datagram up to the largest buffer a reader has offered, capped
/// at 32 KiB (`netlink_recvmsg`, `max_recvmsg_len`); twice that can never be cut short.
const DATAGRAM_BUFFER: usize = 64 * 1024;

/// A listening-socket dump takes microseconds; this only keeps a kernel that never answers
/// from stalling a sample forever.
const REPLY_TIMEOUT: Duration = Duration::from_secs(1);

/// `NLMSG_ALIGN`: netlink messages in one datagram start on 4-byte boundaries.
fn nlmsg_align(length: usize) -> usize {
    (length + 3) & !3
}

/// What went wrong in a dump's replies (the pure decoder's errors).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DumpError {
    #[error("malformed sock_diag reply: {0}")]
    Malformed(String),
    #[error("the kernel refused the sock_diag dump: {}", io::Error::from_raw_os_error(*.0))]
    Refused(i32),
    #[error("sock_diag reply has sequence number {got}, the request had {expected}")]
    Sequence { expected: u32, got: u32 },
    #[error("sock_diag reply of address family {got} to a dump of family {expected}")]
    Family { expected: u8, got: u8 },
    #[error("unexpected netlink message type {0} in a sock_diag dump")]
    Unexpected(u16),
}

#[derive(Debug, thiserror::Error)]
pub enum SockDiagError {
    #[error("cannot open a NETLINK_SOCK_DIAG socket: {0}")]
    Open(#[source] io::Error),
    #[error("sock_diag {step}: {source}")]
    Io {
        step: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("a sock_diag reply filled the {0}-byte buffer and may have been cut")]
    Truncated(usize),
    #[error(transparent)]
    Dump(#[from] DumpError),
}

/// Write the `SOCK_DIAG_BY_FAMILY` dump request (an `inet_diag_req_v2`) for TCP sockets of
/// `family` in state LISTEN into `buffer`, replacing what it held.
#[cfg(test)]
pub(crate) fn encode_listen_dump(family: u8, sequence_number: u32, buffer: &mut Vec<u8>) {
    encode_dump(
        family,
        sequence_number,
        StateFlags::LISTEN,
        ExtensionFlags::empty(),
        buffer,
    );
}

/// Write a `SOCK_DIAG_BY_FAMILY` dump request (an `inet_diag_req_v2`) for TCP sockets of
/// `family` in `states`, asking for the attributes `extensions`, into `buffer`, replacing
/// what it held.
pub(crate) fn encode_dump(
    family: u8,
    sequence_number: u32,
    states: StateFlags,
    extensions: ExtensionFlags,
    buffer: &mut Vec<u8>,
) {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.sequence_number = sequence_number;
    let socket_id = if family == AF_INET6 {
        SocketId::new_v6()
    } else {
        SocketId::new_v4()
    };
    let mut message = NetlinkMessage::new(
        header,
        SockDiagMessage::InetRequest(InetRequest {
            family,
            protocol: IPPROTO_TCP,
            extensions,
            states,
            socket_id,
        })
        .into(),
    );
    message.finalize();
    buffer.clear();
    buffer.resize(message.buffer_len(), 0);
    message.serialize(buffer);
}

/// Whether a dump has more datagrams to come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dump {
    More,
    Done,
}

/// Add the listening sockets of `ports` in one datagram of the reply to the dump request
/// `(family, sequence_number)` to `total`, one listener per socket (so `reuseport` sockets
/// are summed, as /proc's rows are).
pub(crate) fn sum_dump_datagram(
    datagram: &[u8],
    family: u8,
    sequence_number: u32,
    ports: &[u16],
    total: &mut AcceptQueue,
) -> Result<Dump, DumpError> {
    visit_dump_datagram(datagram, family, sequence_number, |response| {
        let socket = &response.header;
        // The request asked for LISTEN only; a kernel that ignored the filter must
        // not have a connection's receive queue (bytes) counted as queued connections.
        if socket.state == TCP_LISTEN && ports.contains(&socket.socket_id.source_port) {
            total.depth += u64::from(socket.recv_queue);
            total.limit += u64::from(socket.send_queue);
            total.listeners += 1;
        }
    })
}

/// Hand each socket in one datagram of the reply to the dump request `(family,
/// sequence_number)` to `visit`; say whether the dump goes on. Checks what every dump's
/// reply must be (sequence number, family, message types), so a caller only reads sockets.
pub fn visit_dump_datagram(
    datagram: &[u8],
    family: u8,
    sequence_number: u32,
    mut visit: impl FnMut(&InetResponse),
) -> Result<Dump, DumpError> {
    if datagram.is_empty() {
        return Err(DumpError::Malformed("empty datagram".into()));
    }
    let mut rest = datagram;
    while !rest.is_empty() {
        let message = NetlinkMessage::<SockDiagMessage>::deserialize(rest)
            .map_err(|error| DumpError::Malformed(error.to_string()))?;
        let header = message.header;
        if header.sequence_number != sequence_number {
            return Err(DumpError::Sequence {
                expected: sequence_number,
                got: header.sequence_number,
            });
        }
        match message.payload {
            NetlinkPayload::InnerMessage(SockDiagMessage::InetResponse(response)) => {
                if response.header.family != family {
                    return Err(DumpError::Family {
                        expected: family,
                        got: response.header.family,
                    });
                }
                visit(&response);
            }
            NetlinkPayload::Done(done) if done.code == 0 => return Ok(Dump::Done),
            NetlinkPayload::Done(done) => return Err(DumpError::Refused(done.code.saturating_abs())),
            NetlinkPayload::Error(error) if error.code.is_some() => {
                return Err(DumpError::Refused(error.raw_code().saturating_abs()))
            }
            NetlinkPayload::Noop => {}
            // An ACK, an overrun, another kind of message: not what a dump answers.
            _ => return Err(DumpError::Unexpected(header.message_type)),
        }
        // The parser checked that the length field is within the datagram.
        rest = rest.get(nlmsg_align(header.length as usize)..).unwrap_or_default();
    }
    Ok(Dump::More)
}

/// A `NETLINK_SOCK_DIAG` socket and the buffers a sample reuses.
pub struct SockDiagReader {
    socket: Socket,
    sequence_number: u32,
    request: Vec<u8>,
    datagram: Vec<u8>,
}

impl SockDiagReader {
    pub fn open() -> Result<Self, SockDiagError> {
        let socket = Socket::new(NETLINK_SOCK_DIAG).map_err(SockDiagError::Open)?;
        // Port 0 is the kernel; connecting also binds this socket to a port of its own.
        socket
            .connect(&SocketAddr::new(0, 0))
            .map_err(|source| SockDiagError::Io {
                step: "connect",
                source,
            })?;
        socket2::SockRef::from(&socket)
            .set_read_timeout(Some(REPLY_TIMEOUT))
            .map_err(|source| SockDiagError::Io {
                step: "set SO_RCVTIMEO",
                source,
            })?;
        Ok(SockDiagReader {
            socket,
            sequence_number: 0,
            request: Vec::with_capacity(128),
            datagram: vec![0; DATAGRAM_BUFFER],
        })
    }

    /// Dump the listening TCP sockets of both families and sum those of `ports`.
    ///
    /// After an error the socket may still hold the rest of a dump: drop the reader.
    pub(crate) fn listen_queues(&mut self, ports: &[u16]) -> Result<AcceptQueue, SockDiagError> {
        let mut total = AcceptQueue::default();
        self.dump(
            StateFlags::LISTEN,
            ExtensionFlags::empty(),
            |family, sequence_number, datagram| sum_dump_datagram(datagram, family, sequence_number, ports, &mut total),
        )?;
        Ok(total)
    }

    /// Dump the TCP sockets of both families in `states`, with the attributes `extensions`,
    /// handing each datagram of the replies to `decode(family, sequence_number, datagram)`
    /// until it says the dump of that family is done.
    ///
    /// After an error the socket may still hold the rest of a dump: drop the reader.
    pub fn dump(
        &mut self,
        states: StateFlags,
        extensions: ExtensionFlags,
        mut decode: impl FnMut(u8, u32, &[u8]) -> Result<Dump, DumpError>,
    ) -> Result<(), SockDiagError> {
        for family in FAMILIES {
            self.sequence_number = self.sequence_number.wrapping_add(1);
            encode_dump(
                family,
                self.sequence_number,
                states.clone(),
                extensions.clone(),
                &mut self.request,
            );
            self.socket
                .send(&self.request, 0)
                .map_err(|source| SockDiagError::Io { step: "send", source })?;
            loop {
                let received = self
                    .socket
                    .recv(&mut &mut self.datagram[..], 0)
                    .map_err(|source| SockDiagError::Io { step: "recv", source })?;
                if received >= self.datagram.len() {
                    return Err(SockDiagError::Truncated(self.datagram.len()));
                }
                if decode(family, self.sequence_number, &self.datagram[..received])? == Dump::Done {
                    break;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::{IpAddr, SocketAddr};

    // Built by hand from the kernel's layouts (linux/netlink.h, linux/inet_diag.h), all in host
    // (little-endian here) byte order except the ports and addresses, which are big-endian:
    //   struct nlmsghdr       { u32 len; u16 type; u16 flags; u32 seq; u32 pid; }          16 bytes
    //   struct inet_diag_sockid { be16 sport, dport; be32 src[4], dst[4]; u32 if; u32 cookie[2]; } 48
    //   struct inet_diag_req_v2 { u8 family, protocol, ext, pad; u32 states; sockid id; }   56
    //   struct inet_diag_msg  { u8 family, state, timer, retrans; sockid id;
    //                           u32 expires, rqueue, wqueue, uid, inode; }                    72
    pub(crate) const SOCK_DIAG_BY_FAMILY: u16 = 20;
    const NLMSG_ERROR: u16 = 2;
    const NLMSG_DONE: u16 = 3;
    const TCP_ESTABLISHED: u8 = 1;

    pub(crate) fn nlmsghdr(length: usize, message_type: u16, flags: u16, sequence_number: u32) -> Vec<u8> {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&(length as u32).to_le_bytes());
        bytes.extend_from_slice(&message_type.to_le_bytes());
        bytes.extend_from_slice(&flags.to_le_bytes());
        bytes.extend_from_slice(&sequence_number.to_le_bytes());
        bytes.extend_from_slice(&4242u32.to_le_bytes());
        bytes
    }

    struct Row {
        family: u8,
        state: u8,
        port: u16,
        rqueue: u32,
        wqueue: u32,
    }

    /// One `SOCK_DIAG_BY_FAMILY` reply: nlmsghdr + inet_diag_msg + an INET_DIAG_SHUTDOWN
    /// attribute (the kernel always adds it; 5 bytes, padded to 8).
    fn reply(sequence_number: u32, row: &Row) -> Vec<u8> {
        let source = SocketAddr::new(IpAddr::from([127, 0, 0, 1]), row.port);
        let socket = Socket {
            family: row.family,
            state: row.state,
            source,
            destination: SocketAddr::new(IpAddr::from([0, 0, 0, 0]), 0),
            rqueue: row.rqueue,
            wqueue: row.wqueue,
            uid: 33,
        };
        socket_reply(sequence_number, &socket, &[(8, &[0])])
    }

    /// The header fields of one socket in a reply.
    pub(crate) struct Socket {
        pub family: u8,
        pub state: u8,
        pub source: SocketAddr,
        pub(crate) destination: SocketAddr,
        pub(crate) rqueue: u32,
        pub(crate) wqueue: u32,
        pub uid: u32,
    }

    /// One `SOCK_DIAG_BY_FAMILY` reply: nlmsghdr + inet_diag_msg + `attributes` (struct nlattr
    /// { u16 len; u16 type; } + value, padded to 4 bytes).
    pub(crate) fn socket_reply(sequence_number: u32, socket: &Socket, attributes: &[(u16, &[u8])]) -> Vec<u8> {
        let address = |ip: IpAddr| -> [u8; 16] {
            let mut bytes = [0u8; 16];
            match ip {
                IpAddr::V4(v4) => bytes[..4].copy_from_slice(&v4.octets()),
                IpAddr::V6(v6) => bytes = v6.octets(),
            }
            bytes
        };
        let mut body = vec![socket.family, socket.state, 0, 0];
        body.extend_from_slice(&socket.source.port().to_be_bytes()); // idiag_sport
        body.extend_from_slice(&socket.destination.port().to_be_bytes()); // idiag_dport
        body.extend_from_slice(&address(socket.source.ip()));
        body.extend_from_slice(&address(socket.destination.ip()));
        body.extend_from_slice(&0u32.to_le_bytes()); // idiag_if
        body.extend_from_slice(&[0xff; 8]); // idiag_cookie
        body.extend_from_slice(&0u32.to_le_bytes()); // idiag_expires
        body.extend_from_slice(&socket.rqueue.to_le_bytes());
        body.extend_from_slice(&socket.wqueue.to_le_bytes());
        body.extend_from_slice(&socket.uid.to_le_bytes()); // idiag_uid
        body.extend_from_slice(&98765u32.to_le_bytes()); // idiag_inode
        assert_eq!(body.len(), 72);
        for (kind, value) in attributes {
            body.extend_from_slice(&((4 + value.len()) as u16).to_le_bytes());
            body.extend_from_slice(&kind.to_le_bytes());
            body.extend_from_slice(value);
            body.resize(nlmsg_align(body.len()), 0);
        }
        let mut message = nlmsghdr(
            16 + body.len(),
            SOCK_DIAG_BY_FAMILY,
            2, /* NLM_F_MULTI */
            sequence_number,
        );
        message.extend_from_slice(&body);
        message
    }

    pub(crate) fn done(sequence_number: u32, code: i32) -> Vec<u8> {
        let mut message = nlmsghdr(20, NLMSG_DONE, 2, sequence_number);
        message.extend_from_slice(&code.to_le_bytes());
        message
    }

    fn listen(family: u8, port: u16, rqueue: u32, wqueue: u32) -> Row {
        Row {
            family,
            state: TCP_LISTEN,
            port,
            rqueue,
            wqueue,
        }
    }

    fn check(datagram: &[u8], ports: &[u16], expected: Result<(Dump, AcceptQueue), DumpError>) {
        let mut total = AcceptQueue::default();
        let result = sum_dump_datagram(datagram, AF_INET, 7, ports, &mut total).map(|dump| (dump, total));
        assert_eq!(result, expected, "{datagram:02x?}");
    }

    #[test]
    fn the_request_is_an_inet_diag_req_v2_for_listening_tcp_sockets() {
        let mut expected = nlmsghdr(72, SOCK_DIAG_BY_FAMILY, 0x0301 /* NLM_F_REQUEST | NLM_F_DUMP */, 9);
        expected[12..16].copy_from_slice(&[0; 4]); // nlmsg_pid 0: the kernel fills it in
        expected.extend_from_slice(&[10 /* AF_INET6 */, 6 /* IPPROTO_TCP */, 0, 0]);
        expected.extend_from_slice(&(1u32 << 10).to_le_bytes()); // 1 << TCP_LISTEN
        expected.extend_from_slice(&[0; 48]); // any address, any port
        let mut request = vec![0xAA; 3];
        encode_listen_dump(AF_INET6, 9, &mut request);
        assert_eq!(request, expected);
        encode_listen_dump(AF_INET, 10, &mut request);
        assert_eq!(
            (request.len(), request[16]),
            (72, 2),
            "AF_INET, and the buffer was reused"
        );
    }

    #[test]
    fn sums_listening_sockets_of_the_watched_ports_until_done() {
        // Port 8080 is 0x1F90: its bytes differ in the two byte orders.
        let mut datagram = reply(7, &listen(AF_INET, 8080, 3, 511));
        datagram.extend(reply(7, &listen(AF_INET, 8080, 2, 511))); // reuseport: a second socket
        datagram.extend(reply(7, &listen(AF_INET, 443, 5, 128)));
        datagram.extend(done(7, 0));
        let both = AcceptQueue {
            depth: 5,
            limit: 1022,
            listeners: 2,
        };
        check(&datagram, &[8080], Ok((Dump::Done, both)));
        let all = AcceptQueue {
            depth: 10,
            limit: 1150,
            listeners: 3,
        };
        check(&datagram, &[443, 8080], Ok((Dump::Done, all)));
        check(
            &datagram,
            &[36895 /* 0x901F */, 80],
            Ok((Dump::Done, AcceptQueue::default())),
        );
    }

    #[test]
    fn a_datagram_without_done_asks_for_more() {
        let datagram = reply(7, &listen(AF_INET, 80, 4, 511));
        let one = AcceptQueue {
            depth: 4,
            limit: 511,
            listeners: 1,
        };
        check(&datagram, &[80], Ok((Dump::More, one)));
        check(&done(7, 0), &[80], Ok((Dump::Done, AcceptQueue::default())));
    }

    #[test]
    fn sockets_not_in_listen_are_not_counted() {
        let established = Row {
            family: AF_INET,
            state: TCP_ESTABLISHED,
            port: 80,
            rqueue: 1400,
            wqueue: 0,
        };
        let mut datagram = reply(7, &established);
        datagram.extend(done(7, 0));
        check(&datagram, &[80], Ok((Dump::Done, AcceptQueue::default())));
    }

    #[test]
    fn refusals_and_foreign_replies_are_errors() {
        // NLMSG_ERROR: int error (-EPERM) then the request's header.
        let mut refused = nlmsghdr(36, NLMSG_ERROR, 0, 7);
        refused.extend_from_slice(&(-1i32).to_le_bytes());
        refused.extend(nlmsghdr(72, SOCK_DIAG_BY_FAMILY, 0x0301, 7));
        check(&refused, &[80], Err(DumpError::Refused(1)));
        check(&done(7, -4), &[80], Err(DumpError::Refused(4)));
        check(
            &reply(6, &listen(AF_INET, 80, 1, 511)),
            &[80],
            Err(DumpError::Sequence { expected: 7, got: 6 }),
        );
        check(
            &reply(7, &listen(AF_INET6, 80, 1, 511)),
            &[80],
            Err(DumpError::Family {
                expected: AF_INET,
                got: AF_INET6,
            }),
        );
    }

    #[test]
    fn cut_or_empty_datagrams_are_errors_not_panics() {
        let whole = reply(7, &listen(AF_INET, 80, 1, 511));
        for length in [0, 1, 15, 16, 40, 87, whole.len() - 1] {
            let mut total = AcceptQueue::default();
            let result = sum_dump_datagram(&whole[..length], AF_INET, 7, &[80], &mut total);
            assert!(matches!(result, Err(DumpError::Malformed(_))), "{length}: {result:?}");
        }
        // A length field that says less than a header.
        let mut short = whole.clone();
        short[..4].copy_from_slice(&8u32.to_le_bytes());
        let mut total = AcceptQueue::default();
        assert!(matches!(
            sum_dump_datagram(&short, AF_INET, 7, &[80], &mut total),
            Err(DumpError::Malformed(_))
        ));
    }

    // --- Against this machine's kernel: real listening sockets that never accept.

    use std::net::{Ipv6Addr, SocketAddr as InetAddr, TcpStream};
    use std::time::Instant;

    use crate::sources::accept_queue::{KernelReader, QueueSourceKind};

    const BACKLOG: i32 = 16;

    fn listener(address: InetAddr, reuse_port: bool) -> std::io::Result<socket2::Socket> {
        let socket = socket2::Socket::new(socket2::Domain::for_address(address), socket2::Type::STREAM, None)?;
        if address.is_ipv6() {
            socket.set_only_v6(true)?;
        }
        socket.set_reuse_port(reuse_port)?;
        socket.bind(&address.into())?;
        socket.listen(BACKLOG)?;
        Ok(socket)
    }

    fn port_of(socket: &socket2::Socket) -> u16 {
        socket.local_addr().unwrap().as_socket().unwrap().port()
    }

    /// The kernel finishes a loopback handshake as connect() returns, but give it a moment.
    fn read_until_depth(reader: &mut SockDiagReader, ports: &[u16], depth: u64) -> AcceptQueue {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let queue = reader.listen_queues(ports).unwrap();
            if queue.depth == depth || Instant::now() > deadline {
                return queue;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn netlink_counts_connections_nobody_accepted_and_agrees_with_proc() {
        // Two reuseport sockets on one IPv4 port, like nginx with `reuseport` and two workers.
        let first = listener("127.0.0.1:0".parse().unwrap(), true).unwrap();
        let port = port_of(&first);
        let second = listener(InetAddr::from(([127, 0, 0, 1], port)), true).unwrap();
        // The same port on IPv6 loopback, when this machine has it.
        let v6 = listener(InetAddr::from((Ipv6Addr::LOCALHOST, port)), false);
        if let Err(error) = &v6 {
            eprintln!("no IPv6 loopback listener ({error}): checking IPv4 only");
        }
        // Another port, with nothing queued.
        let unrelated = listener("127.0.0.1:0".parse().unwrap(), false).unwrap();
        let unrelated_port = port_of(&unrelated);

        const QUEUED_V4: usize = 5;
        const QUEUED_V6: usize = 2;
        let mut clients: Vec<TcpStream> = (0..QUEUED_V4)
            .map(|_| TcpStream::connect(("127.0.0.1", port)).unwrap())
            .collect();
        if v6.is_ok() {
            clients.extend((0..QUEUED_V6).map(|_| TcpStream::connect((Ipv6Addr::LOCALHOST, port)).unwrap()));
        }
        let (queued, listeners) = match v6 {
            Ok(_) => (QUEUED_V4 + QUEUED_V6, 3),
            Err(_) => (QUEUED_V4, 2),
        };

        let somaxconn: u64 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let limit = (BACKLOG as u64).min(somaxconn);
        let mut reader = SockDiagReader::open().unwrap();
        let netlink = read_until_depth(&mut reader, &[port], queued as u64);
        assert_eq!(
            netlink,
            AcceptQueue {
                depth: queued as u64,
                limit: limit * listeners,
                listeners: listeners as u32,
            }
        );
        assert_eq!(
            reader.listen_queues(&[unrelated_port]).unwrap(),
            AcceptQueue {
                depth: 0,
                limit,
                listeners: 1,
            }
        );
        assert_eq!(
            reader.listen_queues(&[port, unrelated_port]).unwrap().depth,
            queued as u64
        );

        // The /proc reader sees the same queues but no limit (see `parse_tcp`); the daemon's
        // reader goes through netlink.
        let proc = KernelReader::with_root("/proc/self/net".into(), vec![port])
            .sample()
            .unwrap();
        assert_eq!(proc.accept_queue, AcceptQueue { limit: 0, ..netlink });
        let mut daemon = KernelReader::new(vec![port]);
        assert_eq!(daemon.sample().unwrap().accept_queue, netlink);
        assert_eq!(daemon.last_source(), Some(QueueSourceKind::SockDiag));
        drop((clients, first, second, unrelated));
    }
}
