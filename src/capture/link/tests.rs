use super::*;

/// An IPv4 header and a TCP header with a payload: what every wrapping below
/// must lead back to.
fn ip_packet() -> Vec<u8> {
    let mut p = vec![
        0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
    ];
    p.extend_from_slice(&[
        0x80, 0x01, 0, 21, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff,
    ]);
    p.extend_from_slice(&[0, 0, 0, 0]);
    p.extend_from_slice(b"USER anonymous\r\n");
    let len = p.len() as u16;
    p[2..4].copy_from_slice(&len.to_be_bytes());
    p
}

fn eth(et: u16, body: &[u8]) -> Vec<u8> {
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
    f.extend_from_slice(&et.to_be_bytes());
    f.extend_from_slice(body);
    f
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn mpls_label(label: u32, bottom: bool) -> [u8; 4] {
    (label << 12 | u32::from(bottom) << 8 | 64).to_be_bytes()
}

fn dot11_data(flags: u8, qos: Option<u8>) -> Vec<u8> {
    let subtype = if qos.is_some() { 8u8 } else { 0 };
    let mut h = vec![(subtype << 4) | (2 << 2), flags, 0, 0];
    h.extend_from_slice(&[0x02; 18]);
    h.extend_from_slice(&[0x10, 0x00]); // sequence control: fragment 0
    if flags & 0x03 == 0x03 {
        h.extend_from_slice(&[0x02; 6]);
    }
    if let Some(q) = qos {
        h.extend_from_slice(&[q, 0]);
    }
    h
}

const SNAP_IP: [u8; 8] = [0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00];

/// Every encapsulation read here, around the same IPv4 packet.
fn wrapped() -> Vec<(&'static str, u32, Vec<u8>)> {
    let ip = ip_packet();
    let nflog = {
        let mut m = vec![2, 0, 0, 5];
        // A packet-header attribute (type 1), then the payload (type 9), padded.
        m.extend_from_slice(&[8, 0, 1, 0, 0x08, 0x00, 3, 0]);
        m.extend_from_slice(&((ip.len() + 4) as u16).to_le_bytes());
        m.extend_from_slice(&[9, 0]);
        m.extend_from_slice(&ip);
        m.resize(m.len() + (4 - ip.len() % 4) % 4, 0);
        m
    };
    let radiotap = cat(&[
        &[0, 0, 8, 0, 0, 0, 0, 0],
        &dot11_data(0x01, None),
        &SNAP_IP,
        &ip,
    ]);
    let mut pktap = vec![0u8; 108];
    pktap[..4].copy_from_slice(&108u32.to_le_bytes());
    pktap[4..12].copy_from_slice(&[1, 0, 0, 0, 1, 0, 0, 0]);
    vec![
        ("ethernet", linktype::ETHERNET, eth(0x0800, &ip)),
        (
            "802.1Q",
            linktype::ETHERNET,
            eth(0x8100, &cat(&[&[0, 100, 0x08, 0x00], &ip])),
        ),
        (
            "QinQ",
            linktype::ETHERNET,
            eth(
                0x88a8,
                &cat(&[&[0, 100, 0x81, 0x00, 0, 200, 0x08, 0x00], &ip]),
            ),
        ),
        (
            "MPLS",
            linktype::ETHERNET,
            eth(0x8847, &cat(&[&mpls_label(16, true), &ip])),
        ),
        (
            "MPLS, two labels, in a VLAN",
            linktype::ETHERNET,
            eth(
                0x8100,
                &cat(&[
                    &[0, 7, 0x88, 0x47],
                    &mpls_label(16, false),
                    &mpls_label(17, true),
                    &ip,
                ]),
            ),
        ),
        (
            "Ethernet over MPLS with a control word",
            linktype::ETHERNET,
            eth(
                0x8847,
                &cat(&[&mpls_label(16, true), &[0; 4], &eth(0x0800, &ip)]),
            ),
        ),
        (
            "PPPoE",
            linktype::ETHERNET,
            eth(
                0x8864,
                &cat(&[
                    &[0x11, 0, 0, 1],
                    &((ip.len() + 2) as u16).to_be_bytes(),
                    &[0, 0x21],
                    &ip,
                ]),
            ),
        ),
        (
            "802.3 with LLC/SNAP",
            linktype::ETHERNET,
            eth((ip.len() + 8) as u16, &cat(&[&SNAP_IP, &ip])),
        ),
        (
            "Linux cooked",
            linktype::LINUX_SLL,
            cat(&[&[0, 0, 0, 1, 0, 6], &[2; 8], &[0x08, 0x00], &ip]),
        ),
        (
            "Linux cooked, VLAN kept",
            linktype::LINUX_SLL,
            cat(&[
                &[0, 0, 0, 1, 0, 6],
                &[2; 8],
                &[0x81, 0x00],
                &[0, 5, 0x08, 0x00],
                &ip,
            ]),
        ),
        (
            "Linux cooked v2",
            linktype::LINUX_SLL2,
            cat(&[&[0x08, 0x00, 0, 0], &[0; 16], &ip]),
        ),
        (
            "BSD loopback",
            linktype::NULL,
            cat(&[&2u32.to_le_bytes(), &ip]),
        ),
        ("raw IP", linktype::RAW, ip.clone()),
        ("PPP", more::PPP, cat(&[&[0xff, 0x03, 0x00, 0x21], &ip])),
        ("PPP, fields compressed", more::PPP, cat(&[&[0x21], &ip])),
        (
            "PPP in HDLC framing",
            more::PPP_HDLC,
            cat(&[&[0xff, 0x03, 0x00, 0x21], &ip]),
        ),
        (
            "PPPoE without Ethernet",
            more::PPP_ETHER,
            cat(&[&[0x11, 0, 0, 1, 0, 0], &[0, 0x21], &ip]),
        ),
        (
            "Cisco HDLC",
            more::C_HDLC,
            cat(&[&[0x0f, 0x00, 0x08, 0x00], &ip]),
        ),
        ("MPLS link", more::MPLS, cat(&[&mpls_label(3, true), &ip])),
        (
            "802.11",
            more::IEEE802_11,
            cat(&[&dot11_data(0x01, None), &SNAP_IP, &ip]),
        ),
        (
            "802.11 QoS, four addresses",
            more::IEEE802_11,
            cat(&[&dot11_data(0x03, Some(0)), &SNAP_IP, &ip]),
        ),
        (
            "802.11 radiotap",
            more::IEEE802_11_RADIOTAP,
            radiotap.clone(),
        ),
        (
            "802.11 Prism",
            more::IEEE802_11_PRISM,
            cat(&[&[0; 144], &dot11_data(0x02, None), &SNAP_IP, &ip]),
        ),
        (
            "802.11 AVS",
            more::IEEE802_11_AVS,
            cat(&[
                &[0x80, 0x21, 0x10, 0x01, 0, 0, 0, 64],
                &[0; 56],
                &dot11_data(0x02, None),
                &SNAP_IP,
                &ip,
            ]),
        ),
        (
            "PPI around 802.11",
            more::PPI,
            cat(&[
                &[0, 0, 8, 0, 105, 0, 0, 0],
                &dot11_data(0x01, None),
                &SNAP_IP,
                &ip,
            ]),
        ),
        ("NFLOG", more::NFLOG, nflog),
        (
            "PKTAP around Ethernet",
            more::PKTAP,
            cat(&[&pktap, &eth(0x0800, &ip)]),
        ),
    ]
}

#[test]
fn every_encapsulation_leads_to_the_ip_packet() {
    let ip = ip_packet();
    for (name, link, frame) in wrapped() {
        match peel(link, &frame) {
            Link::Net(0x0800, bytes) => assert_eq!(&bytes[..ip.len()], &ip[..], "{name}"),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn every_cut_of_every_encapsulation_is_an_answer() {
    // No prefix panics, and none of the link header's own bytes is read as the
    // packet: cut inside the headers, the answer is never the IP packet itself.
    let ip = ip_packet();
    for (name, link, frame) in wrapped() {
        let headers = frame.len()
            - ip.len()
            - if link == more::NFLOG {
                (4 - ip.len() % 4) % 4
            } else {
                0
            };
        for cut in 0..frame.len() {
            let got = peel(link, &frame[..cut]);
            if cut < headers {
                assert!(
                    !matches!(got, Link::Net(_, b) if !b.is_empty() && b[0] == 0x45 && b.len() > 20),
                    "{name} cut at {cut}: {got:?}"
                );
            }
        }
    }
}

#[test]
fn frames_without_a_readable_packet() {
    let ip = ip_packet();
    let cases: Vec<(&str, u32, Vec<u8>)> = vec![
        (
            "WPA-protected 802.11",
            more::IEEE802_11,
            cat(&[&dot11_data(0x41, None), &SNAP_IP, &ip]),
        ),
        (
            "802.11 A-MSDU",
            more::IEEE802_11,
            cat(&[&dot11_data(0x01, Some(0x80)), &SNAP_IP, &ip]),
        ),
        (
            "802.11 beacon",
            more::IEEE802_11,
            cat(&[&[0x80, 0], &[0; 30]]),
        ),
        (
            "802.11 null data",
            more::IEEE802_11,
            cat(&[&[0x48, 0x01], &[0; 22]]),
        ),
        (
            "802.11 first fragment",
            more::IEEE802_11,
            cat(&[&dot11_data(0x05, None), &SNAP_IP, &ip]),
        ),
        (
            "PPP LCP",
            more::PPP,
            cat(&[&[0xff, 0x03, 0xc0, 0x21], &[1, 1, 0, 4]]),
        ),
        (
            "PPPoE discovery",
            linktype::ETHERNET,
            eth(0x8864, &[0x11, 0x09, 0, 0, 0, 0]),
        ),
        (
            "spanning tree",
            linktype::ETHERNET,
            eth(38, &[0x42, 0x42, 0x03, 0, 0, 0, 0, 0]),
        ),
        (
            "NFLOG without a payload",
            more::NFLOG,
            vec![2, 0, 0, 5, 8, 0, 1, 0, 0x08, 0, 3, 0],
        ),
        (
            "MPLS carrying something else",
            more::MPLS,
            cat(&[&mpls_label(3, true), &[0x81; 20]]),
        ),
    ];
    for (name, link, frame) in cases {
        assert_eq!(peel(link, &frame), Link::NoPacket, "{name}");
    }
}

#[test]
fn hostile_nesting_ends() {
    // A frame of nothing but VLAN tags, and a label stack with no bottom label.
    let tags: Vec<u8> = std::iter::repeat_n([0, 1, 0x81, 0x00], 1000)
        .flatten()
        .collect();
    assert!(matches!(
        peel(linktype::ETHERNET, &eth(0x8100, &tags)),
        Link::Malformed(_)
    ));
    let labels: Vec<u8> = std::iter::repeat_n(mpls_label(16, false), 1000)
        .flatten()
        .collect();
    assert!(matches!(peel(more::MPLS, &labels), Link::Malformed(_)));
    // MPLS pseudowires carrying MPLS in Ethernet, again and again.
    let mut f = eth(0x0800, &ip_packet());
    for _ in 0..100 {
        f = eth(0x8847, &cat(&[&mpls_label(16, true), &[0; 4], &f]));
    }
    assert!(matches!(peel(linktype::ETHERNET, &f), Link::Malformed(_)));
    // PPI naming PPI naming PPI...
    let mut p = eth(0x0800, &ip_packet());
    let mut link = linktype::ETHERNET;
    for _ in 0..100 {
        p = cat(&[&[0, 0, 8, 0], &link.to_le_bytes(), &p]);
        link = more::PPI;
    }
    assert!(matches!(peel(more::PPI, &p), Link::Malformed(_)));
    // A NFLOG attribute claiming less than its own header.
    assert!(matches!(
        peel(more::NFLOG, &[2, 0, 0, 5, 2, 0, 9, 0, 0, 0]),
        Link::Malformed(_)
    ));
    assert_eq!(peel(4242, &[0; 40]), Link::Unsupported(4242));
}

proptest::proptest! {
    #[test]
    fn any_bytes_any_link_type(link in proptest::sample::select(vec![
        linktype::ETHERNET, linktype::LINUX_SLL, linktype::LINUX_SLL2, linktype::NULL,
        linktype::LOOP, linktype::RAW, more::PPP, more::PPP_HDLC, more::PPP_ETHER,
        more::C_HDLC, more::IEEE802_11, more::IEEE802_11_PRISM, more::IEEE802_11_RADIOTAP,
        more::IEEE802_11_AVS, more::PPI, more::MPLS, more::NFLOG, more::PKTAP,
    ]), data in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        // Whatever comes back lies inside the frame.
        if let Link::Net(_, bytes) = peel(link, &data) {
            let (start, end) = (data.as_ptr() as usize, data.as_ptr() as usize + data.len());
            let b = bytes.as_ptr() as usize;
            proptest::prop_assert!(bytes.is_empty() || (b >= start && b + bytes.len() <= end));
        }
    }
}

/// An A-MSDU of the given packets: a QoS data frame whose QoS control says
/// "aggregate", each packet in an 802.3 subframe padded to four bytes.
fn amsdu(packets: &[&[u8]]) -> Vec<u8> {
    let mut f = dot11_data(0x01, Some(0x80));
    for (i, p) in packets.iter().enumerate() {
        let mut sub = vec![0x02; 12];
        sub.extend_from_slice(&((SNAP_IP.len() + p.len()) as u16).to_be_bytes());
        sub.extend_from_slice(&SNAP_IP);
        sub.extend_from_slice(p);
        if i + 1 < packets.len() {
            sub.resize(sub.len().next_multiple_of(4), 0);
        }
        f.extend_from_slice(&sub);
    }
    f
}

#[test]
fn an_amsdu_gives_each_of_its_packets() {
    let ip = ip_packet();
    let mut other = ip.clone();
    other.truncate(ip.len() - 3); // another length, so padding is needed
    let len = other.len() as u16;
    other[2..4].copy_from_slice(&len.to_be_bytes());
    let frame = amsdu(&[&ip, &other, &ip]);
    for (link, f) in [
        (more::IEEE802_11, frame.clone()),
        (
            more::IEEE802_11_RADIOTAP,
            cat(&[&[0, 0, 8, 0, 0, 0, 0, 0], &frame]),
        ),
        (more::PPI, cat(&[&[0, 0, 8, 0, 105, 0, 0, 0], &frame])),
    ] {
        // Not one packet...
        assert_eq!(peel(link, &f), Link::NoPacket);
        // ...but three, each read as an 802.3 frame.
        let got: Vec<Vec<u8>> = aggregate(link, &f)
            .expect("an A-MSDU")
            .map(|sub| match ethernet(sub, 0) {
                Link::Net(0x0800, b) => b.to_vec(),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            got,
            vec![ip.clone(), other.clone(), ip.clone()],
            "link {link}"
        );
    }
    // A frame that is not an A-MSDU, and an A-MSDU cut in its last subframe.
    assert!(
        aggregate(
            more::IEEE802_11,
            &cat(&[&dot11_data(0x01, Some(0)), &SNAP_IP, &ip])
        )
        .is_none()
    );
    assert!(aggregate(linktype::ETHERNET, &frame).is_none());
    let cut = &frame[..frame.len() - 10];
    assert_eq!(
        aggregate(more::IEEE802_11, cut).expect("an A-MSDU").count(),
        3
    );
    // Every cut of it ends.
    for n in 0..frame.len() {
        if let Some(subs) = aggregate(more::IEEE802_11, &frame[..n]) {
            assert!(subs.count() <= 3);
        }
    }
}
