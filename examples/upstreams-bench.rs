//! The per-sample cost of the per-upstream dump (scripts/bench-upstreams.sh runs it): N
//! established loopback connections spread over G listeners, one upstream group each, and per
//! sample, interleaved so they share the machine's state:
//! - ours: the ESTABLISHED dump with INET_DIAG_INFO (tcp_info), decoded and counted per group;
//! - baseline 1: the same dump without INET_DIAG_INFO (what the attribute costs);
//! - baseline 2: reading /proc/net/tcp and /proc/net/tcp6 (what `ss`-less tools do; no tcp_info).
//!
//! Usage: upstreams-bench [CONNECTIONS] [GROUPS] [SAMPLES]   (needs ~CONNECTIONS fds; the
//! accepting ends are held by a child process, `upstreams-bench serve GROUPS`, so that each
//! process stays under a hard limit of 20,000 open files)

use std::io::{BufRead, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use netlink_packet_sock_diag::inet::{ExtensionFlags, StateFlags};
use nginx_backlog_exporter::sources::accept_queue::sock_diag::{visit_dump_datagram, SockDiagReader};
use nginx_backlog_exporter::sources::upstreams::{UpstreamMap, UpstreamReader};

fn arg(index: usize, default: usize) -> usize {
    std::env::args()
        .nth(index)
        .and_then(|text| text.parse().ok())
        .unwrap_or(default)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// The child: G listeners, their addresses on one line of stdout, then accept forever.
fn serve(groups: usize) {
    let listeners: Vec<TcpListener> = (0..groups)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a listener"))
        .collect();
    let addresses: Vec<String> = listeners
        .iter()
        .map(|listener| listener.local_addr().unwrap().to_string())
        .collect();
    println!("{}", addresses.join(" "));
    let threads: Vec<_> = listeners
        .into_iter()
        .map(|listener| {
            std::thread::spawn(move || {
                let mut held = Vec::new();
                while let Ok((stream, _)) = listener.accept() {
                    held.push(stream);
                }
            })
        })
        .collect();
    for thread in threads {
        let _ = thread.join();
    }
}

fn main() {
    if std::env::args().nth(1).as_deref() == Some("serve") {
        return serve(arg(2, 20));
    }
    let connections = arg(1, 10_000);
    let groups = arg(2, 20);
    let samples = arg(3, 50);

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["serve", &groups.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the accepting child");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let listeners: Vec<SocketAddr> = line.split_whitespace().map(|a| a.parse().unwrap()).collect();
    let mut open: Vec<TcpStream> = Vec::with_capacity(connections);
    for i in 0..connections {
        let client = TcpStream::connect(listeners[i % groups])
            .unwrap_or_else(|error| panic!("connection {i}: {error} (raise ulimit -n)"));
        open.push(client);
    }

    let conf = std::env::temp_dir().join(format!("upstreams-bench-{}.conf", std::process::id()));
    let blocks: String = listeners
        .iter()
        .enumerate()
        .map(|(i, address)| format!("upstream group{i} {{ server {address}; }}\n"))
        .collect();
    std::fs::write(&conf, format!("http {{\n{blocks}}}\n")).unwrap();
    let map = UpstreamMap::from_conf(&conf).unwrap();
    std::fs::remove_file(&conf).ok();

    let mut reader = UpstreamReader::open(None).expect("open sock_diag");
    let mut plain = SockDiagReader::open().expect("open sock_diag");
    let (mut ours, mut without_info, mut proc_net) = (Vec::new(), Vec::new(), Vec::new());
    let (mut counted, mut dumped, mut rows) = (0u64, 0u64, 0usize);
    let mut text = String::new();
    for _ in 0..samples {
        let start = Instant::now();
        let counts = reader.sample(&map).expect("dump with tcp_info");
        ours.push(start.elapsed());
        counted = counts.groups.iter().map(|(_, c)| u64::from(c.waiting + c.idle)).sum();

        let start = Instant::now();
        let mut sockets = 0u64;
        plain
            .dump(
                StateFlags::ESTABLISHED,
                ExtensionFlags::empty(),
                |family, sequence, datagram| visit_dump_datagram(datagram, family, sequence, |_| sockets += 1),
            )
            .expect("dump without tcp_info");
        without_info.push(start.elapsed());
        dumped = sockets;

        let start = Instant::now();
        rows = 0;
        for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
            text.clear();
            std::fs::File::open(file).unwrap().read_to_string(&mut text).unwrap();
            rows += text.lines().skip(1).count();
        }
        proc_net.push(start.elapsed());
    }
    let (ours, without_info, proc_net) = (median(ours), median(without_info), median(proc_net));
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    println!("connections {connections}, groups {groups}, samples {samples}");
    println!("sockets: dump {dumped} ESTABLISHED, /proc/net/tcp{{,6}} {rows} rows, counted to groups {counted}");
    println!(
        "ROW\tdump with tcp_info + count (ours)\t{:.0} us",
        ours.as_secs_f64() * 1e6
    );
    println!(
        "ROW\tdump without tcp_info\t{:.0} us\tours x{:.2}",
        without_info.as_secs_f64() * 1e6,
        ratio(ours, without_info)
    );
    println!(
        "ROW\t/proc/net/tcp + tcp6\t{:.0} us\tours x{:.2}",
        proc_net.as_secs_f64() * 1e6,
        ratio(ours, proc_net)
    );
    drop(open);
    let _ = child.kill();
    let _ = child.wait();
}
