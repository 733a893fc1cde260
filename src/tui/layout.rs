//! Where each region goes. One pure function of the terminal size and the app
//! state, used by the renderer to draw, and by `update` to know page heights and
//! to map mouse clicks to rows, so the two cannot disagree.

use ratatui::layout::Rect;

use super::app::{App, View};

/// Below this size the UI only says that the terminal is too small.
pub const MIN_WIDTH: u16 = 40;
pub const MIN_HEIGHT: u16 = 10;

/// Rows of the session summary above the panes of the session view.
pub const SESSION_HEADER: u16 = 2;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Regions {
    pub too_small: bool,
    pub title: Rect,
    pub tabs: Rect,
    pub body: Rect,
    pub status: Rect,
    /// While a file is read: the progress gauge, one row above the body.
    pub gauge: Option<Rect>,
    /// List views: the column header and the rows under it.
    pub list_header: Rect,
    pub list_rows: Rect,
    /// Session view: summary, findings pane (outer, bordered; absent when the
    /// session has no finding) and transcript pane (outer, bordered).
    pub header: Rect,
    pub findings: Option<Rect>,
    pub transcript: Rect,
}

/// The inside of a bordered block.
pub fn inner(r: Rect) -> Rect {
    Rect {
        x: r.x.saturating_add(1),
        y: r.y.saturating_add(1),
        width: r.width.saturating_sub(2),
        height: r.height.saturating_sub(2),
    }
}

/// Width of the text inside a pane of the session view, for a terminal width.
pub fn pane_width(terminal_width: u16) -> usize {
    usize::from(terminal_width.saturating_sub(2)).max(1)
}

pub fn regions(app: &App, area: Rect) -> Regions {
    let mut r = Regions {
        too_small: area.width < MIN_WIDTH || area.height < MIN_HEIGHT,
        ..Regions::default()
    };
    if r.too_small {
        return r;
    }
    let row = |y: u16, h: u16| Rect::new(area.x, y, area.width, h);
    r.title = row(area.y, 1);
    r.tabs = row(area.y + 1, 1);
    r.status = row(area.y + area.height - 1, 1);
    r.body = row(area.y + 2, area.height - 3);
    if app.loading.is_some() {
        r.gauge = Some(row(area.y + 2, 1));
        r.body = row(area.y + 3, area.height - 4);
    }
    let body = r.body;
    r.list_header = Rect::new(body.x, body.y, body.width, 1);
    r.list_rows = Rect::new(body.x, body.y + 1, body.width, body.height - 1);
    if app.view == View::Session {
        r.header = Rect::new(body.x, body.y, body.width, SESSION_HEADER);
        let rest = Rect::new(
            body.x,
            body.y + SESSION_HEADER,
            body.width,
            body.height - SESSION_HEADER,
        );
        let finding_rows = app.detail.as_ref().map_or(0, |d| d.findings.len());
        if finding_rows > 0 {
            // The findings pane takes what it needs, up to 40% of the panes or a
            // third of the screen, whichever is more (at least 4 rows), and
            // always leaves the transcript 5 rows.
            let cap = (rest.height * 2 / 5).max(area.height.div_ceil(3)).max(4);
            let want = u16::try_from(finding_rows)
                .unwrap_or(u16::MAX)
                .saturating_add(2);
            let h = want.min(cap).min(rest.height.saturating_sub(5)).max(3);
            r.findings = Some(Rect::new(rest.x, rest.y, rest.width, h));
            r.transcript = Rect::new(rest.x, rest.y + h, rest.width, rest.height - h);
        } else {
            r.transcript = rest;
        }
    }
    r
}

/// The help overlay: centred, at most 100 columns wide.
pub fn help_rect(area: Rect) -> Rect {
    let w = area.width.saturating_sub(4).min(100);
    let h = area.height.saturating_sub(2);
    Rect::new(area.x + (area.width - w) / 2, area.y + 1, w, h)
}

/// The tab labels of the second row, with the view each one shows.
pub fn tabs(app: &App) -> Vec<(View, String)> {
    use crate::i18n::Ui;
    let u = |k: Ui| k.text(app.lang);
    let mut t = vec![
        (
            View::Sessions,
            format!(" 1 {} ({}) ", u(Ui::TabSessions), app.session_rows.len()),
        ),
        (
            View::Data,
            format!(" 2 {} ({}) ", u(Ui::TabData), app.data_rows.len()),
        ),
        (
            View::Findings,
            format!(" 3 {} ({}) ", u(Ui::TabFindings), app.finding_count_shown()),
        ),
    ];
    if let Some(d) = &app.detail {
        t.push((View::Session, format!(" {} {} ", u(Ui::Session), d.id)));
    }
    t
}

/// Which tab a column of the tab row falls on (tabs are separated by one space).
pub fn tab_at(app: &App, x: u16) -> Option<View> {
    let mut start = 0u16;
    for (v, label) in tabs(app) {
        let w = u16::try_from(super::lines::str_width(&label)).unwrap_or(u16::MAX);
        if x >= start && x < start.saturating_add(w) {
            return Some(v);
        }
        start = start.saturating_add(w + 1);
    }
    None
}
