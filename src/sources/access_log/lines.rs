//! Splitting bytes into lines: the one splitter, with the one line limit, that the tailer,
//! `replay`'s reader and its worker threads all use; and [`LineChunks`], which reads whole
//! lines in large pieces for those threads.
//!
//! Bytes arrive in pieces (a read, a chunk); a line is delivered when its `\n` arrives,
//! without the `\n`, straight out of the piece when it lies inside one (no copy), else
//! assembled from the pieces it spans. A line longer than [`MAX_LINE_BYTES`] is reported
//! once as [`BadLine::TooLong`] and its bytes are skipped without being kept, so memory stays
//! bounded whatever the input. No UTF-8 is assumed.

use std::io::Read;

use super::BadLine;

/// Longest line handed on: longer ones are reported as [`BadLine::TooLong`] and skipped.
/// nginx's own log buffer is far smaller; this only stops a corrupt file eating memory, and
/// leaves room for long URLs.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// A line without its `\n`, or the news that one was too long to keep.
pub type LineItem<'a> = Result<&'a [u8], BadLine>;

/// What one [`LineSplitter::feed`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fed {
    /// Bytes of the piece used; less than its length only when `max_lines` ran out (the rest
    /// must be fed again).
    pub(crate) consumed: usize,
    /// Lines delivered (too-long lines are reported but not counted here).
    pub lines: usize,
}

#[derive(Debug)]
pub struct LineSplitter {
    max_line_bytes: usize,
    /// The start of a line whose `\n` has not arrived yet (at most `max_line_bytes`).
    pending: Vec<u8>,
    /// Inside a too-long line: drop bytes until its newline.
    skipping: bool,
    newlines: NewlineFinder,
}

impl Default for LineSplitter {
    fn default() -> Self {
        LineSplitter::new(MAX_LINE_BYTES)
    }
}

impl LineSplitter {
    /// `max_line_bytes` other than [`MAX_LINE_BYTES`] only in tests of the limit itself.
    pub fn new(max_line_bytes: usize) -> LineSplitter {
        LineSplitter {
            max_line_bytes: max_line_bytes.max(1),
            pending: Vec::new(),
            skipping: false,
            newlines: NewlineFinder::new(),
        }
    }

