//! The kernel's view of nginx's listening sockets.
//!
//! When nginx's workers are stalled or out of `worker_connections`, stub_status stops
//! answering exactly when the backlog is worst; the connections then wait in the kernel's
//! accept queue. [`KernelReader`] asks the kernel for it through netlink sock_diag
//! ([`sock_diag`]): a dump of LISTEN sockets only, which costs the kernel a walk of the
//! listening hash. `/proc/self/net/tcp{,6}` shows the same figures as the `rx_queue` of LISTEN
//! rows, but reading them walks every established socket's bucket too (~6 ms of system time
//! per file on a large host), so those files are only the fallback, for when netlink sockets
//! are refused (a sandbox without AF_NETLINK) or dumps keep failing. Both work unprivileged
//! and under systemd's `ProcSubset=pid`. Sockets are matched by port (one per worker with
//! `reuseport`; IPv4 and IPv6 are separate), not by inode -> pid, which would need privileges.
//!
//! The parsers are pure functions over bytes; [`KernelReader`] is the thin I/O around them.
//! The figures both readers give, [`AcceptQueue`], are in `queue.rs`, which both import.

use std::path::PathBuf;

use crate::events::sources::{SockDiagFailed, SockDiagUnavailable};

mod queue;
pub mod sock_diag;

pub use queue::AcceptQueue;
use sock_diag::{SockDiagError, SockDiagReader};

/// `st` of a listening socket in /proc/net/tcp (TCP_LISTEN).
const STATE_LISTEN: &[u8] = b"0A";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProcParseError {
    #[error("/proc/net/tcp row {row}: {what}")]
    TcpRow { row: usize, what: &'static str },
    #[error("/proc/net/netstat: {0}")]
    Netstat(&'static str),
}

fn hex_u64(field: &[u8]) -> Option<u64> {
    if field.is_empty() || field.len() > 16 {
        return None;
    }
    field
        .iter()
        .try_fold(0u64, |acc, &b| Some(acc * 16 + char::from(b).to_digit(16)? as u64))
}

/// Sum the LISTEN rows of `ports` in one /proc/net/tcp or tcp6 file.
///
/// For a listening socket the kernel reports the current accept-queue length as `rx_queue`.
/// Its `tx_queue` is `write_seq - snd_una` as for any socket (0 when listening), not the
/// queue's limit, so the limit stays 0 here; only netlink's `idiag_wqueue` has it.
pub fn parse_tcp(text: &[u8], ports: &[u16]) -> Result<AcceptQueue, ProcParseError> {
    let mut total = AcceptQueue::default();
    // The first line is the column header.
    for (row, line) in text.split(|&b| b == b'\n').enumerate().skip(1) {
        let mut fields = line.split(|b| b.is_ascii_whitespace()).filter(|f| !f.is_empty());
        let Some(_slot) = fields.next() else { continue };
        let error = |what| ProcParseError::TcpRow { row, what };
        let local = fields.next().ok_or(error("no local address"))?;
        let _remote = fields.next().ok_or(error("no remote address"))?;
        let state = fields.next().ok_or(error("no state"))?;
        if state != STATE_LISTEN {
            continue;
        }
        let port = local
            .rsplit(|&b| b == b':')
            .next()
            .and_then(hex_u64)
            .and_then(|p| u16::try_from(p).ok())
            .ok_or(error("bad local port"))?;
        if !ports.contains(&port) {
            continue;
        }
        let queues = fields.next().ok_or(error("no queues"))?;
        let mut parts = queues.split(|&b| b == b':');
        let _tx_queue = parts.next().and_then(hex_u64).ok_or(error("bad tx_queue"))?;
        let depth = parts.next().and_then(hex_u64).ok_or(error("bad rx_queue"))?;
        total.merge(AcceptQueue {
            depth,
            limit: 0,
            listeners: 1,
        });
    }
    Ok(total)
}

/// Host-wide listen-queue drop counters (`TcpExt:` of /proc/net/netstat). They count every
/// dropped SYN or final ACK, retransmits included, for every socket on the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ListenDrops {
    pub(crate) listen_overflows: u64,
    pub(crate) listen_drops: u64,
}

/// Find `ListenOverflows` and `ListenDrops` in the `TcpExt:` header/value line pair.
pub fn parse_netstat(text: &[u8]) -> Result<ListenDrops, ProcParseError> {
    let mut lines = text.split(|&b| b == b'\n').filter(|l| l.starts_with(b"TcpExt:"));
    let names = lines.next().ok_or(ProcParseError::Netstat("no TcpExt lines"))?;
    let values = lines
        .next()
        .ok_or(ProcParseError::Netstat("TcpExt names without values"))?;
    let mut overflows = None;
    let mut drops = None;
    let names = names
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .skip(1);
    let mut values = values
        .split(|b| b.is_ascii_whitespace())
        .filter(|w| !w.is_empty())
        .skip(1);
    for name in names {
        let value = values
            .next()
            .ok_or(ProcParseError::Netstat("fewer TcpExt values than names"))?;
        let slot = match name {
            b"ListenOverflows" => &mut overflows,
            b"ListenDrops" => &mut drops,
            _ => continue,
        };
        let parsed = std::str::from_utf8(value)
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or(ProcParseError::Netstat("a TcpExt value is not a number"))?;
        *slot = Some(parsed);
    }
    Ok(ListenDrops {
        listen_overflows: overflows.ok_or(ProcParseError::Netstat("no ListenOverflows"))?,
        listen_drops: drops.ok_or(ProcParseError::Netstat("no ListenDrops"))?,
    })
}

/// What the kernel says in one sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KernelSample {
    pub accept_queue: AcceptQueue,
    /// `None` if /proc/self/net/netstat could not be read or parsed.
    pub drops: Option<ListenDrops>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum KernelError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Parse(#[from] ProcParseError),
}

/// After this many failed netlink dumps in a row the reader stays on /proc for good; fewer
/// are retried on a fresh socket (each failed sample is answered from /proc meanwhile).
const SOCK_DIAG_ATTEMPTS: u32 = 3;

/// Where the accept queues come from.
enum QueueSource {
    /// Netlink sock_diag; the socket opens on first use and again after a failed dump.
    SockDiag {
        open: fn() -> Result<SockDiagReader, SockDiagError>,
        reader: Option<SockDiagReader>,
        failed_in_a_row: u32,
    },
    /// `tcp` and `tcp6` under the reader's root: the fallback, and all a `with_root` reader uses.
    Proc,
}

/// Which source answered the last sample, for `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QueueSourceKind {
    SockDiag,
    Proc,
}

