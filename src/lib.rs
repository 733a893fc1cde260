//! ftpscope: rebuild FTP sessions from packet captures, explain them, and say what went wrong.
//!
//! The crate is layered so that dependencies only point down the stack:
//!
//! ```text
//!  sources            engine                                   model        views
//!  capture::reader -> capture::decode -> tcp (flows, reassembly) -> session::Tracker -> model::* -> report::{text,json}
//!                                                 (ConnEvent)         diagnose (findings)
//! ```
//!
//! * [`ftp`]: pure protocol knowledge: command and reply parsing, data-channel
//!   address formats, the catalog of explanations (English and Chinese). No I/O.
//! * [`i18n`]: every text shown to people in English and Chinese from one place
//!   ([`i18n::Tr`] for findings, [`i18n::Ui`] for the views' labels).
//! * [`capture`]: pcap/pcapng reading and link/IP/TCP decoding, IPv4/IPv6 fragment reassembly.
//! * [`tcp`]: the flow table and per-direction stream reassembly; emits [`tcp::ConnEvent`]s.
//! * [`session`]: the FTP session tracker: connection events in, [`model`] out.
//! * [`diagnose`]: rules that read the model and produce findings.
//! * [`report`]: text and JSON views of the model.
//! * [`engine`]: the engine for every source: [`engine::Pipeline`] (packets through
//!   decoder, flow table and tracker, one at a time) for files and live capture, and
//!   [`engine::LiveModel`] (the pipeline plus what live views read: ended sessions
//!   kept, capture-wide findings, statistics; the [`engine::LiveSource`] API) for
//!   live capture and the proxy.
//! * [`tui`]: the terminal UI (ratatui): browse a capture, or a live source.
//! * [`proxy`]: the debugging proxy (tokio); it feeds the same tracker through a live model.
//! * `live` (feature `live`): capture on an interface with libpcap.
//! * [`signals`]: Ctrl-C/SIGTERM for the commands that run until stopped (one way,
//!   signal-hook: the first stops cleanly, a second exits at once).
//!
//! Invariants kept throughout: no `unsafe`; nothing reads the clock (time comes with
//! each packet); data-channel payload is counted, never stored; every buffer that
//! grows with input is bounded.
#![forbid(unsafe_code)]
// Nested `if let` reads better than long let-chains when each level states its own
// condition (what is known, then what it implies); keep them.
#![allow(clippy::collapsible_if, clippy::collapsible_match)]

pub mod capture;
pub mod diagnose;
pub mod engine;
pub mod ftp;
pub mod i18n;
#[cfg(feature = "live")]
pub mod live;
pub mod model;
pub mod proxy;
pub mod report;
pub mod session;
pub mod signals;
pub mod tcp;
pub mod text;
pub mod time;
pub mod tls;
pub mod tui;
