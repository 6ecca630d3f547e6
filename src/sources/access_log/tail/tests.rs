use super::*;
use std::fs;
use std::io::Write;
use std::path::Path;
use tokio_util::sync::CancellationToken;

struct Fixture {
    _dir: tempfile::TempDir,
    log: PathBuf,
    state: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access.log");
    let state = dir.path().join("state");
    Fixture { _dir: dir, log, state }
}

impl Fixture {
    fn options(&self) -> TailerOptions {
        TailerOptions {
            start_at: StartAt::Beginning,
            checkpoint_interval: Duration::ZERO,
            ..TailerOptions::new(&self.log, &self.state)
        }
    }

    fn tailer(&self) -> Tailer {
        Tailer::open(self.options()).unwrap()
    }

    fn append(&self, bytes: &[u8]) {
        append(&self.log, bytes);
    }

    fn rotated(&self) -> PathBuf {
        rotated_sibling(&self.log)
    }
}

fn append(path: &Path, bytes: &[u8]) {
    let mut file = fs::OpenOptions::new().create(true).append(true).open(path).unwrap();
    file.write_all(bytes).unwrap();
}

/// copytruncate as logrotate does it: copy the content, then truncate in place.
fn copytruncate(path: &Path, copy: &Path) {
    fs::copy(path, copy).unwrap();
    fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(0)
        .unwrap();
}

async fn drain(tailer: &mut Tailer) -> Vec<String> {
    let mut lines = Vec::new();
    let drained = tailer
        .drain(usize::MAX, &mut |line: &[u8]| {
            lines.push(String::from_utf8_lossy(line).into_owned())
        })
        .await
        .unwrap();
    assert!(drained.caught_up);
    lines
}

fn check(actual: Vec<String>, expected: &[&str]) {
    assert_eq!(actual, expected);
}

#[tokio::test]
async fn partial_line_is_held_until_its_newline() {
    let f = fixture();
    f.append(b"one\ntw");
    let mut tailer = f.tailer();
    check(drain(&mut tailer).await, &["one"]);
    f.append(b"o");
    check(drain(&mut tailer).await, &[]);
    f.append(b"\nthree\n");
    check(drain(&mut tailer).await, &["two", "three"]);
}

#[tokio::test]
async fn overlong_line_is_dropped_counted_and_never_buffered() {
    let f = fixture();
    let mut tailer = Tailer::open(TailerOptions {
        max_line_bytes: 1024,
        ..f.options()
    })
    .unwrap();
    f.append(b"before\n");
    f.append(&vec![b'x'; 10 * 1024 * 1024]);
    check(drain(&mut tailer).await, &["before"]);
    let held = tailer.current.as_ref().unwrap().splitter.held_capacity();
    assert!(held <= 2 * 1024, "buffered {held} bytes of an overlong line");
    f.append(b"\nafter\n");
    f.append(&[b'y'; 1025]);
    f.append(b"\n");
    f.append(&[b'z'; 1024]);
    f.append(b"\n");
    let z = "z".repeat(1024);
    check(drain(&mut tailer).await, &["after", &z]);
    assert_eq!(tailer.counters().overlong_lines, 2);
    assert_eq!(tailer.counters().lines, 3);
}

#[tokio::test]
async fn non_utf8_bytes_pass_through_as_bytes() {
    let f = fixture();
    f.append(b"\xff\xfe ok\r\n\x00\n");
    let mut tailer = f.tailer();
    let mut lines = Vec::new();
    tailer
        .drain(usize::MAX, &mut |line: &[u8]| lines.push(line.to_vec()))
        .await
        .unwrap();
    assert_eq!(lines, vec![b"\xff\xfe ok\r".to_vec(), b"\x00".to_vec()]);
}

#[tokio::test]
async fn rename_and_create_drains_unread_old_lines_first() {
    let f = fixture();
    f.append(b"a\nb\n");
    let mut tailer = f.tailer();
    check(drain(&mut tailer).await, &["a", "b"]);
    f.append(b"c\n");
    fs::rename(&f.log, f.rotated()).unwrap();
    f.append(b"d\n");
    // A worker that has not reopened yet still writes to the old file.
    append(&f.rotated(), b"late\n");
    check(drain(&mut tailer).await, &["c", "late", "d"]);
    append(&f.rotated(), b"later\n");
    f.append(b"e\n");
    check(drain(&mut tailer).await, &["later", "e"]);
    assert_eq!(tailer.counters().rotations, 1);
    assert_eq!(tailer.counters().possibly_lost_bytes, 0);
}