impl std::fmt::Display for QueueSourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            QueueSourceKind::SockDiag => "netlink sock_diag",
            QueueSourceKind::Proc => "/proc/self/net/tcp{,6}",
        })
    }
}

/// Reads the accept queues (netlink, else /proc/self/net) and the drop counters
/// (/proc/self/net/netstat) into buffers it keeps, so a sample allocates little once warm.
pub(crate) struct KernelReader {
    root: PathBuf,
    ports: Vec<u16>,
    buffer: Vec<u8>,
    queues: QueueSource,
    last_source: Option<QueueSourceKind>,
}

impl KernelReader {
    pub fn new(ports: Vec<u16>) -> Self {
        Self::preferring_sock_diag(PathBuf::from("/proc/self/net"), ports, SockDiagReader::open)
    }

    /// Netlink through `open`, falling back to the files under `root`.
    fn preferring_sock_diag(
        root: PathBuf,
        ports: Vec<u16>,
        open: fn() -> Result<SockDiagReader, SockDiagError>,
    ) -> Self {
        KernelReader {
            queues: QueueSource::SockDiag {
                open,
                reader: None,
                failed_in_a_row: 0,
            },
            ..Self::with_root(root, ports)
        }
    }

    /// Read only files, from another directory holding `tcp`, `tcp6` and `netstat` (tests, and
    /// /proc/self/net to compare with netlink).
    pub(crate) fn with_root(root: PathBuf, ports: Vec<u16>) -> Self {
        KernelReader {
            root,
            ports,
            buffer: Vec::with_capacity(64 * 1024),
            queues: QueueSource::Proc,
            last_source: None,
        }
    }

    /// Which source answered the last successful sample.
    pub(crate) fn last_source(&self) -> Option<QueueSourceKind> {
        self.last_source
    }

    fn read(&mut self, name: &str) -> Result<Option<&[u8]>, KernelError> {
        use std::io::Read;
        let path = self.root.join(name);
        self.buffer.clear();
        match std::fs::File::open(&path).and_then(|mut f| f.read_to_end(&mut self.buffer)) {
            Ok(_) => Ok(Some(&self.buffer)),
            // A kernel without IPv6 has no tcp6.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && name == "tcp6" => Ok(None),
            Err(source) => Err(KernelError::Read { path, source }),
        }
    }

    pub fn sample(&mut self) -> Result<KernelSample, KernelError> {
        let ports = std::mem::take(&mut self.ports);
        let result = self.sample_ports(&ports);
        self.ports = ports;
        result
    }

