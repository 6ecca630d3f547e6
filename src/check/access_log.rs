//! `check`'s access-log lines: the file is there, the daemon's service user can read it, the
//! lines at its end are in the configured format, and they carry the values the configured
//! signals need. When the scaling metric comes from the log alone (`cloudwatch.pending =
//! "log_concurrency"`) a problem fails `check`, with the fix; otherwise it is a warning.
//!
//! Whether the service user can read the file is decided from the mode bits, owner and group
//! of the file and of every directory above it, against the user's uid and groups read from
//! /etc/passwd and /etc/group (no switching user; ACLs are not read). The end of the file is
//! read (at most [`TAIL_BYTES`], [`TAIL_LINES`] lines) through the daemon's own line parser.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::config::{AccessLogConfig, Config};
use crate::derive::pending::Formula;
use crate::model::LogMetric;
use crate::sources::access_log::{self, BadLineCounts, LineParser};

/// The user the packaged unit runs the daemon as (`User=` in
/// systemd/nginx-backlog-exporter.service); `check --service-user` names another.
pub const SERVICE_USER: &str = "nginx-backlog-exporter";

/// How much of the log's end `check` reads: enough for a representative sample of lines,
/// little enough to be instant on any log.
pub(crate) const TAIL_BYTES: u64 = 64 * 1024;
/// At most this many lines of that.
pub(crate) const TAIL_LINES: usize = 1000;
/// Below this share of lines that parse, the format is wrong (or several formats share the
/// file): a metric from it would leave out that many requests.
pub(crate) const MIN_GOOD_SHARE: f64 = 0.9;

/// The column `check` prints its subject in.
const LABEL: &str = "access log    ";

/// Where `check` reads accounts (a parameter so tests can give their own).
#[derive(Debug, Clone, Copy)]
pub struct AccountFiles<'a> {
    pub(crate) passwd: &'a Path,
    pub group: &'a Path,
}

impl AccountFiles<'static> {
    pub fn system() -> AccountFiles<'static> {
        AccountFiles {
            passwd: Path::new("/etc/passwd"),
            group: Path::new("/etc/group"),
        }
    }
}

/// The access-log lines of `check`'s report, and how many problems fail it.
#[derive(Debug, Default, PartialEq)]
pub struct LogReport {
    pub lines: Vec<String>,
    pub problems: usize,
}

impl LogReport {
    /// A finding: FAILED when the scaling metric depends on the log, else a warning.
    fn finding(&mut self, fails: bool, message: String, fix: &str) {
        if fails {
            self.problems += 1;
            self.lines.push(format!("{LABEL}FAILED: {message}"));
        } else {
            self.lines.push(format!("{LABEL}warning: {message}"));
        }
        self.lines.push(format!("              fix: {fix}"));
    }
}

/// Check the configured access log; nothing when there is none. Each step adds its lines to
/// the report; the first that finds the log unusable ends it.
pub fn check(config: &Config, service_user: &str, accounts: AccountFiles<'_>) -> LogReport {
    let mut report = LogReport::default();
    let Some(log) = &config.access_log else {
        return report;
    };
    let depends = config.cloudwatch.pending == Formula::LogConcurrency;
    if !report.file_exists(depends, &log.path) {
        return report;
    }
    report.service_user_access(depends, &log.path, service_user, accounts);
    let Some(sample) = report.tail_sample(config, log, depends) else {
        return report;
    };
    if let Some(good) = report.format_matches(config, depends, &log.path, &sample) {
        report.values_carried(depends, &log.path, &sample, good);
    }
    report
}

impl LogReport {
    /// Whether the file is there; a finding when it is not (or cannot be looked at).
    fn file_exists(&mut self, depends: bool, path: &Path) -> bool {
        let Err(error) = std::fs::metadata(path) else {
            return true;
        };
        let shown = path.display();
        let message = if error.kind() == std::io::ErrorKind::NotFound {
            format!("{shown}: no such file")
        } else {
            format!("{shown}: {error}")
        };
        self.finding(
            depends,
            message,
            "set nginx.access_log to the file nginx's access_log directive writes (`nginx -T | grep access_log`)",
        );
        false
    }

