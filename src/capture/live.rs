//! Live capture with libpcap (cargo feature `live`): list interfaces, open one with a
//! BPF filter and a read timeout, read packets, poll the kernel's counters, and save
//! what was captured.
//!
//! This is a source, like [`super::reader`]: it yields packets (time, link type, bytes,
//! length on the wire) and knows nothing about FTP. The runner (`crate::live`) feeds
//! them to the same decoder, flow table and tracker as a capture file.
//!
//! Invariants:
//! * [`LiveSource::dispatch`] returns within about twice the read timeout when no
//!   packet arrives (libpcap's own timeout is not enough on Linux: see `Waker`), so
//!   a caller notices a stop request.
//! * Timestamps are nanoseconds on Linux (libpcap is asked for nanosecond precision)
//!   and microseconds elsewhere; [`LivePacket::ts`] is always a [`Ts`] in nanoseconds.
//! * The kernel's counters are 32-bit and may wrap; [`KernelCounters`] accumulates
//!   them into 64-bit totals.
//! * `--write` goes through [`super::write::Writer`] (the one capture writer), which
//!   writes every packet it is given, in order, so frame numbers in a live log (the
//!   count of packets read) are the frame numbers of the saved file; the file's link
//!   type is [`file_linktype`] of the interface's DLT.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use crate::time::Ts;

/// Why a live capture could not start or stopped. Every variant says what to do.
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error(
        "no permission to capture on {interface} ({detail}).\n\
         Run ftpscope as root (sudo ftpscope live ...), or give the binary the capture \
         capabilities once:\n    sudo setcap cap_net_raw,cap_net_admin=eip {exe}"
    )]
    Permission {
        interface: String,
        detail: String,
        /// The binary to give the capabilities to.
        exe: String,
    },
    #[error(
        "there is no interface named {interface:?}. Interfaces that exist: {}. \
         (`ftpscope live --list-interfaces` shows them with their addresses; `-i any` captures on all of them.)",
        available.join(", ")
    )]
    NoSuchInterface {
        interface: String,
        available: Vec<String>,
    },
    #[error("bad capture filter {filter:?}: {detail}")]
    Filter { filter: String, detail: String },
    #[error("cannot capture on {interface}: {detail}")]
    Open { interface: String, detail: String },
    #[error("capture on {interface} failed: {detail}")]
    Read { interface: String, detail: String },
    #[error("cannot list the network interfaces: {detail}")]
    List { detail: String },
}

/// One interface libpcap can capture on.
#[derive(Clone, Debug)]
pub struct Interface {
    pub name: String,
    pub description: Option<String>,
    pub addresses: Vec<IpAddr>,
    pub up: bool,
    pub running: bool,
    pub loopback: bool,
}

/// The interfaces libpcap can capture on (needs no privilege on Linux).
pub fn interfaces() -> Result<Vec<Interface>, LiveError> {
    let devs = pcap::Device::list().map_err(|e| LiveError::List {
        detail: e.to_string(),
    })?;
    Ok(devs
        .into_iter()
        .map(|d| Interface {
            up: d.flags.is_up(),
            running: d.flags.is_running(),
            loopback: d.flags.is_loopback(),
            addresses: d.addresses.iter().map(|a| a.addr).collect(),
            description: d.desc,
            name: d.name,
        })
        .collect())
}

/// How to open a live capture.
#[derive(Clone, Debug)]
pub struct LiveConfig {
    pub interface: String,
    /// BPF filter ("" captures everything).
    pub filter: String,
    /// Bytes kept of each packet.
    pub snaplen: u32,
    /// Kernel ring buffer, bytes.
    pub buffer_bytes: u32,
    /// Promiscuous mode (ignored on `any`, where libpcap does not support it).
    pub promisc: bool,
    /// Read timeout: the longest a read waits on a quiet interface.
    pub timeout_ms: u32,
}