#[tokio::test(start_paused = true)]
async fn rotated_file_is_closed_after_it_stays_quiet() {
    let f = fixture();
    f.append(b"a\n");
    let mut tailer = f.tailer();
    check(drain(&mut tailer).await, &["a"]);
    fs::rename(&f.log, f.rotated()).unwrap();
    f.append(b"b\n");
    check(drain(&mut tailer).await, &["b"]);
    assert!(tailer.rotated.is_some());
    tokio::time::advance(DEFAULT_ROTATED_FILE_GRACE).await;
    check(drain(&mut tailer).await, &[]);
    assert!(tailer.rotated.is_none());
}

#[tokio::test]
async fn copytruncate_starts_again_at_zero_and_counts_the_unread_tail() {
    let f = fixture();
    f.append(b"a\nb\n");
    let mut tailer = f.tailer();
    check(drain(&mut tailer).await, &["a", "b"]);
    f.append(b"lost\n");
    copytruncate(&f.log, &f.rotated());
    f.append(b"c\n");
    check(drain(&mut tailer).await, &["c"]);
    assert_eq!(tailer.counters().truncations, 1);
    assert_eq!(tailer.counters().possibly_lost_bytes, 5);
}

#[tokio::test]
async fn copytruncate_noticed_after_the_file_grew_past_our_offset() {
    let f = fixture();
    f.append(b"line 1\nline 2\n");
    let mut tailer = f.tailer();
    check(drain(&mut tailer).await, &["line 1", "line 2"]);
    copytruncate(&f.log, &f.rotated());
    f.append(b"line 3\nline 4\nline 5\n");
    check(drain(&mut tailer).await, &["line 3", "line 4", "line 5"]);
    assert_eq!(tailer.counters().truncations, 1);
}

#[tokio::test]
async fn delete_and_recreate_reads_the_old_handle_then_the_new_file() {
    let f = fixture();
    f.append(b"a\n");
    let mut tailer = f.tailer();
    check(drain(&mut tailer).await, &["a"]);
    f.append(b"b\n");
    fs::remove_file(&f.log).unwrap();
    // Nothing replaced it yet: the held handle still reads the unlinked file.
    check(drain(&mut tailer).await, &["b"]);
    f.append(b"c\n");
    check(drain(&mut tailer).await, &["c"]);
    f.append(b"d\n");
    fs::remove_file(&f.log).unwrap();
    f.append(b"e\n");
    check(drain(&mut tailer).await, &["d", "e"]);
    assert_eq!(tailer.counters().rotations, 2);
}

#[tokio::test]
async fn replaced_by_a_bigger_or_smaller_file() {
    let f = fixture();
    f.append(b"old 1\nold 2\n");
    let mut tailer = f.tailer();
    check(drain(&mut tailer).await, &["old 1", "old 2"]);
    let replacement = f.log.with_extension("new");
    fs::write(&replacement, b"n\n").unwrap();
    fs::rename(&replacement, &f.log).unwrap();
    check(drain(&mut tailer).await, &["n"]);
    fs::write(&replacement, b"bigger 1\nbigger 2\nbigger 3\n").unwrap();
    fs::rename(&replacement, &f.log).unwrap();
    check(drain(&mut tailer).await, &["bigger 1", "bigger 2", "bigger 3"]);
    assert_eq!(tailer.counters().rotations, 2);
}

#[tokio::test]
async fn missing_at_start_then_read_from_its_beginning() {
    let f = fixture();
    let mut tailer = Tailer::open(TailerOptions {
        start_at: StartAt::End,
        ..f.options()
    })
    .unwrap();
    check(drain(&mut tailer).await, &[]);
    check(drain(&mut tailer).await, &[]);
    f.append(b"first\n");
    check(drain(&mut tailer).await, &["first"]);
    assert_eq!(tailer.counters().io_errors, 0);
}

