//! The config loader takes any text an operator (or a broken deploy) puts in the file.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    // load() reads the file with read_to_string, so only UTF-8 ever reaches parse().
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = nginx_backlog_exporter::config::parse(Path::new("fuzz.toml"), text);
    }
});
