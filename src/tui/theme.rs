//! Styles. Only the 16 basic colours are used (readable on any terminal that has
//! colours); with `NO_COLOR` set (and not empty, see no-color.org) no colour is
//! used at all and meaning is carried by text and by bold/reverse/underline.

use ratatui::style::{Color, Modifier, Style};

use super::lines::Role;
use crate::model::{Outcome, Severity};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Default for Theme {
    fn default() -> Self {
        Theme::from_env()
    }
}

impl Theme {
    /// Colours unless `NO_COLOR` is set to a non-empty value.
    pub fn from_env() -> Theme {
        Theme {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    pub fn no_color() -> Theme {
        Theme { color: false }
    }

    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn bold(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    pub fn title(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn dim(self) -> Style {
        if self.color {
            Style::new().fg(Color::DarkGray)
        } else {
            Style::new()
        }
    }

    pub fn header(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// The cursor row of a pane that does not have the focus.
    pub fn selected_unfocused(self) -> Style {
        Style::new().add_modifier(Modifier::UNDERLINED)
    }

    pub fn tab_active(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    pub fn border(self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.dim()
        }
    }

    pub fn search_match(self) -> Style {
        if self.color {
            Style::new().fg(Color::Black).bg(Color::Yellow)
        } else {
            Style::new().add_modifier(Modifier::UNDERLINED | Modifier::BOLD)
        }
    }

    pub fn error_text(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    pub fn severity(self, s: Option<Severity>) -> Style {
        match s {
            Some(Severity::Error) => self.fg(Color::Red).add_modifier(Modifier::BOLD),
            Some(Severity::Warning) => self.fg(Color::Yellow).add_modifier(Modifier::BOLD),
            Some(Severity::Info) => self.fg(Color::Blue),
            None => self.fg(Color::Green),
        }
    }

    /// Reply codes by class: 1xx cyan, 2xx green, 3xx blue, 4xx yellow, 5xx red.
    pub fn code(self, code: u16) -> Style {
        let c = match code / 100 {
            1 => Color::Cyan,
            2 => Color::Green,
            3 => Color::Blue,
            4 => Color::Yellow,
            5 => Color::Red,
            _ => Color::Magenta,
        };
        let s = self.fg(c);
        if code >= 400 {
            s.add_modifier(Modifier::BOLD)
        } else {
            s
        }
    }

    pub fn outcome(self, o: Outcome) -> Style {
        match o {
            Outcome::Completed | Outcome::Open | Outcome::CompletedPerReplies => {
                self.fg(Color::Green)
            }
            Outcome::Rejected
            | Outcome::Unused
            | Outcome::CommandFailed
            | Outcome::NotInCapture => self.fg(Color::Yellow),
            Outcome::FailedPerReplies
            | Outcome::Refused
            | Outcome::Unanswered
            | Outcome::NotAttempted
            | Outcome::Reset
            | Outcome::Aborted
            | Outcome::Failed => self.fg(Color::Red).add_modifier(Modifier::BOLD),
        }
    }

    pub fn role(self, r: Role) -> Style {
        match r {
            Role::Plain => Style::new(),
            Role::Time | Role::Dim => self.dim(),
            Role::Client => self.fg(Color::Magenta).add_modifier(Modifier::BOLD),
            Role::Server => self.fg(Color::Cyan),
            Role::Code(c) => self.code(c),
            Role::Explain => {
                if self.color {
                    Style::new().fg(Color::Gray).add_modifier(Modifier::ITALIC)
                } else {
                    Style::new().add_modifier(Modifier::ITALIC)
                }
            }
            Role::Note => self.fg(Color::Yellow),
            Role::Data(o) => self.outcome(o),
            Role::Severity(s) => self.severity(Some(s)),
            Role::FindingId => self.bold(),
            Role::Evidence => self.dim(),
            Role::Remedy => self.fg(Color::Green).add_modifier(Modifier::BOLD),
        }
    }
}
