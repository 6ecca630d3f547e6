//! The log_format compiler takes a user's format string; the matcher and extractor built
//! from whatever compiles take any line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nginx_backlog_exporter::sources::access_log::{Escape, LineMatcher, LogFormat, RecordExtractor};

fuzz_target!(|data: &[u8]| {
    // First line: the format; the rest: a log line for it.
    let (format, line) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &b""[..]),
    };
    let Ok(format) = std::str::from_utf8(format) else { return };
    for escape in [Escape::Default, Escape::Json, Escape::None] {
        if let Ok(compiled) = LogFormat::compile(format, escape) {
            let extractor = RecordExtractor::new(&compiled, None);
            let mut matcher = LineMatcher::new(compiled);
            if let (Ok(fields), Ok(mut extractor)) = (matcher.match_line(line), extractor) {
                let _ = extractor.extract(&fields);
            }
        }
    }
});
