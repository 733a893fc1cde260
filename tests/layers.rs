//! The layering of docs/architecture.md, checked on the source text: sources,
//! engine and model never call into a view. Only the binary (`src/main.rs`) wires
//! a source to the TUI; `src/lib.rs` declares the module.

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("src/ is readable") {
        let p = e.expect("a directory entry").path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Lines of code (not comments) in `path` that name the `tui` module.
fn tui_uses(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).expect("a source file");
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim_start().starts_with("//"))
        .filter(|(_, l)| l.contains("tui::") || l.contains("crate::tui") || l.contains("use tui"))
        .map(|(i, l)| format!("{}:{}: {}", path.display(), i + 1, l.trim()))
        .collect()
}

#[test]
fn no_module_below_the_views_uses_the_tui() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "src/ has the modules: {files:?}");
    let allowed = |p: &Path| {
        let rel = p.strip_prefix(&src).expect("under src/");
        rel == Path::new("main.rs")
            || rel == Path::new("lib.rs")
            || rel == Path::new("tui.rs")
            || rel.starts_with("tui")
    };
    let bad: Vec<String> = files
        .iter()
        .filter(|p| !allowed(p))
        .flat_map(|p| tui_uses(p))
        .collect();
    assert!(
        bad.is_empty(),
        "only main.rs wires a source to the TUI:\n{}",
        bad.join("\n")
    );
}
