//! Logging: the systemd journal (with priorities) when started by systemd, stderr otherwise.
//! Our code logs through `tracing`; with no tracing subscriber installed, tracing hands
//! events to the `log` facade, which systemd-journal-logger writes to the journal.

use tracing::Level;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    Journal,
    Stderr,
}

/// Our own crate's target, the only one logged below warn level.
const OWN_TARGET: &str = "nginx_backlog_exporter";
/// The SDK's credential chain warns with the error's Debug form (hundreds of characters of
/// HTTP response); our own message names each provider and its cause (sinks/cloudwatch/credentials.rs).
const CREDENTIAL_CHAIN_TARGET: &str = "aws_config::meta::credentials::chain";

pub fn init(level: Level) -> LogTarget {
    if systemd_journal_logger::connected_to_journal() {
        if let Ok(journal) = systemd_journal_logger::JournalLog::new() {
            let journal = journal.with_syslog_identifier("nginx-backlog-exporter".to_owned());
            if log::set_boxed_logger(Box::new(OwnCrateFirst { inner: journal })).is_ok() {
                log::set_max_level(to_log_filter(level));
                return LogTarget::Journal;
            }
        }
    }
    // A static target filter, not EnvFilter: it needs no regex engine (about 250 KB of code
    // the idle daemon would map for nothing).
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::filter::Targets::new()
        .with_default(Level::WARN)
        .with_target(OWN_TARGET, level)
        .with_target(CREDENTIAL_CHAIN_TARGET, Level::ERROR);
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .with(filter)
        .init();
    LogTarget::Stderr
}

fn to_log_filter(level: Level) -> log::LevelFilter {
    match level {
        Level::ERROR => log::LevelFilter::Error,
        Level::WARN => log::LevelFilter::Warn,
        Level::INFO => log::LevelFilter::Info,
        Level::DEBUG => log::LevelFilter::Debug,
        Level::TRACE => log::LevelFilter::Trace,
    }
}

/// Keeps the AWS SDK's and hyper's chatter out of the journal unless it is a warning.
struct OwnCrateFirst<L> {
    inner: L,
}

impl<L: log::Log> log::Log for OwnCrateFirst<L> {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        let wanted = if metadata.target().starts_with(OWN_TARGET) {
            true
        } else if metadata.target().starts_with(CREDENTIAL_CHAIN_TARGET) {
            metadata.level() <= log::Level::Error
        } else {
            metadata.level() <= log::Level::Warn
        };
        wanted && self.inner.enabled(metadata)
    }

    fn log(&self, record: &log::Record) {
        if self.enabled(record.metadata()) {
            self.inner.log(record);
        }
    }

    fn flush(&self) {
        self.inner.flush();
    }
}
