//! Views of the model for files and pipes: a text report and newline-delimited JSON.

pub mod eve;
pub mod json;
pub mod ladder;
pub mod ocsf;
pub mod parallel;
pub mod stream;
pub mod text;
pub mod zeek;

use crate::ftp::catalog::Lang;

/// Output format of the commands that print sessions or findings
/// (`--format text|json` in `report`, `diagnose`, `live` and `proxy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Text for people, through [`crate::text::SafeWriter`].
    #[default]
    Text,
    /// Newline-delimited JSON, through [`json`].
    Json,
}

/// What the views show.
#[derive(Clone, Copy, Debug)]
pub struct ViewOptions {
    pub lang: Lang,
    /// Show the explanation under each reply.
    pub explain: bool,
}

impl Default for ViewOptions {
    fn default() -> Self {
        ViewOptions {
            lang: Lang::En,
            explain: true,
        }
    }
}

pub mod diagnose_view;
pub mod html;
