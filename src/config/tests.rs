use super::*;
use crate::derive::pending::{Formula, LogConcurrencyFilter};
use crate::model::LogMetric;
use crate::sources::access_log::tail::StartAt;
use crate::sources::access_log::LogFormatSource;

fn parse_str(text: &str) -> Result<Config, ConfigError> {
    parse(Path::new("test.toml"), text)
}

/// Asserts that `text` is rejected with an error naming `key` (or text) on `line`.
fn check_error(text: &str, line: usize, needle: &str) {
    let error = parse_str(text).expect_err("config should be rejected").to_string();
    assert!(
        error.starts_with(&format!("test.toml:{line}: ")),
        "wrong line in {error:?}"
    );
    assert!(error.contains(needle), "{error:?} does not mention {needle:?}");
}

const MINIMAL: &str = "[cloudwatch]\nnamespace = \"MyApp\"\n";

#[test]
fn minimal_config_gets_defaults() {
    let config = parse_str(MINIMAL).unwrap();
    assert_eq!(config.nginx.status_url.text, DEFAULT_STATUS_URL);
    assert_eq!(config.cloudwatch.metric_name, "PendingRequests");
    assert_eq!(config.cloudwatch.period, Duration::from_secs(10));
    assert_eq!(config.cloudwatch.sample_interval, Duration::from_secs(1));
    assert_eq!(config.cloudwatch.samples_per_period(), 10);
    assert_eq!(config.cloudwatch.storage_resolution, 1);
    assert!(config.cloudwatch.fleet_dimensions.is_empty());
}

#[test]
fn shipped_config_refuses_to_start_until_the_namespace_is_set() {
    let text = include_str!("../../config/nginx-backlog-exporter.toml");
    let installed = Path::new(DEFAULT_CONFIG_PATH);
    let error = parse(installed, text)
        .expect_err("a fresh install must not start")
        .to_string();
    let header = text.lines().position(|l| l == "[cloudwatch]").unwrap() + 1;
    assert!(
        error.starts_with(&format!(
            "/etc/nginx-backlog-exporter/config.toml:{header}: cloudwatch.namespace: is not set: \
                 set cloudwatch.namespace in /etc/nginx-backlog-exporter/config.toml"
        )),
        "{error}"
    );
    // The one edit the file asks for, and nothing else, makes it valid.
    let edited = text.replacen("# namespace = \"MyApp\"", "namespace = \"MyApp\"", 1);
    assert_ne!(edited, text, "the shipped file holds the commented-out namespace line");
    let config = parse(installed, &edited).unwrap();
    assert_eq!(config.cloudwatch.namespace, "MyApp");
}

#[test]
fn errors_name_key_and_line() {
    check_error(
        "[cloudwatch]\nnamespace = \"\"\n",
        2,
        "cloudwatch.namespace: must not be empty",
    );
    check_error("[cloudwatch]\nnamespace = \"AWS/EC2\"\n", 2, "reserved");
    check_error(
        "[cloudwatch]\nnamespace = \"x\"\nstorage_resolution = 7\n",
        3,
        "cloudwatch.storage_resolution",
    );
    check_error(
        "[cloudwatch]\nnamespace = \"x\"\nperiod = \"0s\"\n",
        3,
        "cloudwatch.period: must be greater than zero",
    );
    check_error(
        "[cloudwatch]\nnamespace = \"x\"\nperiod = \"2500ms\"\n",
        3,
        "cloudwatch.period",
    );
    check_error(
        "[cloudwatch]\nnamespace = \"x\"\nsample_interval = \"3s\"\nperiod = \"10s\"\n",
        4,
        "not a multiple of cloudwatch.sample_interval",
    );
    check_error(
        "[cloudwatch]\nnamespace = \"x\"\nperiod = \"ten\"\n",
        3,
        "not a duration",
    );
    check_error(
        "[nginx]\nstatus_url = \"ftp://x/\"\n[cloudwatch]\nnamespace = \"x\"\n",
        2,
        "nginx.status_url",
    );
    check_error(
        "[nginx]\nstatus_url = \"http://exa mple/\"\n[cloudwatch]\nnamespace = \"x\"\n",
        2,
        "not a URL",
    );
    check_error(
        "[nginx]\ntimeout = \"5s\"\n[cloudwatch]\nnamespace = \"x\"\n",
        2,
        "nginx.timeout",
    );
    check_error(
        "[cloudwatch]\nnamespace = \"x\"\nregion = \"US East\"\n",
        3,
        "cloudwatch.region",
    );
}

