//! TUI frame cost with 100,000 sessions loaded (a real session from
//! captures/passive-refused.pcap cloned with distinct ids, ports and times).
//!
//! Targets: one frame < 5 ms; a key press reflected (update + frame) < 50 ms.
//! Also measured: a live update (what changed) and sessions appended while a
//! file is read, each with a frame, with 100,000 sessions held.
//! Run: `cargo bench --bench tui_render`.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use ftpscope::model::{Capture, Session};
use ftpscope::session::TrackerConfig;
use ftpscope::time::Ts;
use ftpscope::tui::app::{Action, App, LiveUpdate, Options};
use ftpscope::tui::keymap::Cmd;
use ftpscope::tui::theme::Theme;
use ftpscope::tui::{render, update};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

const SESSIONS: usize = 100_000;

fn big_capture() -> Capture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures/passive-refused.pcap");
    let mut c = ftpscope::engine::analyze_file(&path, TrackerConfig::default())
        .expect("analyse passive-refused.pcap");
    let one = c.sessions[0].clone();
    c.sessions = (0..SESSIONS)
        .map(|i| {
            let mut s = one.clone();
            s.id = i + 1;
            s.client.set_port(1024 + (i % 60_000) as u16);
            s.start = Ts(one.start.0 + i as i64 * 1_000_000);
            if i % 3 != 0 {
                s.findings.clear();
            }
            s
        })
        .collect();
    c
}

fn app(c: Capture, w: u16, h: u16) -> App {
    let mut a = App::new(
        c,
        "bench.pcap",
        Options {
            theme: Theme { color: true },
            ..Options::default()
        },
    );
    update(&mut a, Action::Resize(w, h));
    a
}

