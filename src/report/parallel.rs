//! Writing sessions on several threads (`report --threads N`): the engine stays
//! on the calling thread, which is the only one that sees packets, and hands each
//! ended session to renderers on other threads; the rendered bytes are written in
//! the order the sessions ended. One tracker, so the model is the one a single
//! thread builds, and the output is byte-identical for any number of threads.
//!
//! Sessions go over in batches of [`BATCH`]. The calling thread renders a batch
//! itself when the renderers' queue is full, and helps with what is left at the
//! end: the work shares itself out between the cores whatever the cost of
//! analysing against writing. Batches come back with their bytes and are freed
//! by the thread that allocated them. Memory stays bounded: at most [`QUEUE`]
//! batches wait per renderer, at most [`MAX_PENDING`] rendered batches wait for
//! an earlier one to be written, and the sessions handed over and not written yet
//! weigh at most [`MAX_IN_FLIGHT`] together. A session heavier than a batch is
//! written straight out by the calling thread, as on one thread.

use std::collections::BTreeMap;
use std::io::{self, Write};

use crossbeam_channel::TrySendError;

use crate::model::Session;

/// Appends one session's bytes to the buffer it is given; each thread has its
/// own, so a renderer may keep caches.
pub type Renderer<'a> = Box<dyn FnMut(&Session, &mut Vec<u8>) -> io::Result<()> + Send + 'a>;

/// Sessions handed over together: one wake-up of a renderer per batch, not per
/// session (a wake-up costs about as much as writing a small session).
pub const BATCH: usize = 16;

/// A batch closes at this weight (see [`weight`]) even with fewer sessions; a
/// session heavier than this alone is not handed over but written straight to
/// the output on the calling thread (its bytes never held whole, as on one thread).
pub const BATCH_WEIGHT: usize = 4096;

/// What the sessions handed over and not written yet may weigh together; past
/// it the engine's thread waits for the oldest batch to be written. About 10-20
/// MB of sessions.
pub const MAX_IN_FLIGHT: usize = 32 * 1024;

/// What a session weighs while it waits: its memory and its rendering grow with
/// its exchanges and data connections.
pub fn weight(s: &Session) -> usize {
    1 + s.exchanges.len() + s.data_channels.len()
}

/// Batches waiting for each renderer thread.
pub const QUEUE: usize = 4;

/// Rendered batches kept while an earlier one is still being rendered.
pub const MAX_PENDING: usize = 8;