#[test]
fn unknown_and_missing_keys_are_errors() {
    check_error("[cloudwatch]\nnamespace = \"x\"\nperoid = \"10s\"\n", 3, "peroid");
    check_error(
        "[nginx]\nstatus_url = \"http://127.0.0.1/\"\n[cloudwatch]\n",
        3,
        "namespace",
    );
    check_error("[cloudwatch\n", 1, "");
    check_error("[cloudwatch]\nnamespace = 5\n", 2, "string");
}

#[test]
fn toml_errors_name_the_section_and_an_unknown_key_the_near_one() {
    let cw = "[cloudwatch]\nnamespace = \"x\"\n";
    for (text, line, expected) in [
        (
            format!("{cw}sample_intervall = \"1s\"\n"),
            3,
            "cloudwatch.sample_intervall: unknown key; did you mean `sample_interval`?",
        ),
        (
            format!("{cw}peroid = \"10s\"\n"),
            3,
            "cloudwatch.peroid: unknown key; did you mean `period`?",
        ),
        (
            format!("[nginxx]\n{cw}"),
            1,
            "nginxx: unknown key; did you mean `nginx`?",
        ),
        (
            format!("[access_log]\nstrat_at = \"end\"\n{cw}"),
            2,
            "access_log.strat_at: unknown key; did you mean `start_at`?",
        ),
        (
            format!("{cw}bogus = 1\n"),
            3,
            "cloudwatch.bogus: unknown key; the keys here are `namespace`, `metric_name`,",
        ),
        (
            format!("{cw}period = 5\n"),
            3,
            "cloudwatch.period: expected a duration such as \"10s\" or \"500ms\", got integer `5`",
        ),
        (
            format!("{cw}storage_resolution = \"high\"\n"),
            3,
            "cloudwatch.storage_resolution: expected 1 (high resolution) or 60 (standard), got string \"high\"",
        ),
        (
            format!("{cw}max_calls_per_second = \"10\"\n"),
            3,
            "cloudwatch.max_calls_per_second: expected a whole number, got string \"10\"",
        ),
        (
            format!("{cw}put_metric_data = \"no\"\n"),
            3,
            "cloudwatch.put_metric_data: expected true or false, got string \"no\"",
        ),
        (
            format!("{cw}[cloudwatch.fleet_dimensions]\nService = 5\n"),
            4,
            "cloudwatch.fleet_dimensions.Service: expected a string, got integer `5`",
        ),
        (
            format!("[nginx]\nlisten_ports = [80, \"a\"]\n{cw}"),
            2,
            "nginx.listen_ports[1]: expected a whole number, got string \"a\"",
        ),
        (
            "[daemon]\nshutdown_grace = \"5s\"\n[cloudwatch]\nperiod = \"10s\"\n".to_owned(),
            3,
            "cloudwatch.namespace: is not set: set cloudwatch.namespace in test.toml",
        ),
    ] {
        check_error(&text, line, expected);
    }
}

#[test]
fn too_many_fleet_dimensions() {
    let mut text = String::from("[cloudwatch]\nnamespace = \"x\"\n[cloudwatch.fleet_dimensions]\n");
    for i in 0..40 {
        text.push_str(&format!("d{i} = \"v\"\n"));
    }
    let error = parse_str(&text).unwrap_err().to_string();
    assert!(error.contains("40 dimensions"), "{error}");
}

#[test]
fn fleet_dimensions_may_not_reuse_instance_id() {
    check_error(
        "[cloudwatch]\nnamespace = \"x\"\n[cloudwatch.fleet_dimensions]\nInstanceId = \"i-1\"\n",
        4,
        "InstanceId",
    );
}