fn bench(c: &mut Criterion) {
    let capture = big_capture();
    let mut g = c.benchmark_group("tui_100k_sessions");
    g.sample_size(30);

    for (w, h) in [(80u16, 24u16), (160, 48)] {
        let mut a = app(capture.clone(), w, h);
        let mut t = Terminal::new(TestBackend::new(w, h)).expect("backend");
        g.bench_function(format!("frame_sessions_{w}x{h}"), |b| {
            b.iter(|| {
                t.draw(|f| render(f, black_box(&a))).expect("draw");
            })
        });
        update(&mut a, Action::Cmd(Cmd::ShowData));
        g.bench_function(format!("frame_data_{w}x{h}"), |b| {
            b.iter(|| {
                t.draw(|f| render(f, black_box(&a))).expect("draw");
            })
        });
        update(&mut a, Action::Cmd(Cmd::ShowFindings));
        g.bench_function(format!("frame_findings_{w}x{h}"), |b| {
            b.iter(|| {
                t.draw(|f| render(f, black_box(&a))).expect("draw");
            })
        });
        update(&mut a, Action::Cmd(Cmd::ShowSessions));
        update(&mut a, Action::Cmd(Cmd::Bottom));
        update(&mut a, Action::Cmd(Cmd::Open));
        g.bench_function(format!("frame_session_{w}x{h}"), |b| {
            b.iter(|| {
                t.draw(|f| render(f, black_box(&a))).expect("draw");
            })
        });
    }

    // Key presses reflected: update + one frame.
    let mut a = app(capture.clone(), 160, 48);
    let mut t = Terminal::new(TestBackend::new(160, 48)).expect("backend");
    let mut down = true;
    g.bench_function("key_down_then_frame", |b| {
        b.iter(|| {
            let cmd = if down { Cmd::PageDown } else { Cmd::Top };
            down = !down;
            update(&mut a, Action::Cmd(cmd));
            t.draw(|f| render(f, &a)).expect("draw");
        })
    });
    g.bench_function("key_open_session_then_frame", |b| {
        b.iter(|| {
            update(&mut a, Action::Cmd(Cmd::Open));
            t.draw(|f| render(f, &a)).expect("draw");
            update(&mut a, Action::Cmd(Cmd::Back));
        })
    });
    g.sample_size(10);
    g.bench_function("key_sort_then_frame", |b| {
        b.iter(|| {
            update(&mut a, Action::Cmd(Cmd::Sort));
            t.draw(|f| render(f, &a)).expect("draw");
        })
    });
    // Typing into the filter. Above `DEFER_FILTER_ABOVE` sessions a key only
    // updates the prompt and starts the filter; the event loop then sends
    // `Settle` while no key waits, each testing `FILTER_CHUNK` sessions. So a
    // key waits at most for one chunk. Free text is the slowest word: it looks
    // into every command and reply of a session.
    update(&mut a, Action::Cmd(Cmd::Filter));
    for (name, prefix, typed) in [
        ("key_filter_char_then_frame", "", "e"),
        ("filter_settle_chunk_free_text_then_frame", "", "en"),
        ("filter_settle_chunk_user_word_then_frame", "", "user:ftp"),
    ] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    prefix
                        .chars()
                        .for_each(|c| update(&mut a, Action::Input(c)));
                    while a.unsettled() {
                        update(&mut a, Action::Settle);
                    }
                    let t0 = Instant::now();
                    typed.chars().for_each(|c| update(&mut a, Action::Input(c)));
                    if name.starts_with("filter_settle") {
                        update(&mut a, Action::Settle);
                    }
                    t.draw(|f| render(f, &a)).expect("draw");
                    total += t0.elapsed();
                    while a.prompt().is_some_and(|p| !p.text.is_empty()) {
                        update(&mut a, Action::Backspace);
                    }
                    while a.unsettled() {
                        update(&mut a, Action::Settle);
                    }
                }
                total
            })
        });
    }
    // The whole free-text filter over 100,000 sessions, all chunks.
    g.bench_function("filter_free_text_all_chunks", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t0 = Instant::now();
                "en".chars().for_each(|c| update(&mut a, Action::Input(c)));
                while a.unsettled() {
                    update(&mut a, Action::Settle);
                }
                total += t0.elapsed();
                update(&mut a, Action::Backspace);
                update(&mut a, Action::Backspace);
                while a.unsettled() {
                    update(&mut a, Action::Settle);
                }
            }
            total
        })
    });
    update(&mut a, Action::Cmd(Cmd::Back));
    // A live snapshot of 100,000 sessions replacing the model (the old way,
    // still used when a whole model is handed over).
    g.bench_function("live_snapshot_then_frame", |b| {
        b.iter_batched(
            || Box::new(capture.clone()),
            |c| {
                update(&mut a, Action::Snapshot(c));
                t.draw(|f| render(f, &a)).expect("draw");
            },
            criterion::BatchSize::LargeInput,
        )
    });
    // Live: 100,000 ended sessions held, then updates of what changed: 10
    // sessions ended and 50 open ones (replaced each time).
    let one = capture.sessions[0].clone();
    let mut live = App::new(
        Capture::default(),
        "live",
        Options {
            theme: Theme { color: true },
            live: true,
            ..Options::default()
        },
    );
    update(&mut live, Action::Resize(160, 48));
    update(
        &mut live,
        Action::Live(Box::new(LiveUpdate {
            ended: capture.sessions.clone(),
            ..LiveUpdate::default()
        })),
    );
    let mut next_id = SESSIONS + 1;
    let mut make = |n: usize| -> Vec<Session> {
        (0..n)
            .map(|_| {
                let mut s = one.clone();
                s.id = next_id;
                s.start = Ts(one.start.0 + next_id as i64 * 1_000_000);
                next_id += 1;
                s
            })
            .collect()
    };
    let open = make(50);
    g.bench_function("live_update_10_ended_50_open_then_frame", |b| {
        b.iter_batched(
            || {
                Box::new(LiveUpdate {
                    ended: make(10),
                    open: open.clone(),
                    ..LiveUpdate::default()
                })
            },
            |u| {
                update(&mut live, Action::Live(u));
                t.draw(|f| render(f, &live)).expect("draw");
            },
            criterion::BatchSize::SmallInput,
        )
    });
    // Loading a file: 1,000 sessions that ended appended to 100,000 listed.
    let mut loading = App::loading(
        "big.pcap",
        1 << 30,
        Options {
            theme: Theme { color: true },
            ..Options::default()
        },
    );
    update(&mut loading, Action::Resize(160, 48));
    update(&mut loading, Action::Append(capture.sessions.clone()));
    g.bench_function("loading_append_1000_then_frame", |b| {
        b.iter_batched(
            || make(1000),
            |v| {
                update(&mut loading, Action::Append(v));
                t.draw(|f| render(f, &loading)).expect("draw");
            },
            criterion::BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
