//! The /proc/net/tcp{,6} and /proc/net/netstat parsers take whatever the kernel (or a
//! broken /proc) gives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nginx_backlog_exporter::sources::accept_queue::{parse_netstat, parse_tcp};

fuzz_target!(|text: &[u8]| {
    if let Ok(queue) = parse_tcp(text, &[80, 443, 8080]) {
        assert!(queue.listeners as usize <= text.len());
    }
    let _ = parse_netstat(text);
});
