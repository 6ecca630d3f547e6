//! Hostile input: the stub_status parser and the config loader take anything and either
//! succeed or return an error; they never panic. The same entry points are the fuzz
//! targets in fuzz/ (see scripts/fuzz.sh).

use std::path::Path;

use nginx_backlog_exporter::config;
use nginx_backlog_exporter::sources::stub_status::parser::{parse, StubStatus};
use proptest::prelude::*;

fn page(s: &StubStatus) -> String {
    format!(
        "Active connections: {} \nserver accepts handled requests\n {} {} {} \nReading: {} Writing: {} Waiting: {} \n",
        s.active, s.accepts, s.handled, s.requests, s.reading, s.writing, s.waiting
    )
}

fn any_status() -> impl Strategy<Value = StubStatus> {
    (any::<[u64; 7]>()).prop_map(|n| StubStatus {
        active: n[0],
        accepts: n[1],
        handled: n[2],
        requests: n[3],
        reading: n[4],
        writing: n[5],
        waiting: n[6],
    })
}

/// Fragments a config file is made of, so random files get past the TOML parser often.
fn config_line() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "namespace",
        "metric_name",
        "instance_id",
        "region",
        "storage_resolution",
        "period",
        "sample_interval",
        "connect_timeout",
        "operation_timeout",
        "imds_timeout",
        "spool_max_bytes",
        "spool_max_age",
        "max_calls_per_second",
        "status_url",
        "timeout",
        "shutdown_grace",
        "state_directory",
        "bogus",
    ]);
    let value = prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_map(|f| format!("{f:?}")),
        "[ -~]{0,12}".prop_map(|s| format!("{s:?}")),
        prop::sample::select(vec![
            "\"10s\"",
            "\"0s\"",
            "\"1h\"",
            "\"500ms\"",
            "\"16MiB\"",
            "\"AWS/EC2\"",
            "\"http://127.0.0.1/\"",
            "\"/var/lib/x\"",
            "true",
            "[]",
            "{}",
            "0",
            "-1",
            "60",
            "1",
        ])
        .prop_map(str::to_owned),
    ];
    let section = prop::sample::select(vec![
        "[nginx]",
        "[cloudwatch]",
        "[daemon]",
        "[cloudwatch.fleet_dimensions]",
        "[x]",
    ]);
    prop_oneof![
        3 => (key, value).prop_map(|(k, v)| format!("{k} = {v}")),
        1 => section.prop_map(str::to_owned),
    ]
}

/// The fuzz seeds (fuzz/corpus/<target>/) go through the same entry points in every test run.
#[test]
fn the_fuzz_seed_corpora_replay_without_panics() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
    let mut pages_ok = 0;
    for entry in std::fs::read_dir(corpus.join("stub_status")).unwrap() {
        pages_ok += usize::from(parse(&std::fs::read(entry.unwrap().path()).unwrap()).is_ok());
    }
    assert_eq!(pages_ok, 2, "the two real pages parse, the others are errors");
    let mut configs_ok = 0;
    for entry in std::fs::read_dir(corpus.join("config")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        configs_ok += usize::from(config::parse(&path, &text).is_ok());
    }
    assert_eq!(configs_ok, 3, "all but absurd.toml are valid");

    let read = |target: &str| -> Vec<Vec<u8>> {
        let mut seeds: Vec<_> = std::fs::read_dir(corpus.join(target))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        seeds.sort();
        seeds.iter().map(|p| std::fs::read(p).unwrap()).collect()
    };
    // proc_net: a real tcp table (this machine's LISTEN rows) and a real TcpExt pair.
    let proc_seeds = read("proc_net");
    assert!(parse_netstat(&proc_seeds[0]).is_ok(), "netstat seed");
    assert!(parse_tcp(&proc_seeds[1], &[80]).is_ok(), "tcp seed");
    // log_format: the format on the first line, a line it wrote on the second.
    for seed in read("log_format") {
        let text = String::from_utf8(seed).unwrap();
        let (format, line) = text.split_once('\n').unwrap();
        let escape = if format.starts_with('{') {
            Escape::Json
        } else {
            Escape::Default
        };
        let compiled = LogFormat::compile(format, escape).unwrap();
        let mut extractor = RecordExtractor::new(&compiled, None).unwrap();
        let mut matcher = LineMatcher::new(compiled);
        let fields = matcher.match_line(line.trim_end().as_bytes()).unwrap();
        assert_eq!(extractor.extract(&fields).unwrap().status, 200);
    }
    // line_matcher: real-looking lines of the combined + times format all match.
    let format = LogFormat::compile(
        r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_time $upstream_response_time"#,
        Escape::Default,
    )
    .unwrap();
    let mut matcher = LineMatcher::new(format);
    for seed in read("line_matcher") {
        let line = seed.strip_suffix(b"\n").unwrap_or(&seed);
        assert!(matcher.match_line(line).is_ok(), "{}", String::from_utf8_lossy(line));
    }
}