#[test]
fn listen_ports_default_to_the_status_port_and_80_and_443() {
    let config =
        parse_str("[nginx]\nstatus_url = \"http://127.0.0.1:8080/s\"\n[cloudwatch]\nnamespace = \"x\"\n").unwrap();
    assert_eq!(config.nginx.listen_ports, vec![80, 443, 8080]);
    assert_eq!(parse_str(MINIMAL).unwrap().nginx.listen_ports, vec![80, 443]);
    let config = parse_str("[nginx]\nlisten_ports = [8443]\n[cloudwatch]\nnamespace = \"x\"\n").unwrap();
    assert_eq!(config.nginx.listen_ports, vec![8443]);
    check_error(
        "[nginx]\nlisten_ports = [80, 70000]\n[cloudwatch]\nnamespace = \"x\"\n",
        2,
        "70000 is not a TCP port",
    );
    check_error(
        "[nginx]\nlisten_ports = []\n[cloudwatch]\nnamespace = \"x\"\n",
        2,
        "nginx.listen_ports",
    );
}

#[test]
fn status_url_on_a_unix_socket() {
    let config = parse_str(
        "[nginx]\nstatus_url = \"unix:/run/nginx/status.sock:/nginx_status\"\n[cloudwatch]\nnamespace = \"x\"\n",
    )
    .unwrap();
    let url = &config.nginx.status_url;
    assert!(matches!(&url.transport, StatusTransport::Unix(p) if p == Path::new("/run/nginx/status.sock")));
    assert_eq!(url.uri, "http://localhost/nginx_status");
    assert_eq!(url.to_string(), "unix:/run/nginx/status.sock:/nginx_status");
    // No status port to add: 80 and 443 only.
    assert_eq!(config.nginx.listen_ports, vec![80, 443]);
    // Without a location, "/" (as nginx-prometheus-exporter reads it).
    let config = parse_str("[nginx]\nstatus_url = \"unix:/run/s.sock\"\n[cloudwatch]\nnamespace = \"x\"\n").unwrap();
    assert_eq!(config.nginx.status_url.uri, "http://localhost/");
    check_error(
        "[cloudwatch]\nnamespace = \"x\"\n[nginx]\nstatus_url = \"unix:run/s.sock:/s\"\n",
        4,
        "nginx.status_url: the socket of a unix: URL must be an absolute path",
    );
    check_error(
        "[nginx]\nstatus_url = \"unix:/run/s.sock:nginx_status\"\n[cloudwatch]\nnamespace = \"x\"\n",
        2,
        "is not a location",
    );
    check_error(
        "[nginx]\nstatus_url = \"unix:/run/s.sock:/s\"\nca_file = \"/etc/ca.pem\"\n[cloudwatch]\nnamespace = \"x\"\n",
        3,
        "nginx.ca_file: only used with an https:// nginx.status_url",
    );
}

#[test]
fn https_status_url_and_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let (cert, key) = (cert.display(), key.display());
    let head = "[cloudwatch]\nnamespace = \"x\"\n[nginx]\nstatus_url = \"https://127.0.0.1:8443/s\"\n";
    let config = parse_str(&format!("{head}ca_file = \"{cert}\"\n")).unwrap();
    assert!(matches!(config.nginx.status_url.transport, StatusTransport::Https(_)));
    assert_eq!(config.nginx.listen_ports, vec![80, 443, 8443]);
    parse_str(&format!(
        "{head}ca_file = \"{cert}\"\nclient_cert = \"{cert}\"\nclient_key = \"{key}\"\n"
    ))
    .unwrap();
    check_error(
        &format!("{head}ca_file = \"/nonexistent/ca.pem\"\n"),
        5,
        "nginx.ca_file: cannot read /nonexistent/ca.pem",
    );
    check_error(&format!("{head}ca_file = \"{key}\"\n"), 5, "holds no PEM certificate");
    check_error(
        &format!("{head}ca_file = \"{cert}\"\nclient_cert = \"{cert}\"\n"),
        6,
        "nginx.client_cert: needs nginx.client_key",
    );
    check_error(
        &format!("{head}ca_file = \"{cert}\"\nclient_cert = \"{cert}\"\nclient_key = \"{cert}\"\n"),
        7,
        "nginx.client_key:",
    );
    check_error(
        "[nginx]\nca_file = \"/etc/ca.pem\"\n[cloudwatch]\nnamespace = \"x\"\n",
        2,
        "nginx.ca_file: only used with an https://",
    );
}

