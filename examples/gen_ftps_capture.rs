//! Writes a synthetic FTPS capture and its key log, for the decryption benchmark
//! (benches/ftps.sh): one explicit FTPS session (AUTH TLS, TLS 1.3 with
//! TLS_AES_128_GCM_SHA256) that downloads MB megabytes over PASV with PROT P, the
//! data connection's records encrypted with keys derived from the secrets the key
//! log gives (RFC 8446 §7.1, §5.2), as a real client and server would.
//!
//! `gen_ftps_capture OUT.pcap KEYS.log [MB]` (default 1024). Prints the packets.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::SocketAddr;

use aes_gcm::aead::{AeadInOut, Nonce};
use aes_gcm::{Aes128Gcm, KeyInit};
use ftpscope::capture::write::{Format, Header, Writer, tcp_packet};
use ftpscope::time::Ts;

const ACK: u8 = 0x10;
const PSH: u8 = 0x08;
const SYN: u8 = 0x02;
const FIN: u8 = 0x01;
/// LINKTYPE_RAW: packets start with the IP header.
const RAW: u32 = 101;

fn expand_label(secret: &[u8], label: &str, len: usize) -> Vec<u8> {
    let mut info = Vec::new();
    info.extend_from_slice(&(len as u16).to_be_bytes());
    info.push((6 + label.len()) as u8);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label.as_bytes());
    info.push(0);
    let mut out = vec![0; len];
    hkdf::Hkdf::<sha2::Sha256>::from_prk(secret)
        .expect("a 32-byte secret")
        .expand(&info, &mut out)
        .expect("a short output");
    out
}

/// One direction's record protection.
struct Keys {
    aead: Aes128Gcm,
    iv: [u8; 12],
    seq: u64,
}

impl Keys {
    fn new(secret: &[u8]) -> Keys {
        let key = expand_label(secret, "key", 16);
        let mut iv = [0u8; 12];
        iv.copy_from_slice(&expand_label(secret, "iv", 12));
        Keys {
            aead: Aes128Gcm::new_from_slice(&key).expect("a 16-byte key"),
            iv,
            seq: 0,
        }
    }

    /// A TLS 1.3 record of inner type `inner` holding `data`.
    fn record(&mut self, inner: u8, data: &[u8]) -> Vec<u8> {
        let mut buf = Vec::with_capacity(data.len() + 17 + 5);
        buf.extend_from_slice(data);
        buf.push(inner);
        let len = buf.len() + 16;
        let hdr = [23, 3, 3, (len >> 8) as u8, len as u8];
        let mut nonce = self.iv;
        for (i, b) in self.seq.to_be_bytes().iter().enumerate() {
            nonce[4 + i] ^= b;
        }
        self.aead
            .encrypt_in_place(&Nonce::<Aes128Gcm>::from(nonce), &hdr, &mut buf)
            .expect("encrypts");
        self.seq += 1;
        let mut out = hdr.to_vec();
        out.extend_from_slice(&buf);
        out
    }
}