proptest! {
    #[test]
    fn the_parser_reads_back_any_page_it_could_be_given(status in any_status()) {
        prop_assert_eq!(parse(page(&status).as_bytes()), Ok(status));
    }

    #[test]
    fn the_parser_never_panics_on_bytes(body in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse(&body);
    }

    #[test]
    fn a_damaged_page_is_an_error_never_a_reading(
        status in any_status(),
        cut in any::<prop::sample::Index>(),
        // Not a digit and not whitespace (the parser takes tabs as separators, like spaces).
        junk in "[^0-9 \t]",
    ) {
        let text = page(&status);
        // Truncated anywhere before the final newline: an error.
        let at = cut.index(text.len() - 1);
        prop_assert!(parse(&text.as_bytes()[..at]).is_err(), "truncated at {}", at);
        // A character that is neither a digit nor whitespace spliced into the page: an error.
        let mut spliced = text.clone();
        spliced.insert_str(at, &junk);
        prop_assert!(parse(spliced.as_bytes()).is_err(), "{:?}", spliced);
    }

    #[test]
    fn the_config_loader_never_panics_on_text(text in "\\PC{0,400}") {
        let _ = config::parse(Path::new("fuzz.toml"), &text);
    }

    #[test]
    fn the_config_loader_never_panics_on_near_configs(lines in prop::collection::vec(config_line(), 0..25)) {
        let text = lines.join("\n");
        if let Ok(config) = config::parse(Path::new("fuzz.toml"), &text) {
            // Whatever it accepts is within the limits it promises.
            prop_assert!(!config.cloudwatch.namespace.starts_with("AWS/"));
            prop_assert!([1, 60].contains(&config.cloudwatch.storage_resolution));
            prop_assert!(config.cloudwatch.period.as_millis() % config.cloudwatch.sample_interval.as_millis() == 0);
            prop_assert!((1..=100).contains(&config.cloudwatch.max_calls_per_second));
            prop_assert!(config.cloudwatch.spool_max_bytes >= 1024);
        }
    }

    #[test]
    fn garbage_is_an_error(text in "[^\\[=\"]{1,200}") {
        // Without brackets, '=' or quotes no table or string can be formed, so the
        // required cloudwatch.namespace is always missing.
        prop_assert!(config::parse(Path::new("fuzz.toml"), &text).is_err());
    }
}

// The /proc/net parsers, the log_format compiler and the line matcher: the same rule.

use nginx_backlog_exporter::sources::accept_queue::{parse_netstat, parse_tcp};
use nginx_backlog_exporter::sources::access_log::{Escape, LineMatcher, LogFormat, RecordExtractor};

/// Text that looks like /proc/net/tcp often enough to reach the row parser's corners.
fn proc_tcp_text() -> impl Strategy<Value = Vec<u8>> {
    let row = (
        prop::sample::select(vec!["0A", "01", "0a", "", "0A0"]),
        "[0-9A-Fa-fx:]{0,40}",
        "[0-9A-Fa-f:]{0,20}",
        "[ \t]{0,3}",
    )
        .prop_map(|(state, local, queues, pad)| {
            format!("{pad}0: {local} 00000000:0000 {state} {queues} 00:0 0 0 0 1\n")
        });
    (
        proptest::collection::vec(row, 0..6),
        proptest::collection::vec(any::<u8>(), 0..32),
    )
        .prop_map(|(rows, noise)| {
            let mut text = b"  sl  local_address rem_address   st tx_queue rx_queue\n".to_vec();
            for row in rows {
                text.extend_from_slice(row.as_bytes());
            }
            text.extend_from_slice(&noise);
            text
        })
}

proptest! {
    #[test]
    fn proc_parsers_never_panic(text in proc_tcp_text(), bytes in proptest::collection::vec(any::<u8>(), 0..256), ports in proptest::collection::vec(any::<u16>(), 0..4)) {
        let _ = parse_tcp(&text, &ports);
        let _ = parse_tcp(&bytes, &ports);
        let _ = parse_netstat(&bytes);
        let mut netstat = b"TcpExt: ListenOverflows ListenDrops\nTcpExt: ".to_vec();
        netstat.extend_from_slice(&bytes);
        let _ = parse_netstat(&netstat);
    }

    #[test]
    fn log_format_compiler_never_panics(format in "[ -~\\$\\{\\}\"\\[\\]]{0,60}", escape in 0..3u8) {
        let escape = [Escape::Default, Escape::Json, Escape::None][escape as usize];
        if let Ok(compiled) = LogFormat::compile(&format, escape) {
            // Whatever compiles can build a matcher and (maybe) an extractor.
            let _ = RecordExtractor::new(&compiled, None);
            let _ = LineMatcher::new(compiled);
        }
    }

    #[test]
    fn line_matcher_never_panics(line in proptest::collection::vec(any::<u8>(), 0..400), which in 0..4usize) {
        let formats = [
            nginx_backlog_exporter::sources::access_log::COMBINED,
            "$msec $status $request_time $upstream_response_time",
            r#"{"t":"$time_iso8601","s":"$status","u":"$http_user_agent"}"#,
            // Upstream lists followed by a space (ingress-nginx's upstreaminfo, Discourse).
            "$msec $upstream_addr $upstream_status $status $upstream_response_time $request_time",
        ];
        let escape = if which == 2 { Escape::Json } else { Escape::Default };
        let format = LogFormat::compile(formats[which], escape).unwrap();
        let mut extractor = RecordExtractor::new(&format, None).unwrap();
        let mut matcher = LineMatcher::new(format);
        if let Ok(fields) = matcher.match_line(&line) {
            let _ = extractor.extract(&fields);
        }
    }
}
