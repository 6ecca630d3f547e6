//! EMF lines to the CloudWatch agent's listener (`tcp://127.0.0.1:25888` or `udp://...`, the
//! aws-embedded-metrics libraries' `AWS_EMF_AGENT_ENDPOINT`), newline-delimited.
//!
//! Backpressure: the sampler hands records over a bounded channel with `try_send` (drop and
//! count if full), so nothing here can block sampling. Encoded lines wait in a bounded
//! buffer of [`MAX_BUFFERED_LINES`]; past it the oldest line is dropped and counted
//! (`emf_lines_dropped`), as the spool does, because the newest matters most for scaling.
//!
//! TCP: a line leaves the buffer only once it was written whole. Before writing, the
//! connection is checked for the agent's close (a read that returns end of file), so lines
//! produced while the agent restarts stay buffered and go out, once each, on the next
//! connection; reconnects back off with jitter from 100 ms to 5 s. What TCP cannot tell us:
//! lines the kernel accepted that the agent never read before dying (it does not
//! acknowledge). A line cut off by a failed write is sent again whole; the cut-off part is
//! not a line (no newline) and the agent discards it.
//!
//! UDP: one line per datagram; no connection, so no restart to notice and no delivery
//! guarantee (a datagram sent while the agent is down is lost; the kernel reports the
//! refusal on a later send, which is counted as a drop). A line that does not fit one
//! datagram is never truncated: it is dropped, counted and logged (use TCP). An EMF line
//! carries at most 100 values (about 2 KB), far below the limit.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::retry::Backoff;
use crate::clock::Clock;
use crate::events::sinks::{
    EmfAgentConnectionLost, EmfAgentSent, EmfAgentUnreachable, EmfBufferFull, EmfDatagramRefused, EmfLineSent,
    EmfLineTooLongForUdp, EmfLinesLeftAtShutdown,
};
use crate::events::FailureStreak;
use crate::stats::Stats;

/// Lines kept while the agent cannot be reached: a 10 s period with PendingRequests and all
/// 11 access-log metrics makes 12 lines, so this holds over 14 minutes of them (almost 3
/// hours of PendingRequests alone).
pub(crate) const MAX_BUFFERED_LINES: usize = 1024;
/// The largest UDP payload over IPv4 (65,535 − 8 bytes UDP header − 20 bytes IP header),
/// newline included.
pub(crate) const MAX_DATAGRAM_BYTES: usize = 65_507;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// A write that cannot finish (the agent stopped reading) is a broken connection.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);
const BACKOFF_BASE: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Whether the agent is reached over TCP or UDP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Tcp,
    Udp,
}

/// The bounded buffer of encoded lines (oldest dropped first when full).
struct LineBuffer {
    lines: VecDeque<String>,
    stats: Arc<Stats>,
    /// Wall time, for the last publish's time.
    clock: Clock,
}

impl LineBuffer {
    fn push(&mut self, line: String) {
        if self.lines.len() == MAX_BUFFERED_LINES {
            self.lines.pop_front();
            EmfBufferFull.emit(&self.stats);
        }
        self.lines.push_back(line);
        Stats::set(&self.stats.emf_lines_buffered, self.lines.len() as u64);
    }

    fn pop(&mut self) {
        self.lines.pop_front();
        Stats::set(&self.stats.emf_lines_buffered, self.lines.len() as u64);
    }
}

/// Run until `records` closes, then try for at most `drain` to send what is buffered.
/// `encode` turns a record into its lines (the EMF encoder, passed in so this transport
/// knows nothing of what it carries).
pub async fn run<R>(
    protocol: Protocol,
    address: String,
    mut records: mpsc::Receiver<R>,
    encode: impl Fn(&R) -> Vec<String>,
    stats: Arc<Stats>,
    clock: Clock,
    drain: Duration,
) {
    let mut buffer = LineBuffer {
        lines: VecDeque::new(),
        stats: stats.clone(),
        clock,
    };
    let mut connection: Option<Connection> = None;
    let mut backoff = Backoff::new(BACKOFF_BASE, BACKOFF_MAX);
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let mut connect_at = Instant::now();
    let mut drain_until: Option<Instant> = None;
    let mut failing = FailureStreak::once();
    loop {
        if !buffer.lines.is_empty() && connection.is_none() && Instant::now() >= connect_at {
            match Connection::open(protocol, &address).await {
                Ok(opened) => connection = Some(opened),
                Err(error) => {
                    connect_at = Instant::now() + backoff.next_delay(&mut rng);
                    EmfAgentUnreachable {
                        address: &address,
                        error: &error,
                    }
                    .emit(&mut failing);
                }
            }
        }
        if let Some(open) = &mut connection {
            match open.send_buffered(&mut buffer).await {
                Ok(()) => {
                    backoff.reset();
                    EmfAgentSent { address: &address }.emit(&mut failing);
                }
                Err(error) => {
                    connection = None;
                    connect_at = Instant::now() + backoff.next_delay(&mut rng);
                    EmfAgentConnectionLost {
                        address: &address,
                        error: &error,
                    }
                    .emit(&mut failing);
                }
            }
        }
        if let Some(until) = drain_until {
            if buffer.lines.is_empty() || Instant::now() >= until {
                break;
            }
        }
        let waiting_to_connect = connection.is_none() && !buffer.lines.is_empty();
        tokio::select! {
            record = records.recv(), if drain_until.is_none() => match record {
                Some(record) => {
                    for line in encode(&record) {
                        buffer.push(line);
                    }
                }
                None => drain_until = Some(Instant::now() + drain),
            },
            () = tokio::time::sleep_until(connect_at), if waiting_to_connect => {}
            () = tokio::time::sleep_until(drain_until.unwrap_or_else(Instant::now)), if drain_until.is_some() => {}
        }
    }
    EmfLinesLeftAtShutdown {
        address: &address,
        left: buffer.lines.len(),
    }
    .emit(&stats);
}