#[test]
fn log_concurrency_leaves_out_long_lived_requests() {
    let log = "[nginx]\naccess_log = \"/var/log/nginx/a.log\"\nlog_format = '$msec $status $request_time'\n";
    let config = parse_str(&format!(
        "{log}[cloudwatch]\nnamespace = \"x\"\npending = \"log_concurrency\"\n"
    ))
    .unwrap();
    assert_eq!(config.access_log.unwrap().concurrency, LogConcurrencyFilter::default());
    let config = parse_str(&format!(
            "{log}[access_log]\nconcurrency_exclude_status = []\nconcurrency_max_request_time = \"1m\"\n[cloudwatch]\nnamespace = \"x\"\npending = \"log_concurrency\"\n"
        ))
        .unwrap();
    assert_eq!(
        config.access_log.unwrap().concurrency,
        LogConcurrencyFilter {
            exclude_status: vec![],
            max_request_time_us: Some(60_000_000)
        }
    );
    check_error(
            &format!("{log}[access_log]\nconcurrency_exclude_status = [101, 1000]\n[cloudwatch]\nnamespace = \"x\"\npending = \"log_concurrency\"\n"),
            5,
            "access_log.concurrency_exclude_status: 1000 is not an HTTP status",
        );
    check_error(
        &format!("{log}[access_log]\nconcurrency_max_request_time = \"1m\"\n[cloudwatch]\nnamespace = \"x\"\n"),
        5,
        "access_log.concurrency_max_request_time: only used with cloudwatch.pending = \"log_concurrency\"",
    );
}

#[test]
fn pending_formula() {
    assert_eq!(
        parse_str(MINIMAL).unwrap().cloudwatch.pending,
        Formula::InFlightPlusAcceptQueue
    );
    let config = parse_str("[cloudwatch]\nnamespace = \"x\"\npending = \"in_flight\"\n").unwrap();
    assert_eq!(config.cloudwatch.pending, Formula::InFlight);
    check_error(
        "[cloudwatch]\nnamespace = \"x\"\npending = \"queue\"\n",
        3,
        "is not one of in_flight+accept_queue",
    );
    check_error(
        "[cloudwatch]\nnamespace = \"x\"\npending = \"log_concurrency\"\n",
        3,
        "needs nginx.access_log",
    );
    check_error(
        "[nginx]\naccess_log = \"/l\"\n[cloudwatch]\nnamespace = \"x\"\npending = \"log_concurrency\"\n",
        5,
        "needs $request_time",
    );
    let with_time = "[nginx]\naccess_log = \"/l\"\nlog_format = '$msec $status $request_time'\n[cloudwatch]\nnamespace = \"x\"\npending = \"log_concurrency\"\n";
    assert_eq!(
        parse_str(with_time).unwrap().cloudwatch.pending,
        Formula::LogConcurrency
    );
}

#[test]
fn outputs() {
    let config = parse_str("[cloudwatch]\nnamespace = \"x\"\nput_metric_data = false\n[emf]\nenabled = true\n[http]\nlisten = \"127.0.0.1:9145\"\n").unwrap();
    assert_eq!(config.emf, Some(EmfOutput::Stdout));
    let emf = |output: &str| {
        parse_str(&format!(
            "[cloudwatch]\nnamespace = \"x\"\n[emf]\nenabled = true\noutput = \"{output}\"\n"
        ))
        .map(|c| c.emf)
    };
    assert_eq!(
        emf("tcp://127.0.0.1:25888").unwrap(),
        Some(EmfOutput::Tcp("127.0.0.1:25888".into()))
    );
    assert_eq!(
        emf("udp://localhost:25888").unwrap(),
        Some(EmfOutput::Udp("localhost:25888".into()))
    );
    assert_eq!(
        emf("tcp://[::1]:25888").unwrap(),
        Some(EmfOutput::Tcp("[::1]:25888".into()))
    );
    for bad in ["tcp://127.0.0.1", "udp://:25888", "http://127.0.0.1:25888", "tcp://h:0"] {
        let error = emf(bad).unwrap_err().to_string();
        assert!(error.starts_with("test.toml:5: emf.output: "), "{bad}: {error}");
    }
    assert!(!config.cloudwatch.put_metric_data);
    assert_eq!(config.http.map(|h| h.listen), Some("127.0.0.1:9145".parse().unwrap()));
    check_error(
        "[cloudwatch]\nnamespace = \"x\"\nput_metric_data = false\n",
        3,
        "nothing would be published",
    );
    check_error(
        "[cloudwatch]\nnamespace = \"x\"\n[emf]\nenabled = true\noutput = \"relative.log\"\n",
        5,
        "emf.output",
    );
}