impl Default for LiveConfig {
    fn default() -> Self {
        LiveConfig {
            interface: "any".into(),
            filter: "tcp".into(),
            snaplen: 262_144,
            buffer_bytes: 64 << 20,
            promisc: true,
            timeout_ms: 100,
        }
    }
}

/// One packet read from the interface; `data` borrows libpcap's ring.
#[derive(Debug)]
pub struct LivePacket<'a> {
    pub ts: Ts,
    /// Length on the wire (may exceed `data.len()` when the snaplen cut it).
    pub orig_len: u32,
    pub data: &'a [u8],
}

/// The kernel's counters, as 64-bit totals since the capture started.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelStats {
    /// Packets that passed the filter (the kernel's count, including dropped ones).
    pub received: u64,
    /// Packets dropped because the buffer was full (ftpscope did not read fast enough).
    pub dropped: u64,
    /// Packets dropped by the interface or its driver.
    pub if_dropped: u64,
}

/// Accumulates libpcap's 32-bit counters (which wrap) into 64-bit totals. Call
/// [`KernelCounters::update`] more often than a counter can wrap (every second is).
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelCounters {
    last: [u32; 3],
    total: KernelStats,
}

impl KernelCounters {
    pub fn update(&mut self, received: u32, dropped: u32, if_dropped: u32) -> KernelStats {
        let now = [received, dropped, if_dropped];
        let d = |i: usize| u64::from(now[i].wrapping_sub(self.last[i]));
        self.total.received += d(0);
        self.total.dropped += d(1);
        self.total.if_dropped += d(2);
        self.last = now;
        self.total
    }

    pub fn total(&self) -> KernelStats {
        self.total
    }
}

/// File link type for a libpcap data link type (DLT). They are the same numbers except
/// `DLT_RAW`, which is 12 on Linux (14 on OpenBSD) and `LINKTYPE_RAW` (101) in files.
pub fn file_linktype(dlt: u32) -> u32 {
    match dlt {
        12 | 14 => 101,
        x => x,
    }
}

/// An open live capture.
pub struct LiveSource {
    cap: pcap::Capture<pcap::Active>,
    interface: String,
    dlt: u32,
    counters: KernelCounters,
    waker: Waker,
}

/// State shared between the capture thread and its [`Waker`].
#[derive(Default)]
struct WakeShared {
    /// The capture thread is inside a read.
    inside: AtomicBool,
    /// Reads that returned so far.
    returns: AtomicU64,
    /// A break was sent and not yet seen as a read error.
    broke: AtomicBool,
    quit: AtomicBool,
}

/// Wakes a read that waits too long on a quiet interface.
///
/// Why libpcap's read timeout is not enough: with `TPACKET_V3` (what libpcap uses on
/// Linux unless immediate mode is asked for) the kernel retires a ring block when its
/// timer fires only if the block holds a packet, so on a quiet interface a read never
/// returns. This thread calls `pcap_breakloop` (which wakes the read through an
/// eventfd since libpcap 1.10) when a read has not returned for a whole timeout.
/// Immediate mode would avoid it, but makes libpcap fall back to `TPACKET_V2`, whose
/// fixed-size frames hold far fewer packets in the same buffer.
struct Waker {
    shared: Arc<WakeShared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Waker {
    fn start(bl: pcap::BreakLoop, period: Duration) -> Waker {
        let shared = Arc::new(WakeShared::default());
        let sh = shared.clone();
        let thread = std::thread::Builder::new()
            .name("ftpscope-pcap-waker".into())
            .spawn(move || {
                let mut last = u64::MAX;
                while !sh.quit.load(Ordering::Acquire) {
                    std::thread::park_timeout(period);
                    let r = sh.returns.load(Ordering::Acquire);
                    if sh.inside.load(Ordering::Acquire) && r == last {
                        sh.broke.store(true, Ordering::Release);
                        bl.breakloop();
                    }
                    last = r;
                }
            })
            .ok();
        Waker { shared, thread }
    }
}

impl Drop for Waker {
    fn drop(&mut self) {
        self.shared.quit.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

impl std::fmt::Debug for LiveSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveSource")
            .field("interface", &self.interface)
            .field("dlt", &self.dlt)
            .finish()
    }
}

/// What libpcap's messages say the problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenProblem {
    Permission,
    NoSuchDevice,
    Other,
}

