//! Writes synthetic FTP captures for the benchmarks (benches/engine.sh).
//!
//! `gen_bench_capture big OUT [SESSIONS] [MB_PER_TRANSFER]`: a few sessions, each
//! downloading a large file over PASV (about 1 GB in all by default).
//! `gen_bench_capture many OUT [SESSIONS]`: many short sessions (login, EPSV LIST,
//! QUIT), 20,000 by default.
//! `gen_bench_capture long OUT [COMMANDS]`: one session of many commands (a crawler
//! walking a tree: CWD, PWD, SIZE, MDTM, NOOP, TYPE, a PASV LIST now and then),
//! 200,000 by default.
//!
//! Packets are Ethernet/IPv4/TCP with correct IPv4 header checksums, in pcap format
//! with microsecond timestamps. Prints the number of packets written.

use std::fs::File;
use std::io::{BufWriter, Write};

struct W {
    out: BufWriter<File>,
    ts_us: u64,
    packets: u64,
}

#[derive(Clone, Copy)]
struct Ep {
    ip: [u8; 4],
    port: u16,
}

struct Flow {
    a: Ep,
    b: Ep,
    seq_a: u32,
    seq_b: u32,
}

const SYN: u8 = 0x02;
const ACK: u8 = 0x10;
const PSH: u8 = 0x08;
const FIN: u8 = 0x01;