    /// Whether `service_user` can read the file, from the accounts and the mode bits; a
    /// warning when that cannot be decided.
    fn service_user_access(&mut self, depends: bool, path: &Path, service_user: &str, accounts: AccountFiles<'_>) {
        let shown = path.display();
        match Accounts::read(accounts) {
            Err(error) => self.lines.push(format!(
                "{LABEL}warning: cannot read the accounts ({error}): whether {service_user} can read {shown} is not checked"
            )),
            Ok(accounts) => match accounts.user(service_user) {
                None => self.lines.push(format!(
                    "{LABEL}warning: no user {service_user} here (the packages create it): whether the daemon can read {shown} is not checked; give check --service-user for the user it runs as"
                )),
                Some(user) => {
                    if let Err(denied) = readable_by(path, &user) {
                        let group = accounts.group_name(denied.gid);
                        self.finding(
                            depends,
                            format!(
                                "{}: {service_user} cannot {} it: {}:{} mode {:04o}, and {service_user} is uid {} in groups {}",
                                denied.path.display(),
                                if denied.path == path { "read" } else { "enter" },
                                accounts.user_name(denied.uid),
                                group,
                                denied.mode & 0o7777,
                                user.uid,
                                accounts.group_names(&user.gids),
                            ),
                            &format!(
                                "give the group {group} read access (0640; nginx's logrotate `create 0640 www-data adm` does) and add {service_user} to it (`usermod -aG {group} {service_user}`, then restart the daemon)"
                            ),
                        );
                    }
                }
            },
        }
    }

    /// The end of the file, parsed; `None` (after saying why) when it cannot be read or
    /// holds no line.
    fn tail_sample(&mut self, config: &Config, log: &AccessLogConfig, depends: bool) -> Option<TailSample> {
        let shown = log.path.display();
        let tail = match read_tail(&log.path, TAIL_BYTES) {
            Ok(tail) => tail,
            Err(error) => {
                self.finding(
                    depends,
                    format!("{shown}: cannot read it: {error}"),
                    "run check as root, or as the daemon's user",
                );
                return None;
            }
        };
        let needs = needed_values(config, log);
        let sample = match sample_tail(log, &tail, &needs) {
            Ok(sample) => sample,
            // The config's validation builds the same parser: not reached in practice.
            Err(error) => {
                self.finding(depends, format!("{shown}: {error}"), "fix the log format");
                return None;
            }
        };
        if sample.lines == 0 {
            self.lines.push(format!(
                "{LABEL}{shown}: empty (just rotated, or no request yet): the format is not checked"
            ));
            return None;
        }
        Some(sample)
    }

    /// Whether enough of the sampled lines are in the configured format: the number that
    /// are, or `None` after a finding.
    fn format_matches(&mut self, config: &Config, depends: bool, path: &Path, sample: &TailSample) -> Option<u64> {
        let good = sample.lines - sample.bad.total();
        let share = good as f64 / sample.lines as f64;
        if share >= MIN_GOOD_SHARE {
            return Some(good);
        }
        self.finding(
            depends,
            format!(
                "{}: {good} of the last {} lines are in {} ({}): {}",
                path.display(),
                sample.lines,
                config.nginx.log_format,
                sample.bad.summary(),
                if depends {
                    "log_concurrency would leave those requests out"
                } else {
                    "the log signals leave those requests out"
                }
            ),
            "set nginx.log_format_name (or log_format) to the format of the access_log directive that writes this file; `parse-log --config ... FILE` shows each line's fields and what is wrong",
        );
        None
    }

