//! Property test: random writes, rotations, truncations, deletions and restarts against a
//! real file, with the tailer driven in between, compared with a simple model.
//!
//! Every line carries a unique number, so the check is exact: every line written is read
//! exactly once and in order, except the ones the model knows could not be read (written
//! after the tailer's last read and then removed by copytruncate, or removed by delete
//! while the tailer was not running) and overlong ones, which are dropped by design.
//!
//! Like nginx, the writer never leaves a partial line across a rotation: a line written in
//! two pieces is completed before any rename, truncation or delete.

use std::collections::HashSet;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nginx_backlog_exporter::sources::access_log::tail::{rotated_sibling, StartAt, Tailer, TailerOptions};
use proptest::prelude::*;

const MAX_LINE_BYTES: usize = 64;

#[derive(Debug, Clone)]
enum Op {
    /// `lines` whole lines, then maybe the first piece of one more; some are overlong.
    Append {
        lines: Vec<LineSpec>,
        partial: Option<(LineSpec, usize)>,
    },
    /// Drain with this many lines per call until caught up.
    Drive {
        batch: usize,
    },
    RenameCreate,
    CopyTruncate,
    DeleteRecreate,
    /// Checkpoint and drop the tailer; it is opened again at the next drive.
    Restart,
}

#[derive(Debug, Clone)]
struct LineSpec {
    filler: Vec<u8>,
    overlong: bool,
}

fn line_spec() -> impl Strategy<Value = LineSpec> {
    (
        // Any byte but the newline: lines are bytes, not UTF-8.
        prop::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..40),
        prop::bool::weighted(0.05),
    )
        .prop_map(|(filler, overlong)| LineSpec { filler, overlong })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (
            prop::collection::vec(line_spec(), 0..4),
            prop::option::weighted(0.3, (line_spec(), 1usize..200)),
        )
            .prop_map(|(lines, partial)| Op::Append { lines, partial }),
        4 => (1usize..6).prop_map(|batch| Op::Drive { batch }),
        1 => Just(Op::RenameCreate),
        1 => Just(Op::CopyTruncate),
        1 => Just(Op::DeleteRecreate),
        1 => Just(Op::Restart),
    ]
}

fn render(number: u64, spec: &LineSpec) -> Vec<u8> {
    let mut line = format!("{number:08} ").into_bytes();
    line.extend_from_slice(&spec.filler);
    if spec.overlong {
        line.resize(MAX_LINE_BYTES + 1 + spec.filler.len(), b'x');
    } else {
        line.truncate(MAX_LINE_BYTES);
    }
    line
}

fn append(path: &Path, bytes: &[u8]) {
    let mut file = fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    file.write_all(bytes).unwrap();
}

/// What the file at `path` holds, and what the tailer can still deliver from it.
struct Model {
    dir: tempfile::TempDir,
    log: PathBuf,
    next_number: u64,
    /// Every line in write order, as written (without the newline).
    written: Vec<(u64, Vec<u8>)>,
    /// Lines that will never be delivered, and why that is acceptable.
    lost: HashSet<u64>,
    /// Bytes (with newlines) that copytruncate removed after the tailer had read part of
    /// the file; the tailer can measure those from the copy.
    lost_bytes_detectable: u64,
    lost_bytes_total: u64,
    /// Complete lines in the file now at `path` (number, bytes with newline).
    in_file: Vec<(u64, usize)>,
    /// How many of `in_file` the tailer has delivered.
    delivered_in_file: usize,
    /// A line whose first `cut` bytes are in the file: (number, whole line, cut).
    pending: Option<(u64, Vec<u8>, usize)>,
}

impl Model {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("access.log");
        fs::write(&log, b"").unwrap();
        Model {
            dir,
            log,
            next_number: 0,
            written: Vec::new(),
            lost: HashSet::new(),
            lost_bytes_detectable: 0,
            lost_bytes_total: 0,
            in_file: Vec::new(),
            delivered_in_file: 0,
            pending: None,
        }
    }

    fn options(&self) -> TailerOptions {
        TailerOptions {
            start_at: StartAt::Beginning,
            max_line_bytes: MAX_LINE_BYTES,
            checkpoint_interval: Duration::ZERO,
            ..TailerOptions::new(&self.log, self.dir.path().join("state"))
        }
    }

    fn write_line(&mut self, spec: &LineSpec) {
        let number = self.next_number;
        self.next_number += 1;
        let line = render(number, spec);
        let mut bytes = line.clone();
        bytes.push(b'\n');
        append(&self.log, &bytes);
        self.record(number, line);
    }

    fn record(&mut self, number: u64, line: Vec<u8>) {
        if line.len() > MAX_LINE_BYTES {
            self.lost.insert(number);
        }
        self.in_file.push((number, line.len() + 1));
        self.written.push((number, line));
    }

    fn complete_pending(&mut self) {
        if let Some((number, line, cut)) = self.pending.take() {
            let mut rest = line[cut..].to_vec();
            rest.push(b'\n');
            append(&self.log, &rest);
            self.record(number, line);
        }
    }

    /// Lines of the file at `path` that the tailer had not delivered are gone.
    fn lose_undelivered(&mut self, detectable: bool) {
        let undelivered = &self.in_file[self.delivered_in_file..];
        let bytes: u64 = undelivered.iter().map(|(_, size)| *size as u64).sum();
        self.lost.extend(undelivered.iter().map(|(number, _)| *number));
        self.lost_bytes_total += bytes;
        if detectable {
            self.lost_bytes_detectable += bytes;
        }
    }

    fn file_was_replaced(&mut self) {
        self.in_file.clear();
        self.delivered_in_file = 0;
    }
}