fn handshake(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![kind];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

fn plain_record(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![kind, 3, 1];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

/// ClientHello (TLS 1.3 only, one suite) or ServerHello (supported_versions 1.3).
fn hello(client: bool, random: &[u8; 32]) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(random);
    b.push(0); // session id
    if client {
        b.extend_from_slice(&[0, 2, 0x13, 0x01, 1, 0]);
    } else {
        b.extend_from_slice(&[0x13, 0x01, 0]);
    }
    let ext: &[u8] = if client {
        &[0, 43, 0, 3, 2, 3, 4]
    } else {
        &[0, 43, 0, 2, 3, 4]
    };
    b.extend_from_slice(&(ext.len() as u16).to_be_bytes());
    b.extend_from_slice(ext);
    plain_record(22, &handshake(if client { 1 } else { 2 }, &b))
}

struct Cap {
    w: Writer<BufWriter<File>>,
    us: u64,
}

struct Conn {
    a: SocketAddr,
    b: SocketAddr,
    sa: u32,
    sb: u32,
}

impl Cap {
    fn pkt(&mut self, src: SocketAddr, dst: SocketAddr, seq: u32, ack: u32, flags: u8, p: &[u8]) {
        self.us += 5;
        let t = Ts::from_secs_nanos(
            1_700_000_000 + (self.us / 1_000_000) as i64,
            (self.us % 1_000_000) as i64 * 1000,
        );
        let d = tcp_packet(src, dst, seq, ack, flags, p);
        self.w.packet(t, &d, d.len() as u32).expect("writes");
    }

    fn open(&mut self, a: SocketAddr, b: SocketAddr) -> Conn {
        self.pkt(a, b, 100, 0, SYN, b"");
        self.pkt(b, a, 900, 101, SYN | ACK, b"");
        self.pkt(a, b, 101, 901, ACK, b"");
        Conn {
            a,
            b,
            sa: 101,
            sb: 901,
        }
    }

    /// Bytes from the initiator (`from_a`) or the responder, in MSS segments,
    /// each acknowledged every second segment.
    fn send(&mut self, c: &mut Conn, from_a: bool, data: &[u8]) {
        for (i, seg) in data.chunks(1448).enumerate() {
            if from_a {
                self.pkt(c.a, c.b, c.sa, c.sb, ACK | PSH, seg);
                c.sa = c.sa.wrapping_add(seg.len() as u32);
            } else {
                self.pkt(c.b, c.a, c.sb, c.sa, ACK | PSH, seg);
                c.sb = c.sb.wrapping_add(seg.len() as u32);
            }
            if i % 2 == 1 || (i + 1) * 1448 >= data.len() {
                if from_a {
                    self.pkt(c.b, c.a, c.sb, c.sa, ACK, b"");
                } else {
                    self.pkt(c.a, c.b, c.sa, c.sb, ACK, b"");
                }
            }
        }
    }

    fn close(&mut self, c: &mut Conn) {
        self.pkt(c.b, c.a, c.sb, c.sa, FIN | ACK, b"");
        self.pkt(c.a, c.b, c.sa, c.sb + 1, FIN | ACK, b"");
        self.pkt(c.b, c.a, c.sb + 1, c.sa + 1, ACK, b"");
    }
}

/// The TLS 1.3 handshake of one connection (client `a`), its four traffic
/// secrets written to the key log; returns the application keys (client, server).
fn tls(cap: &mut Cap, c: &mut Conn, n: u8, keys: &mut impl Write) -> (Keys, Keys) {
    let cr = [n; 32];
    let sr = [n ^ 0x80; 32];
    let secret = |label: u8| [label ^ n; 32];
    let (chs, shs, cap_s, sap) = (secret(1), secret(2), secret(3), secret(4));
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    for (name, s) in [
        ("CLIENT_HANDSHAKE_TRAFFIC_SECRET", &chs),
        ("SERVER_HANDSHAKE_TRAFFIC_SECRET", &shs),
        ("CLIENT_TRAFFIC_SECRET_0", &cap_s),
        ("SERVER_TRAFFIC_SECRET_0", &sap),
    ] {
        writeln!(keys, "{name} {} {}", hex(&cr), hex(s)).expect("writes");
    }
    cap.send(c, true, &hello(true, &cr));
    let mut flight = hello(false, &sr);
    let mut sh = Keys::new(&shs);
    flight.extend(sh.record(22, &handshake(8, &[0, 0])));
    flight.extend(sh.record(22, &handshake(20, &[0x55; 32])));
    cap.send(c, false, &flight);
    let mut ch = Keys::new(&chs);
    cap.send(c, true, &ch.record(22, &handshake(20, &[0x66; 32])));
    (Keys::new(&cap_s), Keys::new(&sap))
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(out), Some(keys_path)) = (args.get(1), args.get(2)) else {
        panic!("usage: gen_ftps_capture OUT.pcap KEYS.log [MB]");
    };
    let mb: u64 = args.get(3).and_then(|x| x.parse().ok()).unwrap_or(1024);
    let header = Header {
        linktype: RAW,
        snaplen: 0,
        interface: None,
        application: "ftpscope gen_ftps_capture",
    };
    let file = BufWriter::with_capacity(1 << 20, File::create(out).expect("create output"));
    let mut cap = Cap {
        w: Writer::new(file, Format::Pcap, &header).expect("header"),
        us: 0,
    };
    let mut keys = BufWriter::new(File::create(keys_path).expect("create key log"));
    let client: SocketAddr = "203.0.113.10:40000".parse().unwrap();
    let server: SocketAddr = "198.51.100.5:21".parse().unwrap();
    let mut ctl = cap.open(client, server);
    cap.send(&mut ctl, false, b"220 (vsFTPd 3.0.3)\r\n");
    cap.send(&mut ctl, true, b"AUTH TLS\r\n");
    cap.send(&mut ctl, false, b"234 Proceed with negotiation.\r\n");
    let (mut c, mut s) = tls(&mut cap, &mut ctl, 1, &mut keys);
    let size = mb << 20;
    for (from_client, line) in [
        (true, "USER bench".to_string()),
        (false, "331 Please specify the password.".into()),
        (true, "PASS secret".into()),
        (false, "230 Login successful.".into()),
        (true, "PBSZ 0".into()),
        (false, "200 PBSZ set to 0.".into()),
        (true, "PROT P".into()),
        (false, "200 PROT now Private.".into()),
        (true, "TYPE I".into()),
        (false, "200 Switching to Binary mode.".into()),
        (true, "PASV".into()),
        (
            false,
            "227 Entering Passive Mode (198,51,100,5,195,81).".into(),
        ),
        (true, "RETR big.bin".into()),
        (
            false,
            format!("150 Opening BINARY mode data connection for big.bin ({size} bytes)."),
        ),
    ] {
        let k = if from_client { &mut c } else { &mut s };
        let r = k.record(23, format!("{line}\r\n").as_bytes());
        cap.send(&mut ctl, from_client, &r);
    }
    let mut data = cap.open(
        "203.0.113.10:40001".parse().unwrap(),
        "198.51.100.5:50001".parse().unwrap(),
    );
    let (_, mut ds) = tls(&mut cap, &mut data, 2, &mut keys);
    let chunk = vec![0x5a; 16384];
    let mut left = size;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        let r = ds.record(23, &chunk[..n]);
        cap.send(&mut data, false, &r);
        left -= n as u64;
    }
    // A clean TLS end: close_notify before the FIN.
    let r = ds.record(21, &[1, 0]);
    cap.send(&mut data, false, &r);
    cap.close(&mut data);
    for (from_client, line) in [
        (false, "226 Transfer complete."),
        (true, "QUIT"),
        (false, "221 Goodbye."),
    ] {
        let k = if from_client { &mut c } else { &mut s };
        let r = k.record(23, format!("{line}\r\n").as_bytes());
        cap.send(&mut ctl, from_client, &r);
    }
    cap.close(&mut ctl);
    keys.flush().unwrap();
    cap.w.flush().unwrap();
    println!("{}", cap.w.packets());
}
