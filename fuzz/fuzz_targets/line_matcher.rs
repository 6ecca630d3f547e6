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
        // The parallel replay's per-line half agrees with the whole extraction: the same
        // verdict (a bad time, $status or $request_time) and the same values.
        let mut per_line = extractor.clone();
        let whole = extractor.extract(&fields);
        match (whole, per_line.extract_line(&fields)) {
            (Ok(request), Ok(line)) => {
                assert_eq!(line.status, Ok(request.status));
                assert_eq!(per_line.place(line.logged_ms), request.end_ms);
                assert_eq!(
                    (line.request_time_us, line.upstream_time_us),
                    (request.request_time_us, request.upstream_time_us)
                );
            }
            (Err(reason), Err(per_line_reason)) => assert_eq!(reason, per_line_reason),
            (Err(reason), Ok(line)) => assert_eq!(line.status, Err(reason)),
            (Ok(_), Err(reason)) => panic!("extract_line refused a line extract took: {reason:?}"),
        }
    }
});