struct Harness {
    model: Model,
    tailer: Option<Tailer>,
    runtime: tokio::runtime::Runtime,
    read: Vec<Vec<u8>>,
}

impl Harness {
    fn drive(&mut self, batch: usize) {
        if self.tailer.is_none() {
            self.tailer = Some(Tailer::open(self.model.options()).unwrap());
        }
        let tailer = self.tailer.as_mut().unwrap();
        let read = &mut self.read;
        self.runtime.block_on(async {
            loop {
                let drained = tailer
                    .drain(batch, &mut |line: &[u8]| read.push(line.to_vec()))
                    .await
                    .unwrap();
                if drained.caught_up {
                    break;
                }
            }
        });
        self.model.delivered_in_file = self.model.in_file.len();
    }

    fn apply(&mut self, op: &Op) {
        let log = self.model.log.clone();
        let rotated = rotated_sibling(&log);
        match op {
            Op::Append { lines, partial } => {
                self.model.complete_pending();
                for spec in lines {
                    self.model.write_line(spec);
                }
                if let Some((spec, cut)) = partial {
                    let number = self.model.next_number;
                    self.model.next_number += 1;
                    let line = render(number, spec);
                    // Every rendered line is at least 9 bytes: cut inside it.
                    let cut = 1 + cut % (line.len() - 1);
                    append(&log, &line[..cut]);
                    self.model.pending = Some((number, line, cut));
                }
            }
            Op::Drive { batch } => self.drive(*batch),
            Op::RenameCreate => {
                self.model.complete_pending();
                fs::rename(&log, &rotated).unwrap();
                fs::write(&log, b"").unwrap();
                self.model.file_was_replaced();
                self.drive(usize::MAX);
            }
            Op::CopyTruncate => {
                self.model.complete_pending();
                // logrotate removes the previous copy and copies into a new file.
                if rotated.exists() {
                    fs::remove_file(&rotated).unwrap();
                }
                fs::copy(&log, &rotated).unwrap();
                fs::OpenOptions::new()
                    .write(true)
                    .open(&log)
                    .unwrap()
                    .set_len(0)
                    .unwrap();
                let detectable = self.model.delivered_in_file > 0;
                self.model.lose_undelivered(detectable);
                self.model.file_was_replaced();
                self.drive(usize::MAX);
            }
            Op::DeleteRecreate => {
                self.model.complete_pending();
                fs::remove_file(&log).unwrap();
                fs::write(&log, b"").unwrap();
                if self.tailer.is_none() {
                    // Nobody held the old file open: what was not delivered is gone.
                    self.model.lose_undelivered(false);
                }
                self.model.file_was_replaced();
                self.drive(usize::MAX);
            }
            Op::Restart => {
                if let Some(mut tailer) = self.tailer.take() {
                    tailer.checkpoint().unwrap();
                }
            }
        }
    }
}

fn check(ops: &[Op]) -> Result<(), TestCaseError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let mut harness = Harness {
        model: Model::new(),
        tailer: None,
        runtime,
        read: Vec::new(),
    };
    harness.drive(usize::MAX);
    for op in ops {
        harness.apply(op);
    }
    harness.model.complete_pending();
    harness.drive(usize::MAX);

    let expected: Vec<&[u8]> = harness
        .model
        .written
        .iter()
        .filter(|(number, _)| !harness.model.lost.contains(number))
        .map(|(_, line)| line.as_slice())
        .collect();
    let read: Vec<&[u8]> = harness.read.iter().map(Vec::as_slice).collect();
    prop_assert_eq!(read, expected);
    let lost_bytes = harness
        .tailer
        .as_ref()
        .map(|tailer| tailer.counters().possibly_lost_bytes)
        .unwrap_or(0);
    // A restart resets the counters, so only check when the tailer lived throughout.
    if !ops.iter().any(|op| matches!(op, Op::Restart)) {
        prop_assert!(
            lost_bytes >= harness.model.lost_bytes_detectable && lost_bytes <= harness.model.lost_bytes_total,
            "possibly_lost_bytes {} not in [{}, {}]",
            lost_bytes,
            harness.model.lost_bytes_detectable,
            harness.model.lost_bytes_total
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_line_is_read_once_in_order_unless_the_model_says_it_was_lost(
        ops in prop::collection::vec(op(), 1..40)
    ) {
        check(&ops)?;
    }
}