    /// The ok line, with how often each needed value is set, then a finding for each that
    /// no sampled line carries.
    fn values_carried(&mut self, depends: bool, path: &Path, sample: &TailSample, good: u64) {
        let shown = path.display();
        let carried: Vec<String> = sample
            .carried
            .iter()
            .map(|(need, count)| format!("${} on {count} ({})", need.variable, need.users.join(", ")))
            .collect();
        self.lines.push(format!(
            "{LABEL}{shown}: ok ({good} of the last {} lines parse{}{})",
            sample.lines,
            if sample.bad.total() > 0 {
                format!("; {}", sample.bad.summary())
            } else {
                String::new()
            },
            if carried.is_empty() {
                String::new()
            } else {
                format!("; {}", carried.join(", "))
            }
        ));
        for (need, count) in &sample.carried {
            if *count == 0 && good > 0 {
                let fails = depends && need.variable == "request_time";
                self.finding(
                    fails,
                    format!(
                        "{shown}: no line of the last {} has a value for ${} ({} get nothing from it)",
                        sample.lines,
                        need.variable,
                        need.users.join(", ")
                    ),
                    &format!(
                        "log requests with ${} set (upstream times only exist for proxied requests)",
                        need.variable
                    ),
                );
            }
        }
    }
}

/// A value some configured signal needs, and which signals.
#[derive(Debug, Clone, PartialEq)]
struct Need {
    variable: &'static str,
    users: Vec<&'static str>,
}

/// The durations the configured signals read: `$request_time` for log_concurrency and the
/// in-flight and request-time metrics, `$upstream_response_time` for the upstream ones.
fn needed_values(config: &Config, log: &AccessLogConfig) -> Vec<Need> {
    let mut needs: Vec<Need> = Vec::new();
    let mut need = |variable: &'static str, user: &'static str| match needs.iter_mut().find(|n| n.variable == variable)
    {
        Some(need) => need.users.push(user),
        None => needs.push(Need {
            variable,
            users: vec![user],
        }),
    };
    if config.cloudwatch.pending == Formula::LogConcurrency {
        need("request_time", "log_concurrency");
    }
    for metric in &log.publish {
        match metric {
            LogMetric::RequestTimeP50
            | LogMetric::RequestTimeP90
            | LogMetric::RequestTimeP99
            | LogMetric::LogInFlightAverage
            | LogMetric::LogInFlightPeak => need("request_time", metric.name()),
            LogMetric::UpstreamResponseTimeP50
            | LogMetric::UpstreamResponseTimeP90
            | LogMetric::UpstreamResponseTimeP99 => need("upstream_response_time", metric.name()),
            LogMetric::RequestsCompleted | LogMetric::Responses5xx | LogMetric::Responses499 => {}
        }
    }
    needs
}

/// What the end of the log holds.
#[derive(Debug, Default)]
struct TailSample {
    lines: u64,
    bad: BadLineCounts,
    /// Per needed value: on how many good lines it is set.
    carried: Vec<(Need, u64)>,
}

/// Parse the last [`TAIL_LINES`] lines of `tail` as the daemon would.
fn sample_tail(log: &AccessLogConfig, tail: &[u8], needs: &[Need]) -> Result<TailSample, access_log::MissingVariable> {
    let mut parser = LineParser::new(log.format.clone(), log.breakdown.as_deref())?;
    let mut sample = TailSample {
        carried: needs.iter().map(|need| (need.clone(), 0)).collect(),
        ..TailSample::default()
    };
    let newlines = memchr::memchr_iter(b'\n', tail).count() + usize::from(!tail.ends_with(b"\n"));
    let skip = newlines.saturating_sub(TAIL_LINES);
    let mut index = 0;
    // `tail` is at most TAIL_BYTES: for_each_line over a slice never fails.
    let _ = access_log::for_each_line(tail, |item| {
        index += 1;
        if index <= skip {
            return;
        }
        sample.lines += 1;
        match item.and_then(|line| parser.parse(line)) {
            Ok(request) => {
                for (need, count) in &mut sample.carried {
                    let set = match need.variable {
                        "request_time" => request.request_time_us.is_some(),
                        _ => request.upstream_time_us.is_some(),
                    };
                    *count += u64::from(set);
                }
            }
            Err(reason) => sample.bad.bump(reason),
        }
    });
    Ok(sample)
}

