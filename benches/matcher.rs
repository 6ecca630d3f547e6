//! The per-line matcher, and the whole line parser, on typical lines: `cargo bench --bench matcher`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use nginx_backlog_exporter::sources::access_log::{Escape, LineMatcher, LineParser, LogFormat};

const TIMED: &str = "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\" $request_time $upstream_response_time";

const LINES: &[&[u8]] = &[
    b"10.3.18.16 - - [22/Nov/2026:19:49:22 +0000] \"GET /api/v1/items/42?expand=true HTTP/1.1\" 200 41382 \"-\" \"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\" 0.023 0.023",
    b"10.2.172.36 - - [22/Nov/2026:19:49:22 +0000] \"GET /login HTTP/1.1\" 502 157 \"https://example.com/\" \"curl/7.88.1\" 0.010 0.000, 0.008",
    b"10.1.206.68 - alice [22/Nov/2026:19:49:23 +0000] \"\\x16\\x03\\x01\\x02\\x00\\x01\\x00\\x01\\xFC\\x03\\x03\" 400 157 \"-\" \"-\" 0.000 -",
];

fn matcher(c: &mut Criterion) {
    let format = LogFormat::compile(TIMED, Escape::Default).expect("bench format compiles");
    let bytes: u64 = LINES.iter().map(|line| line.len() as u64).sum();

    let mut group = c.benchmark_group("matcher");
    group.throughput(Throughput::Bytes(bytes));
    let mut line_matcher = LineMatcher::new(format.clone());
    group.bench_function("match_line", |b| {
        b.iter(|| {
            for line in LINES {
                let fields = line_matcher.match_line(black_box(line));
                black_box(fields.map(|f| f.len()).ok());
            }
        })
    });
    // What the daemon and replay run per line.
    let mut parser = LineParser::new(format, None).expect("format has the signal variables");
    group.bench_function("match_and_extract", |b| {
        b.iter(|| {
            for line in LINES {
                black_box(parser.parse(black_box(line)).ok());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, matcher);
criterion_main!(benches);