#[tokio::test]
async fn a_checkpoint_that_cannot_be_written_does_not_stop_the_reading() {
    let f = fixture();
    let mut tailer = f.tailer();
    let store = CheckpointStore::for_path(&f.state, &f.log).unwrap();
    // Something in the way of the checkpoint's temporary file: its writes fail.
    let blocker = crate::atomic_file::temporary_for(store.file());
    fs::create_dir_all(&blocker).unwrap();
    f.append(b"one\ntwo\n");
    check(drain(&mut tailer).await, &["one", "two"]);
    f.append(b"three\n");
    check(drain(&mut tailer).await, &["three"]);
    let counters = tailer.counters();
    assert_eq!(counters.io_errors, 0, "a read error it is not");
    assert!(counters.checkpoint_failures >= 1, "{counters:?}");
    fs::remove_dir(&blocker).unwrap();
    f.append(b"four\n");
    check(drain(&mut tailer).await, &["four"]);
    assert_eq!(
        store.load().unwrap().unwrap().files[0].offset,
        19,
        "written again, at the end"
    );
}

#[tokio::test(start_paused = true)]
async fn run_waits_for_a_missing_file_on_the_timer_and_checkpoints_on_cancel() {
    let f = fixture();
    let tailer = Tailer::open(f.options()).unwrap();
    let token = CancellationToken::new();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink_seen = Arc::clone(&seen);
    let task = tokio::spawn(tailer.run(token.clone(), move |line: &[u8]| {
        sink_seen.lock().unwrap().push(line.to_vec())
    }));
    tokio::time::sleep(Duration::from_secs(5)).await;
    f.append(b"hello\n");
    for _ in 0..10 {
        tokio::time::sleep(DEFAULT_RECHECK_INTERVAL).await;
        if !seen.lock().unwrap().is_empty() {
            break;
        }
    }
    token.cancel();
    let counters = task.await.unwrap();
    assert_eq!(*seen.lock().unwrap(), vec![b"hello".to_vec()]);
    assert_eq!(counters.io_errors, 0);
    let store = CheckpointStore::for_path(&f.state, &f.log).unwrap();
    assert_eq!(store.load().unwrap().unwrap().files[0].offset, 6);
}

#[tokio::test]
async fn a_notify_event_wakes_run_long_before_the_timer() {
    let f = fixture();
    f.append(b"");
    let tailer = Tailer::open(TailerOptions {
        recheck_interval: Duration::from_secs(3600),
        ..f.options()
    })
    .unwrap();
    let token = CancellationToken::new();
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let task = tokio::spawn(tailer.run(token.clone(), move |line: &[u8]| {
        let _ = sender.send(line.to_vec());
    }));
    // Let run reach its wait before the write.
    tokio::time::sleep(Duration::from_millis(100)).await;
    f.append(b"woken\n");
    let line = tokio::time::timeout(Duration::from_secs(5), receiver.recv()).await;
    token.cancel();
    task.await.unwrap();
    assert_eq!(line.unwrap().unwrap(), b"woken");
}

#[tokio::test(start_paused = true)]
async fn a_growing_file_is_drained_on_the_poll_timer_with_the_watch_off() {
    let f = fixture();
    f.append(b"");
    let poll = Duration::from_millis(250);
    let mut tailer = Tailer::open(TailerOptions {
        recheck_interval: Duration::from_secs(3600),
        append_poll_interval: poll,
        ..f.options()
    })
    .unwrap();
    assert!(tailer.watching, "the watch is on while the file is quiet");
    f.append(b"a\n");
    check(drain(&mut tailer).await, &["a"]);
    // Growing: further writes wake nobody; the next drain is one poll interval away.
    let started = Instant::now();
    tailer.wait_for_change().await;
    assert!(!tailer.watching);
    assert!(started.elapsed() >= poll && started.elapsed() < 2 * poll);
    f.append(b"b\n");
    check(drain(&mut tailer).await, &["b"]);
    tailer.wait_for_change().await;
    check(drain(&mut tailer).await, &[]);
    // Quiet again: the watch comes back on, and a line written before it did (after the
    // drain that found nothing) is drained at once, not at the next re-check.
    f.append(b"c\n");
    let started = Instant::now();
    tailer.wait_for_change().await;
    assert!(tailer.watching);
    assert_eq!(started.elapsed(), Duration::ZERO);
    check(drain(&mut tailer).await, &["c"]);
}