    /// Split the next piece of input, delivering at most `max_lines` lines.
    #[inline]
    pub(crate) fn feed(&mut self, piece: &[u8], max_lines: usize, mut on_line: impl FnMut(LineItem<'_>)) -> Fed {
        self.feed_at(piece, max_lines, |_, item| on_line(item))
    }

    /// [`LineSplitter::feed`], also telling where in `piece` each line starts (0 for a line
    /// that began in an earlier piece).
    #[inline]
    pub(crate) fn feed_at(
        &mut self,
        piece: &[u8],
        max_lines: usize,
        mut on_line: impl FnMut(usize, LineItem<'_>),
    ) -> Fed {
        let mut start = 0;
        let mut lines = 0;
        while lines < max_lines {
            let Some(newline) = piece.get(start..).and_then(|rest| self.newlines.find(rest)) else {
                self.hold(&piece[start..], |item| on_line(start, item));
                return Fed {
                    consumed: piece.len(),
                    lines,
                };
            };
            let end = start + newline;
            if std::mem::take(&mut self.skipping) {
                // The end of a line already reported as too long.
            } else if self.pending.is_empty() {
                if newline > self.max_line_bytes {
                    on_line(start, Err(BadLine::TooLong));
                } else {
                    on_line(start, Ok(&piece[start..end]));
                    lines += 1;
                }
            } else if self.pending.len() + newline > self.max_line_bytes {
                self.pending.clear();
                on_line(0, Err(BadLine::TooLong));
            } else {
                self.pending.extend_from_slice(&piece[start..end]);
                on_line(0, Ok(&self.pending));
                self.pending.clear();
                lines += 1;
            }
            start = end + 1;
        }
        Fed { consumed: start, lines }
    }

    /// Keep the start of an unfinished line, or start skipping it if it is already too long.
    fn hold(&mut self, rest: &[u8], mut on_line: impl FnMut(LineItem<'_>)) {
        if self.skipping || rest.is_empty() {
            return;
        }
        if self.pending.len() + rest.len() > self.max_line_bytes {
            self.pending.clear();
            self.skipping = true;
            on_line(Err(BadLine::TooLong));
        } else {
            self.pending.extend_from_slice(rest);
        }
    }

    /// End of input: an unfinished last line is a line all the same (a file need not end in
    /// `\n`). The tailer never calls this: for it, the line is still being written.
    pub fn finish(&mut self, mut on_line: impl FnMut(LineItem<'_>)) {
        if !std::mem::take(&mut self.skipping) && !self.pending.is_empty() {
            on_line(Ok(&self.pending));
        }
        self.pending.clear();
    }

    /// Bytes of an unfinished line held (0 while skipping one).
    pub fn holding(&self) -> usize {
        self.pending.len()
    }

    /// Memory held for an unfinished line (bounded by the limit, whatever the input).
    #[cfg(test)]
    pub(crate) fn held_capacity(&self) -> usize {
        self.pending.capacity()
    }

    /// Start over: the input starts again at a line boundary (a truncated file re-read).
    /// `skipping`: the input starts inside a line that is not ours to deliver.
    pub fn reset(&mut self, skipping: bool) {
        self.pending.clear();
        self.pending.shrink_to(4 * 1024);
        self.skipping = skipping;
    }
}

/// Call `on_line(start, item)` for every line of `piece` (a final line without `\n`
/// included), with where each starts: the lines of a chunk of whole lines (`replay`'s worker
/// threads).
#[inline]
pub fn for_each_line_in(piece: &[u8], mut on_line: impl FnMut(usize, LineItem<'_>)) {
    let mut splitter = LineSplitter::default();
    splitter.feed_at(piece, usize::MAX, &mut on_line);
    let last_start = memchr::memrchr(b'\n', piece).map_or(0, |newline| newline + 1);
    splitter.finish(|item| on_line(last_start, item));
}

/// Reads whole lines in large pieces, for splitting elsewhere (`replay`'s worker threads):
/// every chunk but the last ends with a `\n`, so [`for_each_line_in`] over the chunks in
/// order sees the same lines as [`for_each_line`] over the input, except that a line that
/// outgrows the buffer before its newline arrives is counted here as too long and skipped.
pub struct LineChunks<R> {
    reader: R,
    /// Bytes of whole lines to gather before handing a chunk on.
    chunk_bytes: usize,
    /// The start of the line the last chunk cut off: at most [`MAX_LINE_BYTES`].
    carry: Vec<u8>,
    /// Inside a too-long line: drop bytes until its newline.
    skipping: bool,
    /// A too-long line found after the last chunk's lines, counted by the next call.
    too_long_after: u64,
    finished: bool,
    newlines: NewlineFinder,
}

impl<R: Read> LineChunks<R> {
    /// `chunk_bytes` above zero; the buffers given to [`LineChunks::next_chunk`] must hold
    /// [`LineChunks::buffer_len`] bytes.
    pub fn new(reader: R, chunk_bytes: usize) -> LineChunks<R> {
        LineChunks {
            reader,
            chunk_bytes: chunk_bytes.max(1),
            carry: Vec::with_capacity(MAX_LINE_BYTES),
            skipping: false,
            too_long_after: 0,
            finished: false,
            newlines: NewlineFinder::new(),
        }
    }

    /// Room for a chunk plus the longest line that may straddle its end.
    pub(crate) fn buffer_len(&self) -> usize {
        self.chunk_bytes + MAX_LINE_BYTES
    }

    /// Fill the front of `buffer` with the next whole lines and return their length; `None`
    /// at the end of input. Lines too long to keep are added to `too_long` (they are not in
    /// any chunk), each by the call whose chunk's lines come after it (or by the call that
    /// returns `None`), so lines can be numbered in order. A `buffer` shorter than
    /// [`LineChunks::buffer_len`] is grown to it.
    pub(crate) fn next_chunk(&mut self, buffer: &mut Vec<u8>, too_long: &mut u64) -> std::io::Result<Option<usize>> {
        *too_long += std::mem::take(&mut self.too_long_after);
        if self.finished {
            return Ok(None);
        }
        if buffer.len() < self.buffer_len() {
            buffer.resize(self.buffer_len(), 0);
        }
        let mut filled = self.carry.len();
        buffer[..filled].copy_from_slice(&self.carry);
        self.carry.clear();
        // Where the search for the chunk's last newline starts: the carry has none.
        let mut searched = filled;
        let mut wanted = self.chunk_bytes;
        loop {
            while filled < wanted {
                let read = match self.reader.read(&mut buffer[filled..]) {
                    Ok(0) => {
                        self.finished = true;
                        // The last line may have no newline: it is a line all the same.
                        return Ok((filled > 0).then_some(filled));
                    }
                    Ok(read) => read,
                    Err(error) if error.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(error) => return Err(error),
                };
                if !self.skipping {
                    filled += read;
                } else if let Some(newline) = self.newlines.find(&buffer[filled..filled + read]) {
                    self.skipping = false;
                    buffer.copy_within(filled + newline + 1..filled + read, filled);
                    filled += read - newline - 1;
                }
            }
            match memchr::memrchr(b'\n', &buffer[searched..filled]) {
                Some(newline) => {
                    let end = searched + newline + 1;
                    let cut = &buffer[end..filled];
                    if cut.len() > MAX_LINE_BYTES {
                        // After this chunk's lines: the next call counts it.
                        self.too_long_after += 1;
                        self.skipping = true;
                    } else {
                        self.carry.extend_from_slice(cut);
                    }
                    return Ok(Some(end));
                }
                None if filled > MAX_LINE_BYTES => {
                    // One unfinished line fills the buffer.
                    *too_long += 1;
                    self.skipping = true;
                    filled = 0;
                    searched = 0;
                    wanted = self.chunk_bytes;
                }
                None => {
                    // A line longer than a chunk but within the limit (only with small chunks):
                    // the buffer still has room for `chunk_bytes` more.
                    searched = filled;
                    wanted = filled + 1;
                }
            }
        }
    }
}

/// Finds the next `\n`: memchr's AVX2 searcher when the CPU has it (checked once here), so
/// each line costs one call; `memchr::memchr_iter` goes through two more layers per line
/// (a function pointer picked at run time, then the searcher's own entry point).
#[derive(Debug)]
struct NewlineFinder {
    #[cfg(target_arch = "x86_64")]
    avx2: Option<memchr::arch::x86_64::avx2::memchr::One>,
}

impl NewlineFinder {
    fn new() -> NewlineFinder {
        NewlineFinder {
            #[cfg(target_arch = "x86_64")]
            avx2: memchr::arch::x86_64::avx2::memchr::One::new(b'\n'),
        }
    }

    #[inline(always)]
    fn find(&self, haystack: &[u8]) -> Option<usize> {
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = &self.avx2 {
            return avx2.find(haystack);
        }
        memchr::memchr(b'\n', haystack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// What the lines of `input` are, by the definition: split at `\n`, the last piece a line
    /// if not empty, longer than `max` reported as too long.
    fn model(input: &[u8], max: usize) -> Vec<Result<Vec<u8>, BadLine>> {
        let mut lines: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
        if lines.last().is_some_and(|last| last.is_empty()) {
            lines.pop();
        }
        lines
            .into_iter()
            .map(|line| {
                if line.len() > max {
                    Err(BadLine::TooLong)
                } else {
                    Ok(line.to_vec())
                }
            })
            .collect()
    }

    /// Feed `input` cut at `cuts`, at most `batch` lines per call (re-feeding what a call did
    /// not consume, as the tailer re-reads it), then finish.
    fn split(input: &[u8], cuts: &[usize], max: usize, batch: usize) -> Vec<Result<Vec<u8>, BadLine>> {
        let mut splitter = LineSplitter::new(max);
        let mut seen = Vec::new();
        let mut bounds: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        bounds.push(input.len());
        bounds.sort_unstable();
        let mut at = 0;
        for bound in bounds {
            while at < bound {
                let fed = splitter.feed(&input[at..bound], batch, |item| seen.push(item.map(<[u8]>::to_vec)));
                at += fed.consumed;
                assert!(fed.lines <= batch);
            }
        }
        splitter.finish(|item| seen.push(item.map(<[u8]>::to_vec)));
        seen
    }

    fn check(input: &[u8], cuts: &[usize], max: usize, batch: usize) {
        assert_eq!(
            split(input, cuts, max, batch),
            model(input, max),
            "{input:?} cut at {cuts:?}"
        );
    }

    #[test]
    fn lines_across_pieces_and_the_limit() {
        check(b"one\ntwo\n", &[], 10, usize::MAX);
        check(b"one\ntwo", &[2, 5], 10, usize::MAX);
        check(b"\n\nx\n", &[1], 10, 1);
        // Exactly the limit is a line; one byte more is too long, however it is cut.
        check(b"12345\n123456\nok\n", &[3, 8, 9, 10], 5, usize::MAX);
        check(b"1234567890123", &[2, 4, 6], 5, usize::MAX);
    }

    #[test]
    fn a_too_long_line_is_never_held() {
        let mut splitter = LineSplitter::new(1024);
        let mut too_long = 0;
        for _ in 0..100 {
            splitter.feed(&[b'x'; 4096], usize::MAX, |item| too_long += item.is_err() as u32);
        }
        assert_eq!((too_long, splitter.holding()), (1, 0));
        assert!(splitter.held_capacity() <= 2 * 1024);
        splitter.feed(b"\nafter\n", usize::MAX, |item| assert_eq!(item, Ok(&b"after"[..])));
    }

    #[test]
    fn for_each_line_in_says_where_each_line_starts() {
        let chunk = b"ab\n\ncde\nf";
        let mut seen = Vec::new();
        for_each_line_in(chunk, |start, item| seen.push((start, item.unwrap().to_vec())));
        let expected: Vec<(usize, Vec<u8>)> = vec![
            (0, b"ab".to_vec()),
            (3, b"".to_vec()),
            (4, b"cde".to_vec()),
            (8, b"f".to_vec()),
        ];
        assert_eq!(seen, expected);
    }

    proptest! {
        #[test]
        fn any_cuts_and_batches_give_the_lines_of_the_definition(
            input in proptest::collection::vec(prop_oneof![Just(b'\n'), Just(b'a'), any::<u8>()], 0..300),
            cuts in proptest::collection::vec(0usize..400, 0..8),
            max in 1usize..40,
            batch in 1usize..6,
        ) {
            prop_assert_eq!(split(&input, &cuts, max, batch), model(&input, max));
        }
    }
}
