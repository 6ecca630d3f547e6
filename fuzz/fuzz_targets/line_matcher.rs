//! The per-line matcher of nginx's combined format with request and upstream times (the
//! daemon's hot path) takes any bytes a log file holds.
#![no_main]

use libfuzzer_sys::fuzz_target;
use nginx_backlog_exporter::sources::access_log::{Escape, LineMatcher, LogFormat, RecordExtractor};

fuzz_target!(|line: &[u8]| {
    let format = LogFormat::compile(
        r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time"#,
        Escape::Default,
    )
    .expect("the format compiles");
    let mut extractor = RecordExtractor::new(&format, None).expect("status and time are there");
    let mut matcher = LineMatcher::new(format);
    if let Ok(fields) = matcher.match_line(line) {
        assert!(fields.iter().all(|value| value.len() <= line.len()));
        let _ = extractor.extract(&fields);
    }
});