/// The threads to use when `--threads` is not given: the machine's cores.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Run `run`, which feeds ended sessions, in order, to the sink it is given (as
/// the engine's `on_session`), and write each session as `make()`'s renderers
/// render it to `out`, in the order they were fed, on `threads` threads in all
/// (the calling one included; 1: all on the calling thread, no other started).
///
/// The first write (or render) error stops the writing: returned (once) by the
/// sink when it happens while `run` feeds sessions, else as this function's
/// error. Sessions fed after it are dropped unwritten.
///
/// A session heavier than [`BATCH_WEIGHT`] is written by `stream` straight to
/// `out` on the calling thread once every session before it is written, so that
/// its bytes are never held whole (it must write what a renderer writes).
pub fn in_order<'a, T>(
    threads: usize,
    make: &(dyn Fn() -> Renderer<'a> + Sync),
    stream: &mut dyn FnMut(&Session, &mut dyn Write) -> io::Result<()>,
    out: &mut dyn Write,
    run: impl FnOnce(&mut dyn FnMut(Session) -> io::Result<()>) -> T,
) -> io::Result<T> {
    if threads <= 1 {
        let mut render = make();
        let mut buf = Vec::new();
        let mut failed = false;
        return Ok(run(&mut |s| {
            if failed {
                return Ok(());
            }
            let res = if weight(&s) > BATCH_WEIGHT {
                stream(&s, out)
            } else {
                buf.clear();
                render(&s, &mut buf).and_then(|()| out.write_all(&buf))
            };
            failed = res.is_err();
            res
        }));
    }
    let workers = threads - 1;
    std::thread::scope(|scope| {
        let (jobs, job_rx) = crossbeam_channel::bounded::<(u64, Vec<Session>)>(QUEUE * workers);
        let (done_tx, done) = crossbeam_channel::unbounded::<(u64, Rendered)>();
        let (spare_tx, spare) = crossbeam_channel::unbounded::<Vec<u8>>();
        for _ in 0..workers {
            let (job_rx, done_tx, spare) = (job_rx.clone(), done_tx.clone(), spare.clone());
            scope.spawn(move || {
                let mut render = make();
                for (n, batch) in job_rx {
                    let buf = spare.try_recv().unwrap_or_default();
                    let r = render_batch(&mut render, batch, buf);
                    if done_tx.send((n, r)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(done_tx);
        let mut w = Ordered {
            out,
            render: make(),
            pending: BTreeMap::new(),
            next: 0,
            batches: 0,
            batch: Vec::with_capacity(BATCH),
            batch_weight: 0,
            in_flight: 0,
            failed: false,
            spare,
            spare_tx,
        };
        let t = run(&mut |s| {
            if w.failed {
                return Ok(());
            }
            if weight(&s) > BATCH_WEIGHT {
                if !w.batch.is_empty() {
                    w.hand_over(&jobs);
                }
                w.write_all_handed_over(&done)?;
                if w.failed {
                    return Ok(());
                }
                let res = stream(&s, &mut *w.out);
                w.failed = res.is_err();
                return res;
            }
            w.batch_weight += weight(&s);
            w.batch.push(s);
            if w.batch.len() < BATCH && w.batch_weight < BATCH_WEIGHT {
                return Ok(());
            }
            w.hand_over(&jobs);
            while let Ok((n, r)) = done.try_recv() {
                w.pending.insert(n, r);
            }
            w.write_ready()?;
            // Too much rendered ahead of a batch still being rendered, or too much
            // handed over: wait for the next batch to write (not among those
            // rendered, as they were just written up to it).
            while w.pending.len() > MAX_PENDING
                || (w.in_flight > MAX_IN_FLIGHT && w.next < w.batches)
            {
                debug_assert!(!w.pending.contains_key(&w.next));
                let Ok((n, r)) = done.recv() else { break };
                w.pending.insert(n, r);
                w.write_ready()?;
            }
            Ok(())
        });
        if !w.failed && !w.batch.is_empty() {
            w.hand_over(&jobs);
        }
        drop(jobs);
        // Help with the batches still queued, then collect the renderers' work.
        while let Ok((n, batch)) = job_rx.try_recv() {
            w.render_here(n, batch);
        }
        drop(job_rx);
        let mut last = Ok(());
        for (n, r) in done.iter() {
            w.pending.insert(n, r);
            if let Err(e) = w.write_ready() {
                last = Err(e);
            }
        }
        if let Err(e) = w.write_ready() {
            last = Err(e);
        }
        last.map(|()| t)
    })
}

/// A batch's bytes, and the error that stopped it (its bytes end before the
/// session that failed).
struct Rendered {
    bytes: Vec<u8>,
    error: Option<io::Error>,
    /// The sessions, back to be freed by the thread that allocated them (freed
    /// by the renderer, the engine's thread paid more to take the memory back).
    batch: Vec<Session>,
}

fn render_batch(render: &mut Renderer<'_>, batch: Vec<Session>, mut bytes: Vec<u8>) -> Rendered {
    bytes.clear();
    for s in &batch {
        let before = bytes.len();
        if let Err(e) = render(s, &mut bytes) {
            bytes.truncate(before);
            return Rendered {
                bytes,
                error: Some(e),
                batch,
            };
        }
    }
    Rendered {
        bytes,
        error: None,
        batch,
    }
}

/// The calling thread's side: the batch being filled, its own renderer, and the
/// batches rendered ahead of the next one to write.
struct Ordered<'o, 'a> {
    out: &'o mut dyn Write,
    render: Renderer<'a>,
    pending: BTreeMap<u64, Rendered>,
    /// The next batch to write, and the number of batches handed over.
    next: u64,
    batches: u64,
    batch: Vec<Session>,
    /// The weight of `batch`, and of the batches handed over, not written yet.
    batch_weight: usize,
    in_flight: usize,
    /// A write failed: nothing more is written.
    failed: bool,
    /// Buffers written, for the renderers to reuse.
    spare: crossbeam_channel::Receiver<Vec<u8>>,
    spare_tx: crossbeam_channel::Sender<Vec<u8>>,
}

impl Ordered<'_, '_> {
    /// The batch to a renderer, or rendered here when they all have enough.
    fn hand_over(&mut self, jobs: &crossbeam_channel::Sender<(u64, Vec<Session>)>) {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH));
        self.in_flight += std::mem::take(&mut self.batch_weight);
        let n = self.batches;
        self.batches += 1;
        match jobs.try_send((n, batch)) {
            Ok(()) => {}
            Err(TrySendError::Full((n, b)) | TrySendError::Disconnected((n, b))) => {
                self.render_here(n, b);
            }
        }
    }

    /// Wait for every batch handed over and write them.
    fn write_all_handed_over(
        &mut self,
        done: &crossbeam_channel::Receiver<(u64, Rendered)>,
    ) -> io::Result<()> {
        loop {
            self.write_ready()?;
            if self.next >= self.batches {
                return Ok(());
            }
            let Ok((n, r)) = done.recv() else {
                return Ok(());
            };
            self.pending.insert(n, r);
        }
    }

    fn render_here(&mut self, n: u64, batch: Vec<Session>) {
        let buf = self.spare.try_recv().unwrap_or_default();
        let r = render_batch(&mut self.render, batch, buf);
        self.pending.insert(n, r);
    }

    /// Write the batches that are next in order; the first error stops the
    /// writing and is returned (once: after it nothing is written and Ok is
    /// returned, as the engine keeps the first error itself).
    fn write_ready(&mut self) -> io::Result<()> {
        while let Some(Rendered {
            bytes,
            error,
            batch,
        }) = self.pending.remove(&self.next)
        {
            self.next += 1;
            // Freed here, on the thread that built them.
            self.in_flight -= batch.iter().map(weight).sum::<usize>();
            drop(batch);
            if self.failed {
                continue;
            }
            let res = self.out.write_all(&bytes);
            let _ = self.spare_tx.send(bytes);
            if let Some(e) = res.err().or(error) {
                self.failed = true;
                return Err(e);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions(n: usize) -> Vec<Session> {
        let base = crate::engine::analyze_file(
            std::path::Path::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/captures/multi-session.pcap"
            )),
            Default::default(),
        )
        .expect("the shipped capture reads")
        .sessions;
        (0..n)
            .map(|i| {
                let mut s = base[i % base.len()].clone();
                s.id = i + 1;
                s
            })
            .collect()
    }

    /// What [`numbering`] writes, straight to the output (for heavy sessions).
    fn stream_numbering(s: &Session, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "{}", s.id)
    }

    /// Renders a session as its number, slowly for some, so that renderers finish
    /// out of order and the calling thread renders some itself.
    fn numbering() -> Renderer<'static> {
        Box::new(|s, out| {
            if s.id % 7 == 0 {
                std::thread::sleep(std::time::Duration::from_micros(300));
            }
            writeln!(out, "{}", s.id)
        })
    }

    /// Renderers and the feeding thread each pausing at random: every interleaving
    /// of hand-over, rendering here, results coming back in bursts and waiting
    /// for the next one ends, with everything written in order.
    #[test]
    fn random_pauses_never_stall_or_reorder() {
        fn pause(x: usize) {
            // A pause for about one in eight, up to 2 ms.
            let h = x.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            if (h >> 20).is_multiple_of(8) {
                std::thread::sleep(std::time::Duration::from_micros((h >> 40) as u64 % 2000));
            }
        }
        let all = sessions(400);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for round in 0..12 {
                let make = move || -> Renderer<'static> {
                    Box::new(move |s, out| {
                        pause(s.id * 31 + round);
                        writeln!(out, "{}", s.id)
                    })
                };
                let mut out = Vec::new();
                in_order(
                    2 + round % 3,
                    &make,
                    &mut stream_numbering,
                    &mut out,
                    |sink| {
                        for s in all.iter().cloned() {
                            pause(s.id * 7 + round * 1000);
                            sink(s).unwrap();
                        }
                    },
                )
                .unwrap();
                let want: String = (1..=all.len()).map(|i| format!("{i}\n")).collect();
                assert_eq!(String::from_utf8(out).unwrap(), want, "round {round}");
            }
            tx.send(()).unwrap();
        });
        rx.recv_timeout(std::time::Duration::from_secs(120))
            .expect("every round ends (no thread waits for a batch that never comes)");
    }

    /// The worker slow on the first batch while the feeding thread renders the
    /// following ones itself, slowly: the worker then returns its whole queue in
    /// one burst, the first batch among them. Once stalled here (the feeding
    /// thread waited for a batch it already held).
    #[test]
    fn a_burst_of_results_with_the_next_batch_among_them() {
        let all = sessions(BATCH * 40);
        let (tx, rx) = std::sync::mpsc::channel();
        let feeder = std::thread::spawn(move || {
            let feeding = std::thread::current().id();
            let make = move || -> Renderer<'static> {
                let here = std::thread::current().id() == feeding;
                Box::new(move |s, out| {
                    let ms = match (here, s.id) {
                        (true, id) if id % BATCH == 1 => 3,
                        (false, 1) => 20,
                        _ => 0,
                    };
                    std::thread::sleep(std::time::Duration::from_millis(ms));
                    writeln!(out, "{}", s.id)
                })
            };
            let mut out = Vec::new();
            in_order(2, &make, &mut stream_numbering, &mut out, |sink| {
                for s in all.iter().cloned() {
                    sink(s).unwrap();
                }
            })
            .unwrap();
            let want: String = (1..=all.len()).map(|i| format!("{i}\n")).collect();
            assert_eq!(String::from_utf8(out).unwrap(), want);
            tx.send(()).unwrap();
        });
        let ended = rx.recv_timeout(std::time::Duration::from_secs(30));
        if ended.is_err() && feeder.is_finished() {
            feeder.join().expect("the feeding thread");
        }
        ended.expect("the writing ends");
    }

    /// A shared buffer: what was written so far, seen while feeding.
    #[derive(Clone, Default)]
    struct Seen(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl Write for Seen {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Sessions heavier than [`MAX_IN_FLIGHT`] are written one after the other
    /// before the engine goes on (memory as on one thread); light ones after
    /// them flow again.
    #[test]
    fn a_heavy_session_is_written_before_the_next_is_fed() {
        let mut all = sessions(40);
        let one = all[0].exchanges[0].clone();
        for s in &mut all[..6] {
            s.exchanges = vec![one.clone(); BATCH_WEIGHT + 1];
            assert!(weight(s) > BATCH_WEIGHT);
        }
        for threads in [1, 2] {
            let seen = Seen::default();
            let mut out = seen.clone();
            let mut streamed = Vec::new();
            let mut stream = |s: &Session, out: &mut dyn Write| {
                streamed.push(s.id);
                stream_numbering(s, out)
            };
            in_order(threads, &numbering, &mut stream, &mut out, |sink| {
                for (i, s) in all.iter().cloned().enumerate() {
                    sink(s).unwrap();
                    if i < 6 {
                        let lines = seen
                            .0
                            .lock()
                            .unwrap()
                            .iter()
                            .filter(|b| **b == b'\n')
                            .count();
                        assert_eq!(
                            lines,
                            i + 1,
                            "heavy session {} written before the next",
                            i + 1
                        );
                    }
                }
            })
            .unwrap();
            assert_eq!(
                streamed,
                [1, 2, 3, 4, 5, 6],
                "heavy sessions streamed, light ones not"
            );
            let want: String = (1..=all.len()).map(|i| format!("{i}\n")).collect();
            assert_eq!(
                String::from_utf8(seen.0.lock().unwrap().clone()).unwrap(),
                want
            );
        }
    }

    /// Sessions of 3,000 exchanges, the renderer stuck on the first batch while
    /// the feeding thread renders the next ones itself: what was fed and not yet
    /// written never weighs more than [`MAX_IN_FLIGHT`] plus the batch being
    /// filled (the counts alone would let 13 batches, 78,000, wait).
    #[test]
    fn what_waits_to_be_written_is_bounded_by_weight() {
        let mut all = sessions(120);
        let one = all[0].exchanges[0].clone();
        for s in &mut all {
            s.exchanges = vec![one.clone(); 3000];
            s.data_channels.clear();
        }
        let feeding = std::thread::current().id();
        let slow = move || -> Renderer<'static> {
            let here = std::thread::current().id() == feeding;
            Box::new(move |s, out| {
                if !here && s.id == 1 {
                    std::thread::sleep(std::time::Duration::from_millis(40));
                }
                writeln!(out, "{}", s.id)
            })
        };
        let seen = Seen::default();
        let mut out = seen.clone();
        let mut most = 0;
        in_order(2, &slow, &mut stream_numbering, &mut out, |sink| {
            for (fed, s) in all.iter().cloned().enumerate() {
                sink(s).unwrap();
                let written = seen
                    .0
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|b| **b == b'\n')
                    .count();
                most = most.max((fed + 1 - written) * 3001);
            }
        })
        .unwrap();
        assert!(
            most <= MAX_IN_FLIGHT + BATCH_WEIGHT && most > MAX_IN_FLIGHT / 2,
            "{most} waiting at most"
        );
        let want: String = (1..=all.len()).map(|i| format!("{i}\n")).collect();
        assert_eq!(
            String::from_utf8(seen.0.lock().unwrap().clone()).unwrap(),
            want
        );
    }

    #[test]
    fn written_in_the_order_fed_whatever_the_threads() {
        let all = sessions(1500);
        let want: String = (1..=all.len()).map(|i| format!("{i}\n")).collect();
        for threads in [1, 2, 3, 5] {
            let mut out = Vec::new();
            let res = in_order(
                threads,
                &numbering,
                &mut stream_numbering,
                &mut out,
                |sink| {
                    for s in all.iter().cloned() {
                        sink(s)?;
                    }
                    io::Result::Ok(())
                },
            );
            res.unwrap().unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), want, "threads {threads}");
        }
    }

    /// A writer that fails after some bytes.
    struct Short(usize, Vec<u8>);
    impl Write for Short {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if self.1.len() + b.len() > self.0 {
                return Err(io::Error::other("full"));
            }
            self.1.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_error_stops_the_writing_and_is_returned() {
        let all = sessions(600);
        for threads in [1, 2] {
            let mut out = Short(1000, Vec::new());
            let mut errors = Vec::new();
            let mut fed = 0;
            let res = in_order(
                threads,
                &numbering,
                &mut stream_numbering,
                &mut out,
                |sink| {
                    for s in all.iter().cloned() {
                        fed += 1;
                        if let Err(e) = sink(s) {
                            errors.push(e);
                        }
                    }
                },
            );
            assert_eq!(fed, all.len(), "the engine runs to the end");
            if let Err(e) = res {
                errors.push(e);
            }
            assert_eq!(errors.len(), 1, "the error once: {errors:?}");
            assert_eq!(errors[0].to_string(), "full");
            let text = String::from_utf8(out.1).unwrap();
            let want: String = (1..=text.lines().count())
                .map(|i| format!("{i}\n"))
                .collect();
            assert_eq!(text, want, "a prefix in order, threads {threads}");
            assert!(text.len() <= 1000 && text.len() > 900, "{}", text.len());
        }
    }

    #[test]
    fn a_renderer_error_is_a_write_error() {
        let fail_at_50: &(dyn Fn() -> Renderer<'static> + Sync) = &|| {
            Box::new(|s, out| {
                if s.id == 50 {
                    return Err(io::Error::other("bad"));
                }
                writeln!(out, "{}", s.id)
            })
        };
        for threads in [1, 2] {
            let mut out = Vec::new();
            let res = in_order(
                threads,
                fail_at_50,
                &mut stream_numbering,
                &mut out,
                |sink| {
                    let mut first = None;
                    for s in sessions(200) {
                        if let Err(e) = sink(s) {
                            first.get_or_insert(e);
                        }
                    }
                    first
                },
            );
            let e = match res {
                Ok(from_sink) => from_sink.expect("the error"),
                Err(e) => e,
            };
            assert_eq!(e.to_string(), "bad");
            let want: String = (1..50).map(|i| format!("{i}\n")).collect();
            assert_eq!(String::from_utf8(out).unwrap(), want, "threads {threads}");
        }
    }
}