#[test]
fn access_log_keys() {
    let config =
        parse_str("[nginx]\naccess_log = \"/var/log/nginx/access.log\"\n[cloudwatch]\nnamespace = \"x\"\n").unwrap();
    let access_log = config.access_log.unwrap();
    assert_eq!(access_log.path, PathBuf::from("/var/log/nginx/access.log"));
    assert_eq!(access_log.start_at, StartAt::End);
    assert_eq!(config.nginx.log_format, LogFormatSource::Combined);
    assert!(parse_str(MINIMAL).unwrap().access_log.is_none());
    let inline = "[nginx]\naccess_log = \"/l\"\nlog_format = '$msec $status $request_time'\nlog_format_escape = \"json\"\n[access_log]\nstart_at = \"beginning\"\nbreakdown = \"$status\"\n[cloudwatch]\nnamespace = \"x\"\n";
    let config = parse_str(inline).unwrap();
    assert_eq!(config.access_log.as_ref().unwrap().breakdown.as_deref(), Some("status"));
    assert_eq!(config.access_log.unwrap().start_at, StartAt::Beginning);
}

#[test]
fn access_log_publish() {
    let timed = "[nginx]\naccess_log = \"/l\"\nlog_format = '$msec $status $request_time'\n[cloudwatch]\nnamespace = \"x\"\n[access_log]\n";
    let config = parse_str(&format!(
        "{timed}publish = [\"RequestsCompleted\", \"RequestTimeP99\"]\n"
    ))
    .unwrap();
    assert_eq!(
        config.access_log.unwrap().publish,
        vec![LogMetric::RequestsCompleted, LogMetric::RequestTimeP99]
    );
    assert!(parse_str(timed).unwrap().access_log.unwrap().publish.is_empty());
    check_error(
        &format!("{timed}publish = [\"RequestsCompleted\",\n  \"P99\"]\n"),
        8,
        "access_log.publish: unknown metric \"P99\"; known: RequestsCompleted,",
    );
    check_error(
        &format!("{timed}publish = [\"Responses5xx\", \"Responses5xx\"]\n"),
        7,
        "listed twice",
    );
    check_error(
        &format!("{timed}publish = [\"UpstreamResponseTimeP99\"]\n"),
        7,
        "UpstreamResponseTimeP99 needs $upstream_response_time",
    );
    check_error(
        "[cloudwatch]\nnamespace = \"x\"\n[access_log]\npublish = [\"RequestsCompleted\"]\n",
        4,
        "access_log.publish: needs nginx.access_log",
    );
}