enum Connection {
    Tcp(TcpStream),
    Udp(UdpSocket),
}

impl Connection {
    async fn open(protocol: Protocol, address: &str) -> std::io::Result<Connection> {
        let connect = async {
            match protocol {
                Protocol::Tcp => {
                    let stream = TcpStream::connect(address).await?;
                    stream.set_nodelay(true)?;
                    Ok(Connection::Tcp(stream))
                }
                Protocol::Udp => {
                    let peer = tokio::net::lookup_host(address)
                        .await?
                        .next()
                        .ok_or_else(|| std::io::Error::other("the name resolves to no address"))?;
                    let local = if peer.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
                    let socket = UdpSocket::bind(local).await?;
                    socket.connect(peer).await?;
                    Ok(Connection::Udp(socket))
                }
            }
        };
        tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .unwrap_or_else(|_| Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out")))
    }

    /// Send the buffered lines oldest first; each leaves the buffer once sent whole.
    async fn send_buffered(&mut self, buffer: &mut LineBuffer) -> std::io::Result<()> {
        if let Connection::Tcp(stream) = self {
            peer_still_there(stream)?;
        }
        while let Some(line) = buffer.lines.front() {
            let mut bytes = Vec::with_capacity(line.len() + 1);
            bytes.extend_from_slice(line.as_bytes());
            bytes.push(b'\n');
            match self {
                Connection::Tcp(stream) => {
                    tokio::time::timeout(WRITE_TIMEOUT, stream.write_all(&bytes))
                        .await
                        .unwrap_or_else(|_| {
                            Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "write timed out"))
                        })?;
                }
                Connection::Udp(socket) => {
                    if bytes.len() > MAX_DATAGRAM_BYTES {
                        EmfLineTooLongForUdp {
                            bytes: bytes.len(),
                            max: MAX_DATAGRAM_BYTES,
                        }
                        .emit(&buffer.stats);
                        buffer.pop();
                        continue;
                    }
                    if let Err(error) = socket.send(&bytes).await {
                        // Refused: the agent was down for an earlier datagram. This one is
                        // not sent; keep it for the next socket.
                        EmfDatagramRefused.emit(&buffer.stats);
                        return Err(error);
                    }
                }
            }
            buffer.pop();
            EmfLineSent { at: buffer.clock.now() }.emit(&buffer.stats);
        }
        Ok(())
    }
}

/// An agent that closed its end has sent us end of file: reading without waiting says so
/// before we write into a connection nobody reads.
fn peer_still_there(stream: &TcpStream) -> std::io::Result<()> {
    let mut probe = [0u8; 256];
    loop {
        match stream.try_read(&mut probe) {
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionAborted,
                    "the agent closed the connection",
                ))
            }
            // The agent does not talk; whatever it sent is not ours to read.
            Ok(_) => continue,
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => return Ok(()),
            Err(error) => return Err(error),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_buffer_drops_the_oldest_line_and_counts_it() {
        let stats = Arc::new(Stats::default());
        let mut buffer = LineBuffer {
            lines: VecDeque::new(),
            stats: stats.clone(),
            clock: Clock::system(),
        };
        for i in 0..MAX_BUFFERED_LINES + 2 {
            buffer.push(i.to_string());
        }
        assert_eq!(buffer.lines.len(), MAX_BUFFERED_LINES);
        assert_eq!(buffer.lines.front().map(String::as_str), Some("2"));
        assert_eq!(Stats::get(&stats.emf_lines_dropped), 2);
        assert_eq!(Stats::get(&stats.emf_lines_buffered), MAX_BUFFERED_LINES as u64);
    }
}
