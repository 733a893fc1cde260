//! Pure FTP protocol knowledge: no I/O, no clock.
//!
//! * [`line`]: splitting a control-channel byte stream into lines, removing Telnet
//!   IAC sequences (and noting IP/Synch), bounding line length.
//! * [`command`]: a command line to verb + argument.
//! * [`reply`]: incremental reply parsing, single and multi-line (RFC 959 §4.2),
//!   tolerant of the malformed variants real servers send.
//! * [`address`]: data-channel addresses of PORT, PASV (227), EPRT, EPSV (229),
//!   LPRT and LPSV (228), parsed and formatted.
//! * [`catalog`]: every command and reply code with a plain explanation (en, zh).
//! * [`explain`]: explanations in context (the 227 address decoded, the 530 after PASS).
//! * [`listing`]: directory listings (Unix `ls -l`, DOS/IIS, MLSD facts, NLST names).

pub mod address;
pub mod catalog;
pub mod command;
pub mod explain;
pub mod line;
pub mod listing;
pub mod reply;
