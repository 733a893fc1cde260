//! TCP figures of a data connection (see `tcp::analysis`), as the views and JSON get them.

use serde::Serialize;

/// A distribution summarised: smallest, typical (median, log-bucket precision) and
/// largest value.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Spread {
    pub min: Option<u64>,
    pub median: Option<u64>,
    pub max: Option<u64>,
}

/// Episodes of a state (zero window, idle sender): how many, total and longest time.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Episodes {
    pub episodes: u64,
    pub total_s: f64,
    pub longest_s: f64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Throughput {
    /// Payload bits per second from the first to the last new data segment.
    pub average: Option<f64>,
    /// The busiest 100 ms, in bits per second.
    pub peak_100ms: Option<f64>,
}

/// Payload bytes of the sending side per bucket of `bucket_ms`, from its first data
/// segment (the buckets widen so that there are at most 256).
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ThroughputSeries {
    pub bucket_ms: u64,
    pub bytes: Vec<u64>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct WindowScale {
    pub client: Option<u8>,
    pub server: Option<u8>,
}

/// When each side sent FIN or RST, seconds after the connection's first packet.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TcpEnd {
    pub fin_client_s: Option<f64>,
    pub fin_server_s: Option<f64>,
    pub rst_client_s: Option<f64>,
    pub rst_server_s: Option<f64>,
}

/// What a TCP expert reads off a data connection. Counts cover both directions (as
/// tshark's `tcp.analysis.*` flags); in-flight, window and throughput figures are the
/// sending side's (the one that sent more payload) and its receiver's.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct TcpFigures {
    /// SYN to the ACK of the SYN-ACK: one round trip, wherever the capture was taken.
    pub rtt_ms: Option<f64>,
    /// Smoothed time from a data segment to the ACK covering it, as seen at the
    /// capture point (the part of the path between the capture and the receiver).
    pub ack_rtt_ms: Option<f64>,
    pub ack_rtt_min_ms: Option<f64>,
    /// The smaller MSS offered in the handshake.
    pub mss: Option<u16>,
    /// Window scale shift each side offered; scaling is in force only when both did
    /// (`window_scaling`; false when one side's offer is missing: a middlebox may
    /// have stripped it).
    pub window_scale: WindowScale,
    pub window_scaling: Option<bool>,
    pub sack: Option<bool>,
    pub timestamps: Option<bool>,
    /// "client" or "server": who sent the data analysed (the one that sent more).
    pub sender: Option<&'static str>,
    /// Payload bytes the sender sent (its sequence span; each byte once).
    pub payload_bytes: u64,
    /// Payload bytes the sender sent that the capture first saw only as a
    /// retransmission (a hole in the sequence): lost between the sender and the
    /// capture point.
    pub lost_before_capture_bytes: u64,
    pub data_segments: u64,
    /// Payload bytes of the sender the receiver acknowledged.
    pub acked_bytes: u64,
    /// The sender's largest segment, and how many times a segment that large (at
    /// least 576 bytes) was sent again.
    pub max_segment: u32,
    pub full_size_retransmissions: u64,
    /// The sender's largest packet on the wire, present only when the capture
    /// holds segments larger than the receiver's MSS allows: segmentation offload
    /// (TSO/GSO) on the sender or receive offload (GRO/LRO) on the receiver, the
    /// capture taken on that endpoint. Full size, for the retransmissions above,
    /// means this size then; a captured segment counts as several packets.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wire_segment: Option<u32>,
    /// The sender's last retransmission carrying payload, when it came after its
    /// last new byte: the data kept moving until then (a tail loss recovered,
    /// seen from the sender's side). Not in JSON.
    #[serde(skip)]
    pub resent_until: Option<crate::time::Ts>,
    /// The sender's bytes never reached the capture at all (no data segment
    /// seen), yet a later packet of it without payload (an ACK) carried a
    /// sequence number past them: when that was first seen. Not in JSON.
    #[serde(skip)]
    pub unseen_proved_at: Option<crate::time::Ts>,
    /// The receiver sent something after the sender's first retransmission (it was
    /// alive, the path to it carried small segments); null without retransmissions.
    pub receiver_heard_after_retransmission: Option<bool>,
    /// Segments sent again (tshark's `tcp.analysis.retransmission`, fast ones included).
    pub retransmissions: u64,
    pub fast_retransmissions: u64,
    /// Segments sent again although already acknowledged.
    pub spurious_retransmissions: u64,
    pub retransmitted_bytes: u64,
    pub out_of_order: u64,
    pub duplicate_acks: u64,
    pub keepalives: u64,
    pub zero_window: Episodes,
    pub bytes_in_flight: Spread,
    /// The receiver's advertised window, scaled when scaling is in force.
    pub receive_window: Spread,
    /// Stretches where the sender had everything acknowledged and sent nothing.
    pub idle: Episodes,
    /// The sender's own sending time: from its first data byte to its last
    /// (seconds). Shorter than the data connection's span when the receiver spoke
    /// first and waited (a TLS ClientHello the server was slow to answer).
    pub sending_s: Option<f64>,
    pub throughput_bps: Throughput,
    pub series: ThroughputSeries,
    pub end: TcpEnd,
    /// ICMP "fragmentation needed" (ICMPv6 "packet too big") messages in the capture
    /// addressed to the sender about this connection's segments; only when there
    /// were some.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub too_big: Option<TooBig>,
}

/// Path-MTU messages to a sender: how many, the smallest next-hop MTU they name
/// (0: none named), and who sent the first, when and in which frame.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TooBig {
    pub messages: u64,
    pub mtu: u32,
    pub from: std::net::IpAddr,
    #[serde(rename = "time", serialize_with = "super::ser_ts")]
    pub ts: crate::time::Ts,
    #[serde(serialize_with = "super::ser_frame")]
    pub frame: u64,
}

impl TcpFigures {
    /// The engine fills the figures with the connection's initiator as the client;
    /// swap the sides when the server initiated (active mode, or roles guessed
    /// wrongly without a handshake).
    pub fn swap_sides(&mut self) {
        std::mem::swap(&mut self.window_scale.client, &mut self.window_scale.server);
        std::mem::swap(&mut self.end.fin_client_s, &mut self.end.fin_server_s);
        std::mem::swap(&mut self.end.rst_client_s, &mut self.end.rst_server_s);
        self.sender = match self.sender {
            Some("client") => Some("server"),
            Some("server") => Some("client"),
            other => other,
        };
    }
}