#[test]
fn access_log_errors() {
    check_error(
        "[nginx]\nlog_format = '$status $'\n[cloudwatch]\nnamespace = \"x\"\n",
        2,
        "nginx.log_format",
    );
    check_error(
        "[nginx]\naccess_log = \"/l\"\nlog_format = '$remote_addr'\n[cloudwatch]\nnamespace = \"x\"\n",
        3,
        "no $status",
    );
    check_error(
        "[nginx]\naccess_log = \"relative.log\"\n[cloudwatch]\nnamespace = \"x\"\n",
        2,
        "nginx.access_log",
    );
    check_error(
        "[nginx]\nlog_format_name = \"main\"\n[cloudwatch]\nnamespace = \"x\"\n",
        2,
        "needs nginx.nginx_conf",
    );
    check_error(
        "[nginx]\nlog_format_escape = \"xml\"\n[cloudwatch]\nnamespace = \"x\"\n",
        2,
        "nginx.log_format_escape",
    );
    check_error(
            "[nginx]\nlog_format_name = \"main\"\nnginx_conf = \"/nonexistent/nginx.conf\"\n[cloudwatch]\nnamespace = \"x\"\n",
            2,
            "/nonexistent/nginx.conf",
        );
    check_error(
        "[nginx]\naccess_log = \"/l\"\n[access_log]\nbreakdown = \"upstream_addr\"\n[cloudwatch]\nnamespace = \"x\"\n",
        4,
        "upstream_addr",
    );
    // A typo of a variable the format has: the breakdown key is wrong, not the format.
    check_error(
            "[nginx]\naccess_log = \"/l\"\nlog_format = '$msec $status $upstream_addr'\n[access_log]\nbreakdown = \"upstream_adr\"\n[cloudwatch]\nnamespace = \"x\"\n",
            5,
            "access_log.breakdown: the breakdown variable $upstream_adr is not in the log format; did you mean $upstream_addr?",
        );
    check_error(
        "[nginx]\naccess_log = \"/l\"\n[access_log]\nstart_at = \"middle\"\n[cloudwatch]\nnamespace = \"x\"\n",
        4,
        "access_log.start_at",
    );
}

#[test]
fn spool_and_rate_keys_get_defaults_and_accept_sizes() {
    let config = parse_str(MINIMAL).unwrap();
    assert_eq!(config.cloudwatch.spool_max_bytes, 16 << 20);
    assert_eq!(config.cloudwatch.spool_max_age, Duration::from_secs(14 * 24 * 3600));
    assert_eq!(config.cloudwatch.max_calls_per_second, 5);
    assert_eq!(config.daemon.state_directory, Path::new(DEFAULT_STATE_DIRECTORY));
    for (value, bytes) in [
        ("4096", 4096),
        ("\"64KiB\"", 65536),
        ("\"2 MB\"", 2_000_000),
        ("\"1GiB\"", 1 << 30),
    ] {
        let config = parse_str(&format!("{MINIMAL}spool_max_bytes = {value}\n")).unwrap();
        assert_eq!(config.cloudwatch.spool_max_bytes, bytes, "{value}");
    }
}

#[test]
fn absurd_spool_and_rate_values_are_rejected() {
    let check = |line: &str, needle: &str| check_error(&format!("{MINIMAL}{line}\n"), 3, needle);
    check(
        "spool_max_bytes = 0",
        "cloudwatch.spool_max_bytes: must be between 1KiB and 1GiB",
    );
    check("spool_max_bytes = -5", "cloudwatch.spool_max_bytes");
    check("spool_max_bytes = \"2GiB\"", "must be between");
    check("spool_max_bytes = \"2TiB\"", "not a size");
    check("spool_max_bytes = \"99999999999999999999GiB\"", "not a size");
    check("spool_max_bytes = \"16 parsecs\"", "not a size");
    check("spool_max_bytes = 1.5", "expected a size in bytes");
    check(
        "spool_max_age = \"15d\"",
        "cloudwatch.spool_max_age: must be at most 14d",
    );
    check("spool_max_age = \"0s\"", "must be greater than zero");
    check(
        "max_calls_per_second = 0",
        "cloudwatch.max_calls_per_second: must be between 1 and 100",
    );
    check("max_calls_per_second = 100000", "cloudwatch.max_calls_per_second");
    check_error(
        &format!("{MINIMAL}[daemon]\nstate_directory = \"var/lib/x\"\n"),
        4,
        "daemon.state_directory: must be an absolute path",
    );
    check_error(&format!("{MINIMAL}max_backlog = 10\n"), 3, "max_backlog");
}

#[test]
fn missing_file_is_a_read_error() {
    let error = load(Path::new("/nonexistent/config.toml")).unwrap_err();
    assert!(matches!(error, ConfigError::Read { .. }));
    assert!(error.to_string().contains("/nonexistent/config.toml"));
}