/// Classify a libpcap error message from `pcap_activate`/`pcap_create` (libpcap does
/// not hand its status codes through the `pcap` crate, only the text).
pub fn classify(msg: &str) -> OpenProblem {
    let m = msg.to_ascii_lowercase();
    if m.contains("permission") || m.contains("not permitted") || m.contains("eperm") {
        OpenProblem::Permission
    } else if m.contains("no such device") || m.contains("doesn't exist") {
        OpenProblem::NoSuchDevice
    } else {
        OpenProblem::Other
    }
}

fn this_exe() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| std::fs::canonicalize(p).ok())
        .map_or_else(
            || "/path/to/ftpscope".to_string(),
            |p| p.display().to_string(),
        )
}

impl LiveSource {
    /// Open and activate the capture and set the filter. An interface that does not
    /// exist is reported with the list of those that do.
    pub fn open(cfg: &LiveConfig) -> Result<LiveSource, LiveError> {
        let name = cfg.interface.as_str();
        let known = interfaces().ok();
        if let Some(list) = &known {
            if !list.is_empty() && !list.iter().any(|i| i.name == name) {
                return Err(LiveError::NoSuchInterface {
                    interface: name.to_string(),
                    available: list.iter().map(|i| i.name.clone()).collect(),
                });
            }
        }
        let fail = |e: pcap::Error| {
            let detail = match &e {
                pcap::Error::PcapError(s) if s.is_empty() => "libpcap gave no reason".to_string(),
                pcap::Error::PcapError(s) => s.clone(),
                other => other.to_string(),
            };
            match classify(&detail) {
                OpenProblem::Permission => LiveError::Permission {
                    interface: name.to_string(),
                    detail,
                    exe: this_exe(),
                },
                OpenProblem::NoSuchDevice => LiveError::NoSuchInterface {
                    interface: name.to_string(),
                    available: known
                        .as_ref()
                        .map(|l| l.iter().map(|i| i.name.clone()).collect())
                        .unwrap_or_default(),
                },
                OpenProblem::Other => LiveError::Open {
                    interface: name.to_string(),
                    detail,
                },
            }
        };
        let clamp = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
        let inactive = pcap::Capture::from_device(name)
            .map_err(fail)?
            .snaplen(clamp(cfg.snaplen.max(256)))
            .buffer_size(clamp(cfg.buffer_bytes))
            .timeout(clamp(cfg.timeout_ms.max(1)))
            // libpcap does not support promiscuous mode on `any` (it would be a warning,
            // which the pcap crate reports as an error).
            .promisc(cfg.promisc && name != "any");
        #[cfg(target_os = "linux")]
        let inactive = inactive.precision(pcap::Precision::Nano);
        let mut cap = inactive.open().map_err(fail)?;
        if !cfg.filter.trim().is_empty() {
            cap.filter(&cfg.filter, true)
                .map_err(|e| LiveError::Filter {
                    filter: cfg.filter.clone(),
                    detail: match e {
                        pcap::Error::PcapError(s) => s,
                        other => other.to_string(),
                    },
                })?;
        }
        let dlt = u32::try_from(cap.get_datalink().0).unwrap_or(u32::MAX);
        let waker = Waker::start(
            cap.breakloop_handle(),
            Duration::from_millis(u64::from(cfg.timeout_ms.max(1))),
        );
        Ok(LiveSource {
            cap,
            interface: name.to_string(),
            dlt,
            counters: KernelCounters::default(),
            waker,
        })
    }

    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The data link type of the packets, as the decoder takes it (libpcap's DLT).
    pub fn linktype(&self) -> u32 {
        self.dlt
    }

    /// libpcap's name for the link type (`EN10MB`, `LINUX_SLL2`, ...).
    pub fn linktype_name(&self) -> String {
        pcap::Linktype(self.dlt as i32)
            .get_name()
            .unwrap_or_else(|_| self.dlt.to_string())
    }

    /// Read at most `max` packets and hand each to `f`, waiting for them at most about
    /// twice the read timeout. Returns the number read; 0 when the wait ended with
    /// nothing to read.
    pub fn dispatch(
        &mut self,
        max: Option<usize>,
        f: &mut dyn FnMut(LivePacket<'_>),
    ) -> Result<usize, LiveError> {
        let sh = &self.waker.shared;
        sh.inside.store(true, Ordering::Release);
        let r = self.cap.dispatch(max, |p| {
            let h = p.header;
            #[allow(
                clippy::useless_conversion,
                reason = "time_t and suseconds_t are i64 here, i32 on other targets"
            )]
            let (secs, frac) = (i64::from(h.ts.tv_sec), i64::from(h.ts.tv_usec));
            // Nanoseconds on Linux (asked for in `open`), microseconds elsewhere.
            #[cfg(not(target_os = "linux"))]
            let frac = frac * 1000;
            f(LivePacket {
                ts: Ts::from_secs_nanos(secs, frac),
                orig_len: h.len,
                data: p.data,
            })
        });
        sh.inside.store(false, Ordering::Release);
        sh.returns.fetch_add(1, Ordering::AcqRel);
        match r {
            Ok(n) => Ok(n),
            Err(pcap::Error::TimeoutExpired) => Ok(0),
            // The waker broke the read (libpcap returns PCAP_ERROR_BREAK). A break that
            // arrived just as a read returned makes the next read end at once: the
            // flag stays set until it is seen.
            Err(_) if sh.broke.swap(false, Ordering::AcqRel) => Ok(0),
            Err(e) => Err(LiveError::Read {
                interface: self.interface.clone(),
                detail: e.to_string(),
            }),
        }
    }