fn csum(h: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in h.chunks(2) {
        s += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

impl W {
    fn new(path: &str) -> W {
        let mut out = BufWriter::with_capacity(1 << 20, File::create(path).expect("create output"));
        let mut h = Vec::new();
        h.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        h.extend_from_slice(&2u16.to_le_bytes());
        h.extend_from_slice(&4u16.to_le_bytes());
        h.extend_from_slice(&[0; 8]);
        h.extend_from_slice(&65535u32.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes());
        out.write_all(&h).unwrap();
        W {
            out,
            ts_us: 1_700_000_000_000_000,
            packets: 0,
        }
    }

    fn packet(&mut self, src: Ep, dst: Ep, seq: u32, ack: u32, flags: u8, payload: &[u8]) {
        self.ts_us += 7;
        let ip_len = 20 + 20 + payload.len();
        let mut p = Vec::with_capacity(14 + ip_len);
        p.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&(ip_len as u16).to_be_bytes());
        ip[6] = 0x40;
        ip[8] = 64;
        ip[9] = 6;
        ip[12..16].copy_from_slice(&src.ip);
        ip[16..20].copy_from_slice(&dst.ip);
        let c = csum(&ip);
        ip[10..12].copy_from_slice(&c.to_be_bytes());
        p.extend_from_slice(&ip);
        let mut t = [0u8; 20];
        t[0..2].copy_from_slice(&src.port.to_be_bytes());
        t[2..4].copy_from_slice(&dst.port.to_be_bytes());
        t[4..8].copy_from_slice(&seq.to_be_bytes());
        t[8..12].copy_from_slice(&ack.to_be_bytes());
        t[12] = 0x50;
        t[13] = flags;
        t[14..16].copy_from_slice(&65535u16.to_be_bytes());
        p.extend_from_slice(&t);
        p.extend_from_slice(payload);
        let secs = (self.ts_us / 1_000_000) as u32;
        let us = (self.ts_us % 1_000_000) as u32;
        let mut rec = Vec::with_capacity(16);
        rec.extend_from_slice(&secs.to_le_bytes());
        rec.extend_from_slice(&us.to_le_bytes());
        rec.extend_from_slice(&(p.len() as u32).to_le_bytes());
        rec.extend_from_slice(&(p.len() as u32).to_le_bytes());
        self.out.write_all(&rec).unwrap();
        self.out.write_all(&p).unwrap();
        self.packets += 1;
    }

    fn open(&mut self, a: Ep, b: Ep) -> Flow {
        let (ia, ib) = (1000u32, 5000u32);
        self.packet(a, b, ia, 0, SYN, b"");
        self.packet(b, a, ib, ia + 1, SYN | ACK, b"");
        self.packet(a, b, ia + 1, ib + 1, ACK, b"");
        Flow {
            a,
            b,
            seq_a: ia + 1,
            seq_b: ib + 1,
        }
    }

    /// a -> b payload, acknowledged.
    fn send_a(&mut self, f: &mut Flow, data: &[u8]) {
        self.packet(f.a, f.b, f.seq_a, f.seq_b, ACK | PSH, data);
        f.seq_a = f.seq_a.wrapping_add(data.len() as u32);
        self.packet(f.b, f.a, f.seq_b, f.seq_a, ACK, b"");
    }

    fn send_b(&mut self, f: &mut Flow, data: &[u8]) {
        self.packet(f.b, f.a, f.seq_b, f.seq_a, ACK | PSH, data);
        f.seq_b = f.seq_b.wrapping_add(data.len() as u32);
        self.packet(f.a, f.b, f.seq_a, f.seq_b, ACK, b"");
    }

    /// Bulk b -> a, MSS-sized segments, one ACK every two segments.
    fn bulk_b(&mut self, f: &mut Flow, total: u64) {
        let seg = [0x5au8; 1448];
        let mut left = total;
        let mut n = 0u64;
        while left > 0 {
            let len = left.min(seg.len() as u64) as usize;
            self.packet(f.b, f.a, f.seq_b, f.seq_a, ACK, &seg[..len]);
            f.seq_b = f.seq_b.wrapping_add(len as u32);
            left -= len as u64;
            n += 1;
            if n.is_multiple_of(2) || left == 0 {
                self.packet(f.a, f.b, f.seq_a, f.seq_b, ACK, b"");
            }
        }
    }

    fn close(&mut self, f: &mut Flow) {
        self.packet(f.b, f.a, f.seq_b, f.seq_a, FIN | ACK, b"");
        self.packet(f.a, f.b, f.seq_a, f.seq_b + 1, FIN | ACK, b"");
        self.packet(f.b, f.a, f.seq_b + 1, f.seq_a + 1, ACK, b"");
    }
}

fn session(w: &mut W, client: [u8; 4], cport: u16, dport: u16, transfer: u64, listing: bool) {
    let server = [198, 51, 100, 5];
    let c = Ep {
        ip: client,
        port: cport,
    };
    let s = Ep {
        ip: server,
        port: 21,
    };
    let mut ctl = w.open(c, s);
    w.send_b(&mut ctl, b"220 (vsFTPd 3.0.3)\r\n");
    w.send_a(&mut ctl, b"USER bench\r\n");
    w.send_b(&mut ctl, b"331 Please specify the password.\r\n");
    w.send_a(&mut ctl, b"PASS secret\r\n");
    w.send_b(&mut ctl, b"230 Login successful.\r\n");
    w.send_a(&mut ctl, b"TYPE I\r\n");
    w.send_b(&mut ctl, b"200 Switching to Binary mode.\r\n");
    if listing {
        w.send_a(&mut ctl, b"EPSV\r\n");
        w.send_b(
            &mut ctl,
            format!("229 Entering Extended Passive Mode (|||{dport}|)\r\n").as_bytes(),
        );
        w.send_a(&mut ctl, b"LIST\r\n");
    } else {
        w.send_a(&mut ctl, b"PASV\r\n");
        w.send_b(
            &mut ctl,
            format!(
                "227 Entering Passive Mode (198,51,100,5,{},{}).\r\n",
                dport >> 8,
                dport & 0xff
            )
            .as_bytes(),
        );
        w.send_a(&mut ctl, b"RETR big.bin\r\n");
    }
    let mut data = w.open(
        Ep {
            ip: client,
            port: cport.wrapping_add(1),
        },
        Ep {
            ip: server,
            port: dport,
        },
    );
    w.send_b(
        &mut ctl,
        format!("150 Opening BINARY mode data connection ({transfer} bytes).\r\n").as_bytes(),
    );
    w.bulk_b(&mut data, transfer);
    w.close(&mut data);
    w.send_b(&mut ctl, b"226 Transfer complete.\r\n");
    w.send_a(&mut ctl, b"QUIT\r\n");
    w.send_b(&mut ctl, b"221 Goodbye.\r\n");
    w.close(&mut ctl);
}

/// One session of `commands` commands, each answered at once, as a crawler sends them.
fn long_session(w: &mut W, commands: u32) {
    let c = Ep {
        ip: [203, 0, 113, 77],
        port: 41000,
    };
    let s = Ep {
        ip: [198, 51, 100, 5],
        port: 21,
    };
    let mut ctl = w.open(c, s);
    w.send_b(&mut ctl, b"220 (vsFTPd 3.0.3)\r\n");
    w.send_a(&mut ctl, b"USER crawler\r\n");
    w.send_b(&mut ctl, b"331 Please specify the password.\r\n");
    w.send_a(&mut ctl, b"PASS secret\r\n");
    w.send_b(&mut ctl, b"230 Login successful.\r\n");
    let mut dport = 50000u16;
    for i in 0..commands.saturating_sub(3) {
        let dir = i / 8;
        match i % 8 {
            0 => {
                w.send_a(&mut ctl, format!("CWD /pub/tree/d{dir}\r\n").as_bytes());
                w.send_b(&mut ctl, b"250 Directory successfully changed.\r\n");
            }
            1 => {
                w.send_a(&mut ctl, b"PWD\r\n");
                w.send_b(
                    &mut ctl,
                    format!("257 \"/pub/tree/d{dir}\" is the current directory\r\n").as_bytes(),
                );
            }
            2 => {
                w.send_a(&mut ctl, b"TYPE I\r\n");
                w.send_b(&mut ctl, b"200 Switching to Binary mode.\r\n");
            }
            3 => {
                w.send_a(&mut ctl, format!("SIZE file{dir}.tar.gz\r\n").as_bytes());
                w.send_b(&mut ctl, format!("213 {}\r\n", 1000 + dir * 37).as_bytes());
            }
            4 => {
                w.send_a(&mut ctl, format!("MDTM file{dir}.tar.gz\r\n").as_bytes());
                w.send_b(&mut ctl, b"213 20240101120000\r\n");
            }
            5 => {
                w.send_a(&mut ctl, b"NOOP\r\n");
                w.send_b(&mut ctl, b"200 NOOP ok.\r\n");
            }
            6 if dir % 64 == 0 => {
                // Now and then a listing over a data connection.
                dport = if dport >= 60000 { 50000 } else { dport + 1 };
                w.send_a(&mut ctl, b"PASV\r\n");
                w.send_b(
                    &mut ctl,
                    format!(
                        "227 Entering Passive Mode (198,51,100,5,{},{}).\r\n",
                        dport >> 8,
                        dport & 0xff
                    )
                    .as_bytes(),
                );
                w.send_a(&mut ctl, b"LIST\r\n");
                let mut data = w.open(
                    Ep {
                        ip: c.ip,
                        port: 42000 + (dir / 64 % 8000) as u16,
                    },
                    Ep {
                        ip: s.ip,
                        port: dport,
                    },
                );
                w.send_b(&mut ctl, b"150 Here comes the directory listing.\r\n");
                w.bulk_b(&mut data, 900);
                w.close(&mut data);
                w.send_b(&mut ctl, b"226 Directory send OK.\r\n");
            }
            _ => {
                w.send_a(&mut ctl, b"STAT\r\n");
                w.send_b(
                    &mut ctl,
                    b"211-FTP server status:\r\n     Connected to 203.0.113.77\r\n211 End of status\r\n",
                );
            }
        }
    }
    w.send_a(&mut ctl, b"QUIT\r\n");
    w.send_b(&mut ctl, b"221 Goodbye.\r\n");
    w.close(&mut ctl);
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let kind = args.get(1).map(String::as_str).unwrap_or("");
    let out = args
        .get(2)
        .expect("usage: gen_bench_capture big|many|long OUT [N] [MB]");
    let mut w = W::new(out);
    match kind {
        "big" => {
            let n: u32 = args.get(3).and_then(|x| x.parse().ok()).unwrap_or(5);
            let mb: u64 = args.get(4).and_then(|x| x.parse().ok()).unwrap_or(205);
            for i in 0..n {
                session(
                    &mut w,
                    [203, 0, 113, 10 + i as u8],
                    40000 + 2 * i as u16,
                    50000 + i as u16,
                    mb << 20,
                    false,
                );
            }
        }
        "many" => {
            let n: u32 = args.get(3).and_then(|x| x.parse().ok()).unwrap_or(20_000);
            for i in 0..n {
                let client = [10, 20, (i >> 8) as u8, i as u8];
                session(
                    &mut w,
                    client,
                    30000 + (i % 10000) as u16 * 2,
                    40000 + (i % 20000) as u16,
                    700,
                    true,
                );
            }
        }
        "long" => {
            let n: u32 = args.get(3).and_then(|x| x.parse().ok()).unwrap_or(200_000);
            long_session(&mut w, n);
        }
        _ => panic!("usage: gen_bench_capture big|many|long OUT [N] [MB]"),
    }
    w.out.flush().unwrap();
    println!("{}", w.packets);
}