#[tokio::test(start_paused = true)]
async fn a_rotation_while_growing_is_found_by_the_next_poll_without_notify() {
    let f = fixture();
    f.append(b"a\n");
    let mut tailer = f.tailer();
    check(drain(&mut tailer).await, &["a"]);
    tailer.wait_for_change().await;
    assert!(!tailer.watching);
    f.append(b"b\n");
    fs::rename(&f.log, f.rotated()).unwrap();
    f.append(b"c\n");
    let started = Instant::now();
    tailer.wait_for_change().await;
    assert!(started.elapsed() <= DEFAULT_APPEND_POLL_INTERVAL);
    check(drain(&mut tailer).await, &["b", "c"]);
    assert_eq!(tailer.counters().rotations, 1);
}

#[tokio::test]
async fn start_at_end_skips_whole_lines_but_keeps_the_one_being_written() {
    let f = fixture();
    f.append(b"old 1\nold 2\nnew");
    let mut tailer = Tailer::open(TailerOptions {
        start_at: StartAt::End,
        ..f.options()
    })
    .unwrap();
    check(drain(&mut tailer).await, &[]);
    f.append(b" 1\nnew 2\n");
    check(drain(&mut tailer).await, &["new 1", "new 2"]);
}

#[tokio::test]
async fn checkpoint_resume_continues_exactly_where_it_stopped() {
    let f = fixture();
    f.append(b"a\nb\npart");
    let mut tailer = f.tailer();
    check(drain(&mut tailer).await, &["a", "b"]);
    tailer.checkpoint().unwrap();
    drop(tailer);
    f.append(b"ial\nc\n");
    // start_at is only for a first start; the checkpoint wins.
    let mut tailer = Tailer::open(TailerOptions {
        start_at: StartAt::End,
        ..f.options()
    })
    .unwrap();
    check(drain(&mut tailer).await, &["partial", "c"]);
}

#[tokio::test]
async fn checkpoint_resume_finishes_the_rotated_sibling_first() {
    let f = fixture();
    f.append(b"a\n");
    let mut tailer = f.tailer();
    check(drain(&mut tailer).await, &["a"]);
    tailer.checkpoint().unwrap();
    drop(tailer);
    f.append(b"b\n");
    fs::rename(&f.log, f.rotated()).unwrap();
    f.append(b"c\n");
    let mut tailer = f.tailer();
    check(drain(&mut tailer).await, &["b", "c"]);
}

#[tokio::test]
async fn checkpoint_of_a_vanished_file_starts_the_current_one_from_zero() {
    let f = fixture();
    f.append(b"a\n");
    let mut tailer = f.tailer();
    check(drain(&mut tailer).await, &["a"]);
    tailer.checkpoint().unwrap();
    drop(tailer);
    f.append(b"gone\n");
    let rotated = f.rotated();
    fs::rename(&f.log, &rotated).unwrap();
    fs::remove_file(&rotated).unwrap();
    f.append(b"b\n");
    let mut tailer = f.tailer();
    check(drain(&mut tailer).await, &["b"]);
    // ext4 may give the new file the old inode; the mark then tells them apart.
    let counters = tailer.counters();
    assert_eq!(counters.checkpointed_files_gone + counters.truncations, 1);
}

#[tokio::test]
async fn checkpoint_detects_copytruncate_while_stopped() {
    let f = fixture();
    f.append(b"line 1\nline 2\n");
    let mut tailer = f.tailer();
    check(drain(&mut tailer).await, &["line 1", "line 2"]);
    tailer.checkpoint().unwrap();
    drop(tailer);
    copytruncate(&f.log, &f.rotated());
    f.append(b"line 3\nline 4\nline 5\n");
    let mut tailer = f.tailer();
    check(drain(&mut tailer).await, &["line 3", "line 4", "line 5"]);
}

#[tokio::test]
async fn max_lines_bounds_a_drain_and_the_rest_follows() {
    let f = fixture();
    f.append(b"1\n2\n3\n4\n5\n");
    let mut tailer = f.tailer();
    let mut lines = Vec::new();
    let drained = tailer
        .drain(2, &mut |line: &[u8]| lines.push(line.to_vec()))
        .await
        .unwrap();
    assert_eq!(
        drained,
        Drained {
            lines: 2,
            caught_up: false
        }
    );
    tailer.checkpoint().unwrap();
    drop(tailer);
    let mut tailer = f.tailer();
    check(drain(&mut tailer).await, &["3", "4", "5"]);
}