/// The whole lines in the last `max_bytes` of the file.
fn read_tail(path: &Path, max_bytes: u64) -> std::io::Result<Vec<u8>> {
    let mut file = File::open(path)?;
    let len = file.metadata()?.len();
    // One byte before the window too: if it is a newline, the window starts a line.
    let start = len.saturating_sub(max_bytes).saturating_sub(1);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::with_capacity((len - start) as usize);
    file.take(max_bytes + 1).read_to_end(&mut tail)?;
    if len > max_bytes {
        // Up to the first newline is a cut line (or that one byte before the window).
        let cut = memchr::memchr(b'\n', &tail).map_or(tail.len(), |newline| newline + 1);
        tail.drain(..cut);
    }
    Ok(tail)
}

/// A user as the kernel checks file access: uid and every group (primary first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub uid: u32,
    pub(crate) gids: Vec<u32>,
}

/// /etc/passwd and /etc/group, parsed (`name:password:id:...` lines).
#[derive(Debug, Default)]
pub(crate) struct Accounts {
    /// `(name, uid, primary gid)`.
    users: Vec<(String, u32, u32)>,
    /// `(name, gid, members)`.
    groups: Vec<(String, u32, Vec<String>)>,
}

impl Accounts {
    fn read(files: AccountFiles<'_>) -> std::io::Result<Accounts> {
        let passwd = std::fs::read_to_string(files.passwd)?;
        let group = std::fs::read_to_string(files.group)?;
        Ok(Accounts::parse(&passwd, &group))
    }

    /// Lines that do not have the fields are skipped (comments, NIS `+` lines).
    pub fn parse(passwd: &str, group: &str) -> Accounts {
        let users = passwd
            .lines()
            .filter_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                let uid = fields.nth(1)?.parse().ok()?;
                let gid = fields.next()?.parse().ok()?;
                Some((name.to_string(), uid, gid))
            })
            .collect();
        let groups = group
            .lines()
            .filter_map(|line| {
                let mut fields = line.split(':');
                let name = fields.next()?;
                let gid = fields.nth(1)?.parse().ok()?;
                let members = fields
                    .next()
                    .unwrap_or("")
                    .split(',')
                    .filter(|m| !m.is_empty())
                    .map(str::to_string)
                    .collect();
                Some((name.to_string(), gid, members))
            })
            .collect();
        Accounts { users, groups }
    }

    /// The user's uid, primary group, and every group that lists it as a member.
    pub fn user(&self, name: &str) -> Option<User> {
        let &(_, uid, gid) = self.users.iter().find(|(n, _, _)| n == name)?;
        let mut gids = vec![gid];
        for (_, group, members) in &self.groups {
            if members.iter().any(|m| m == name) && !gids.contains(group) {
                gids.push(*group);
            }
        }
        Some(User { uid, gids })
    }

    fn user_name(&self, uid: u32) -> String {
        self.users
            .iter()
            .find(|(_, id, _)| *id == uid)
            .map_or_else(|| uid.to_string(), |(name, _, _)| name.clone())
    }

    fn group_name(&self, gid: u32) -> String {
        self.groups
            .iter()
            .find(|(_, id, _)| *id == gid)
            .map_or_else(|| gid.to_string(), |(name, _, _)| name.clone())
    }

    fn group_names(&self, gids: &[u32]) -> String {
        let names: Vec<String> = gids.iter().map(|&gid| self.group_name(gid)).collect();
        names.join(",")
    }
}

/// The owner class's bits decide for the owner, the group's for a member, the others' else;
/// root passes (CAP_DAC_OVERRIDE). `want`: 4 read, 1 search (enter a directory).
pub(crate) fn permits(mode: u32, owner: u32, group: u32, user: &User, want: u32) -> bool {
    let bits = if user.uid == 0 {
        return true;
    } else if user.uid == owner {
        mode >> 6
    } else if user.gids.contains(&group) {
        mode >> 3
    } else {
        mode
    };
    bits & want == want
}

