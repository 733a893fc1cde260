//! Capture sources: reading pcap/pcapng files and decoding link, IP and TCP headers.
//!
//! * [`reader`]: a pure-Rust streaming reader for pcap (micro/nanosecond, both byte
//!   orders), pcapng (several sections and interfaces, per-interface time
//!   resolution and link type) and Solaris snoop. Every length is validated
//!   before it is used.
//! * [`link`]: link layers to the network packet they carry (Ethernet with VLAN
//!   tags, MPLS, PPPoE; Linux cooked v1/v2, BSD loopback, raw IP; PPP, Cisco
//!   HDLC; 802.11 with radiotap/Prism/AVS/PPI; NFLOG; PKTAP).
//! * [`decode`]: IPv4/IPv6 (and the tunnels inside them) to a TCP
//!   [`decode::Segment`].
//! * [`frag`]: bounded IPv4/IPv6 fragment reassembly.
//! * [`input`]: opening a capture: a file or standard input (`-`), gzip-compressed
//!   or not (told by content), never seeking.
//! * [`merge`]: several captures read as one in time order; frame numbers keep
//!   which file a frame came from.
//! * [`extract`]: the packets of some connections copied into a new capture
//!   (exporting a session).
//! * [`write`]: the one pcap/pcapng writer (`live -w`, the proxy's `--record`, test
//!   fixtures) and TCP packets built with etherparse.

pub mod decode;
pub mod extract;
pub mod frag;
pub mod input;
pub mod link;
pub mod merge;
pub mod reader;
pub mod write;

pub use reader::{CaptureError, CaptureReader, Packet, PacketSource};
#[cfg(feature = "live")]
pub mod live;