    fn sample_ports(&mut self, ports: &[u16]) -> Result<KernelSample, KernelError> {
        let (accept_queue, source) = match self.sock_diag_queues(ports) {
            Some(accept_queue) => (accept_queue, QueueSourceKind::SockDiag),
            None => (self.proc_queues(ports)?, QueueSourceKind::Proc),
        };
        self.last_source = Some(source);
        let drops = self
            .read("netstat")
            .ok()
            .flatten()
            .and_then(|text| parse_netstat(text).ok());
        Ok(KernelSample { accept_queue, drops })
    }

    fn proc_queues(&mut self, ports: &[u16]) -> Result<AcceptQueue, KernelError> {
        let mut accept_queue = AcceptQueue::default();
        for file in ["tcp", "tcp6"] {
            if let Some(text) = self.read(file)? {
                accept_queue.merge(parse_tcp(text, ports)?);
            }
        }
        Ok(accept_queue)
    }

    /// The netlink answer, or `None` when this sample must read /proc instead. Switches to
    /// /proc for good, with one warning, if netlink sockets are refused or keep failing.
    fn sock_diag_queues(&mut self, ports: &[u16]) -> Option<AcceptQueue> {
        let QueueSource::SockDiag {
            open,
            reader,
            failed_in_a_row,
        } = &mut self.queues
        else {
            return None;
        };
        let opened = match reader {
            Some(opened) => opened,
            None => match open() {
                Ok(opened) => reader.insert(opened),
                Err(error) => {
                    SockDiagUnavailable { error: &error }.emit();
                    self.queues = QueueSource::Proc;
                    return None;
                }
            },
        };
        match opened.listen_queues(ports) {
            Ok(accept_queue) => {
                *failed_in_a_row = 0;
                Some(accept_queue)
            }
            Err(error) => {
                // The socket may hold the rest of the failed dump: the next try opens a new one.
                *reader = None;
                *failed_in_a_row += 1;
                let gave_up = *failed_in_a_row >= SOCK_DIAG_ATTEMPTS;
                SockDiagFailed {
                    attempts: *failed_in_a_row,
                    gave_up,
                    error: &error,
                }
                .emit();
                if gave_up {
                    self.queues = QueueSource::Proc;
                }
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n";

    fn tcp(rows: &[&str]) -> Vec<u8> {
        let mut text = String::from(HEADER);
        for row in rows {
            text.push_str(row);
            text.push('\n');
        }
        text.into_bytes()
    }

    fn check(text: &[u8], ports: &[u16], expected: Result<AcceptQueue, ProcParseError>) {
        assert_eq!(parse_tcp(text, ports), expected, "{}", String::from_utf8_lossy(text));
    }

    // Port 80 = 0x0050, 443 = 0x01BB, 8080 = 0x1F90.
    const LISTEN_80_Q3: &str = "   0: 00000000:0050 00000000:0000 0A 000001FF:00000003 00:00000000 00000000     0        0 1001 1 0000000000000000 100 0 0 10 0";
    const LISTEN_443_Q0: &str = "   1: 00000000:01BB 00000000:0000 0A 000001FF:00000000 00:00000000 00000000     0        0 1002 1 0000000000000000 100 0 0 10 0";
    const ESTABLISHED_80: &str = "   2: 0100007F:0050 0100007F:D3A4 01 00000000:00000020 00:00000000 00000000    33        0 1003 1 0000000000000000 20 4 30 10 -1";
    const LISTEN_8080_Q5: &str = "   3: 0100007F:1F90 00000000:0000 0A 00000080:00000005 00:00000000 00000000     0        0 1004 1 0000000000000000 100 0 0 10 0";

    #[test]
    fn sums_listen_rows_of_the_watched_ports_only() {
        let text = tcp(&[LISTEN_80_Q3, LISTEN_443_Q0, ESTABLISHED_80, LISTEN_8080_Q5]);
        check(
            &text,
            &[80, 443],
            Ok(AcceptQueue {
                depth: 3,
                limit: 0,
                listeners: 2,
            }),
        );
        check(
            &text,
            &[8080],
            Ok(AcceptQueue {
                depth: 5,
                limit: 0,
                listeners: 1,
            }),
        );
        check(&text, &[81], Ok(AcceptQueue::default()));
    }

    #[test]
    fn reuseport_rows_are_summed() {
        // One listening socket per worker, same port.
        let rows: Vec<String> = (0..4)
            .map(|i| format!("   {i}: 00000000:0050 00000000:0000 0A 000001FF:0000000{i} 00:00000000 00000000     0        0 20{i} 1 0 100 0 0 10 0"))
            .collect();
        let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
        let parsed = parse_tcp(&tcp(&rows), &[80]).unwrap();
        assert_eq!((parsed.depth, parsed.listeners), (6, 4));
    }

    #[test]
    fn ipv6_rows() {
        let row = "   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 000001FF:00000007 00:00000000 00000000     0        0 3001 1 0 100 0 0 10 0";
        assert_eq!(parse_tcp(&tcp(&[row]), &[80]).unwrap().depth, 7);
    }

    #[test]
    fn malformed_listen_rows_are_errors() {
        let bad_port = "   0: 00000000:GGGG 00000000:0000 0A 000001FF:00000003";
        check(
            &tcp(&[bad_port]),
            &[80],
            Err(ProcParseError::TcpRow {
                row: 1,
                what: "bad local port",
            }),
        );
        let no_queue = "   0: 00000000:0050 00000000:0000 0A";
        check(
            &tcp(&[no_queue]),
            &[80],
            Err(ProcParseError::TcpRow {
                row: 1,
                what: "no queues",
            }),
        );
        let bad_rx = "   0: 00000000:0050 00000000:0000 0A 000001FF:zz";
        check(
            &tcp(&[bad_rx]),
            &[80],
            Err(ProcParseError::TcpRow {
                row: 1,
                what: "bad rx_queue",
            }),
        );
        // Rows of other states are not looked at past their state.
        check(&tcp(&["   0: garbage garbage 01 x"]), &[80], Ok(AcceptQueue::default()));
    }

    #[test]
    fn the_real_file_of_this_machine_parses() {
        let text = std::fs::read("/proc/self/net/tcp").unwrap();
        parse_tcp(&text, &[80, 443]).unwrap();
        parse_netstat(&std::fs::read("/proc/self/net/netstat").unwrap()).unwrap();
    }

    const NETSTAT: &str = "TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPHPHits\nTcpExt: 0 17 19 123\nIpExt: InNoRoutes\nIpExt: 0\nMPTcpExt: ListenOverflows\nMPTcpExt: 99\n";

    #[test]
    fn netstat_listen_counters() {
        assert_eq!(
            parse_netstat(NETSTAT.as_bytes()),
            Ok(ListenDrops {
                listen_overflows: 17,
                listen_drops: 19
            })
        );
    }

    #[test]
    fn malformed_netstat_is_an_error() {
        for (text, what) in [
            ("", "no TcpExt lines"),
            ("TcpExt: ListenOverflows ListenDrops\n", "TcpExt names without values"),
            (
                "TcpExt: ListenOverflows ListenDrops\nTcpExt: 1\n",
                "fewer TcpExt values than names",
            ),
            (
                "TcpExt: ListenOverflows ListenDrops\nTcpExt: 1 x\n",
                "a TcpExt value is not a number",
            ),
            ("TcpExt: ListenDrops\nTcpExt: 1\n", "no ListenOverflows"),
        ] {
            assert_eq!(
                parse_netstat(text.as_bytes()),
                Err(ProcParseError::Netstat(what)),
                "{text:?}"
            );
        }
    }

    #[test]
    fn reader_sums_both_files_and_tolerates_a_missing_tcp6() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tcp"), tcp(&[LISTEN_80_Q3])).unwrap();
        std::fs::write(dir.path().join("netstat"), NETSTAT).unwrap();
        let mut reader = KernelReader::with_root(dir.path().to_owned(), vec![80]);
        let sample = reader.sample().unwrap();
        assert_eq!(sample.accept_queue.depth, 3);
        assert_eq!(sample.drops.map(|d| d.listen_overflows), Some(17));
        let row6 = "   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 000001FF:00000002 00:0 0 0 0 1";
        std::fs::write(dir.path().join("tcp6"), tcp(&[row6])).unwrap();
        assert_eq!(reader.sample().unwrap().accept_queue.depth, 5);
    }

    static REFUSED_OPENS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

    /// What a sandbox without AF_NETLINK answers.
    fn refused_open() -> Result<SockDiagReader, SockDiagError> {
        REFUSED_OPENS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Err(SockDiagError::Open(std::io::Error::from_raw_os_error(
            97, /* EAFNOSUPPORT */
        )))
    }

    #[test]
    fn without_netlink_the_reader_falls_back_to_proc_and_stays_there() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tcp"), tcp(&[LISTEN_80_Q3, LISTEN_8080_Q5])).unwrap();
        let mut reader = KernelReader::preferring_sock_diag(dir.path().to_owned(), vec![80], refused_open);
        assert_eq!(reader.last_source(), None);
        for _ in 0..3 {
            let sample = reader.sample().unwrap();
            assert_eq!((sample.accept_queue.depth, sample.accept_queue.listeners), (3, 1));
            assert_eq!(reader.last_source(), Some(QueueSourceKind::Proc));
        }
        assert_eq!(
            REFUSED_OPENS.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "opened once, then /proc for good"
        );
    }
}