/// The first place on the way to `path` that keeps `user` out.
#[derive(Debug, PartialEq)]
struct Denied<'p> {
    path: &'p Path,
    uid: u32,
    gid: u32,
    mode: u32,
}

/// Every directory above `path` must let `user` in, and `path` must let it read.
fn readable_by<'p>(path: &'p Path, user: &User) -> Result<(), Denied<'p>> {
    let mut steps: Vec<(&Path, u32)> = path.ancestors().skip(1).map(|dir| (dir, 1)).collect();
    steps.reverse();
    steps.push((path, 4));
    for (step, want) in steps {
        if step.as_os_str().is_empty() {
            continue;
        }
        // What cannot be looked at here (this check's own user is kept out) is not judged.
        let Ok(meta) = std::fs::metadata(step) else { continue };
        if !permits(meta.mode(), meta.uid(), meta.gid(), user, want) {
            return Err(Denied {
                path: step,
                uid: meta.uid(),
                gid: meta.gid(),
                mode: meta.mode(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\nnginx-backlog-exporter:x:998:997::/var/lib/nginx-backlog-exporter:/usr/sbin/nologin\n";
    const GROUP: &str =
        "root:x:0:\nadm:x:4:syslog,nginx-backlog-exporter\nwww-data:x:33:\nnginx-backlog-exporter:x:997:\n";

    #[test]
    fn a_user_has_its_primary_group_and_those_that_list_it() {
        let accounts = Accounts::parse(PASSWD, GROUP);
        assert_eq!(
            accounts.user("nginx-backlog-exporter"),
            Some(User {
                uid: 998,
                gids: vec![997, 4]
            })
        );
        assert_eq!(
            accounts.user("www-data"),
            Some(User {
                uid: 33,
                gids: vec![33]
            })
        );
        assert_eq!(accounts.user("nobody"), None);
    }

    /// The kernel's order (path_resolution(7), "Permissions"): the owner's bits for the
    /// owner, else the group's for a member, else the others'.
    #[test]
    fn the_class_that_matches_decides() {
        let exporter = User {
            uid: 998,
            gids: vec![997, 4],
        };
        let cases = [
            // Debian's /var/log/nginx/access.log: www-data:adm 0640, the exporter in adm.
            (0o640, 33, 4, 4, true),
            // root:root 0600.
            (0o600, 0, 0, 4, false),
            // Owned by the user but not readable by its owner, readable by others: no.
            (0o044, 998, 0, 4, false),
            // Group-only readable by a group the user is not in.
            (0o640, 33, 33, 4, false),
            (0o644, 33, 33, 4, true),
            // /var/log/nginx on Debian: www-data:adm 0755; a 0750 directory of another group.
            (0o755, 33, 4, 1, true),
            (0o750, 0, 33, 1, false),
        ];
        for (mode, owner, group, want, expected) in cases {
            assert_eq!(
                permits(mode, owner, group, &exporter, want),
                expected,
                "mode {mode:o} {owner}:{group} want {want}"
            );
        }
        let root = User { uid: 0, gids: vec![0] };
        assert!(permits(0o000, 33, 33, &root, 4));
    }

    /// The packaged unit's User= is what `check` assumes.
    #[test]
    fn the_service_user_is_the_units() {
        let unit = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/systemd/nginx-backlog-exporter.service"
        ))
        .unwrap();
        assert!(
            unit.lines().any(|line| line == format!("User={SERVICE_USER}")),
            "{unit}"
        );
    }

    #[test]
    fn the_tail_starts_at_a_whole_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("access.log");
        std::fs::write(&path, "first line\nsecond line\nthird\n").unwrap();
        assert_eq!(read_tail(&path, 1000).unwrap(), b"first line\nsecond line\nthird\n");
        // The last 15 bytes cut "second line" short: it is left out.
        assert_eq!(read_tail(&path, 15).unwrap(), b"third\n");
        // The last 18 are "second line\nthird\n" exactly: both are whole.
        assert_eq!(read_tail(&path, 18).unwrap(), b"second line\nthird\n");
        assert_eq!(read_tail(&path, 3).unwrap(), b"");
    }
}
