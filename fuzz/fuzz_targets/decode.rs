//! `Decoder::decode` on a series of packets (the decoder keeps IP fragments between
//! calls). Input: records `[link selector] [len: u16 le] [bytes]`.
//! Whatever decodes as TCP must keep the decoder's promises: the payload present is
//! never longer than the declared one.
#![no_main]

use ftpscope::capture::decode::{Decoded, Decoder};
use ftpscope::capture::frag;
use ftpscope::capture::link::{self, more};
use ftpscope::capture::reader::linktype;
use ftpscope::time::Ts;
use libfuzzer_sys::fuzz_target;

const LINKS: [u32; 22] = [
    linktype::ETHERNET,
    linktype::NULL,
    linktype::LOOP,
    linktype::RAW,
    linktype::RAW_OLD,
    linktype::RAW_OLD2,
    linktype::LINUX_SLL,
    linktype::IPV4,
    linktype::IPV6,
    linktype::LINUX_SLL2,
    more::PPP,
    more::PPP_HDLC,
    more::PPP_ETHER,
    more::C_HDLC,
    more::IEEE802_11,
    more::IEEE802_11_PRISM,
    more::IEEE802_11_RADIOTAP,
    more::IEEE802_11_AVS,
    more::PPI,
    more::MPLS,
    more::NFLOG,
    more::PKTAP,
];

fuzz_target!(|data: &[u8]| {
    let mut d = Decoder::default();
    let mut rest = data;
    let mut ts = 0i64;
    while rest.len() >= 3 {
        let sel = rest[0];
        let len = u16::from_le_bytes([rest[1], rest[2]]) as usize;
        rest = &rest[3..];
        let len = len.min(rest.len());
        let (pkt, later) = rest.split_at(len);
        rest = later;
        let link = if sel < 250 {
            LINKS[sel as usize % LINKS.len()]
        } else {
            u32::from(sel) * 7
        };
        // Time moves on, sometimes by more than the fragment timeout.
        ts += if sel & 0x80 != 0 {
            frag::TIMEOUT_NS + 1
        } else {
            1_000
        };
        // An 802.11 A-MSDU: each subframe is decoded as the pipeline does.
        if let Some(subframes) = link::aggregate(link, pkt) {
            for sub in subframes {
                assert!(sub.len() >= 14 && sub.len() <= pkt.len());
                if let Decoded::Tcp(s) = d.decode(linktype::ETHERNET, sub, Ts(ts)) {
                    assert!(s.wire_len as usize >= s.payload.len());
                }
            }
        }
        match d.decode(link, pkt, Ts(ts)) {
            Decoded::Tcp(s) => {
                assert!(s.wire_len as usize >= s.payload.len());
                let _ = s.missing();
            }
            // PPI and PKTAP name the link type inside them.
            Decoded::UnsupportedLink(l) if link != more::PPI && link != more::PKTAP => {
                assert_eq!(l, link)
            }
            _ => {}
        }
        assert!(d.frags.pending() <= frag::MAX_PENDING);
    }
});
