//! Linux `TCP_INFO` of a connected socket: the kernel's own view of a TCP
//! connection (round trip, retransmissions, and for how long sending was limited by
//! the peer's receive window or the local send buffer).
//!
//! This crate exists to hold the one `unsafe` call ftpscope needs (`getsockopt`
//! filling a C struct), so that the main crate keeps `#![forbid(unsafe_code)]`.
//! Neither `rustix` nor `socket2` exposes `TCP_INFO`.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd};

/// The fields ftpscope reads (times in microseconds). Fields a kernel older than
/// the struct's end does not fill stay zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpInfo {
    pub rtt_us: u32,
    pub rttvar_us: u32,
    pub min_rtt_us: u32,
    /// Segments retransmitted over the connection's life.
    pub total_retrans: u32,
    pub snd_mss: u32,
    pub snd_cwnd: u32,
    /// Time with data in flight or waiting to be sent (Linux 4.10+).
    pub busy_us: u64,
    /// Of that, limited by the peer's receive window.
    pub rwnd_limited_us: u64,
    /// Of that, limited by this socket's send buffer.
    pub sndbuf_limited_us: u64,
    pub bytes_acked: u64,
    pub bytes_received: u64,
    pub bytes_retrans: u64,
    /// Bytes per second the kernel measured at the last delivery.
    pub delivery_rate: u64,
}

/// `TCP_INFO` of a TCP socket.
#[cfg(target_os = "linux")]
pub fn tcp_info(fd: BorrowedFd<'_>) -> io::Result<TcpInfo> {
    let mut raw = std::mem::MaybeUninit::<libc::tcp_info>::zeroed();
    let mut len = std::mem::size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: `raw` is a zeroed, writable `tcp_info` of `len` bytes; the kernel
    // writes at most `len` bytes and sets `len` to what it wrote. A zeroed
    // `tcp_info` is a valid value (plain integers), so reading it after a short
    // write is sound.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            raw.as_mut_ptr().cast(),
            &mut len,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: zero-initialised above, and partly or wholly filled by the kernel.
    let t = unsafe { raw.assume_init() };
    Ok(TcpInfo {
        rtt_us: t.tcpi_rtt,
        rttvar_us: t.tcpi_rttvar,
        min_rtt_us: t.tcpi_min_rtt,
        total_retrans: t.tcpi_total_retrans,
        snd_mss: t.tcpi_snd_mss,
        snd_cwnd: t.tcpi_snd_cwnd,
        busy_us: t.tcpi_busy_time,
        rwnd_limited_us: t.tcpi_rwnd_limited,
        sndbuf_limited_us: t.tcpi_sndbuf_limited,
        bytes_acked: t.tcpi_bytes_acked,
        bytes_received: t.tcpi_bytes_received,
        bytes_retrans: t.tcpi_bytes_retrans,
        delivery_rate: t.tcpi_delivery_rate,
    })
}

/// `TCP_INFO` is Linux's; elsewhere there is nothing to read.
#[cfg(not(target_os = "linux"))]
pub fn tcp_info(_fd: BorrowedFd<'_>) -> io::Result<TcpInfo> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "TCP_INFO is Linux only",
    ))
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::os::fd::AsFd;

    #[test]
    fn a_loopback_connection_reports_its_bytes() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
        let (mut s, _) = l.accept().unwrap();
        c.write_all(&[7u8; 100_000]).unwrap();
        let mut buf = vec![0u8; 100_000];
        s.read_exact(&mut buf).unwrap();
        let ci = super::tcp_info(c.as_fd()).unwrap();
        let si = super::tcp_info(s.as_fd()).unwrap();
        assert!(ci.bytes_acked >= 100_000, "{ci:?}");
        assert!(si.bytes_received >= 100_000, "{si:?}");
        assert!(ci.snd_mss > 0);
    }
}