    /// The kernel's counters so far.
    pub fn stats(&mut self) -> Result<KernelStats, LiveError> {
        let s = self.cap.stats().map_err(|e| LiveError::Read {
            interface: self.interface.clone(),
            detail: format!("cannot read the capture statistics: {e}"),
        })?;
        Ok(self.counters.update(s.received, s.dropped, s.if_dropped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_dlt_is_written_as_linktype_raw() {
        assert_eq!(file_linktype(12), 101);
        assert_eq!(file_linktype(1), 1);
        assert_eq!(file_linktype(276), 276);
    }

    #[test]
    fn kernel_counters_survive_a_wrap() {
        let mut c = KernelCounters::default();
        c.update(u32::MAX - 1, 10, 0);
        let t = c.update(5, 12, 1);
        assert_eq!(t.received, u64::from(u32::MAX - 1) + 7);
        assert_eq!(t.dropped, 12);
        assert_eq!(t.if_dropped, 1);
    }

    #[test]
    fn libpcap_messages_are_classified() {
        for (m, want) in [
            (
                "You don't have permission to perform this capture on that device (socket: Operation not permitted)",
                OpenProblem::Permission,
            ),
            ("socket: Operation not permitted", OpenProblem::Permission),
            ("No such device exists", OpenProblem::NoSuchDevice),
            (
                "nosuch0: No such device exists (SIOCGIFHWADDR: No such device)",
                OpenProblem::NoSuchDevice,
            ),
            (
                "can't mmap rx ring: Cannot allocate memory",
                OpenProblem::Other,
            ),
        ] {
            assert_eq!(classify(m), want, "{m}");
        }
    }

    #[test]
    fn permission_message_says_what_to_do() {
        let e = LiveError::Permission {
            interface: "eth0".into(),
            detail: "socket: Operation not permitted".into(),
            exe: "/usr/local/bin/ftpscope".into(),
        };
        let m = e.to_string();
        assert!(m.contains("root"), "{m}");
        assert!(
            m.contains("setcap cap_net_raw,cap_net_admin=eip /usr/local/bin/ftpscope"),
            "{m}"
        );
    }
}
