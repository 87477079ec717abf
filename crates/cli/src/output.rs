//! Where output goes: stdout for results, stderr for everything else,
//! colour only on a terminal; and [`safe`], which makes text from servers,
//! files and the command line harmless on a terminal.

use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::{IsTerminal, Write};

use crate::cli::ColorChoice;

/// The program's two output streams and what they are connected to.
#[derive(Debug)]
pub struct Out {
    /// Colour escapes are allowed on stdout.
    pub color: bool,
    /// stdin is a terminal (a person could answer a question).
    pub stdin_terminal: bool,
    /// stderr is a terminal (prompts and progress bars are visible).
    pub stderr_terminal: bool,
}

impl Out {
    /// Looks at the real streams and `NO_COLOR`.
    pub fn detect(choice: ColorChoice) -> Out {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => !no_color && std::io::stdout().is_terminal(),
        };
        Out {
            color,
            stdin_terminal: std::io::stdin().is_terminal(),
            stderr_terminal: std::io::stderr().is_terminal(),
        }
    }

    /// Writes one line to stdout; a closed pipe is not an error worth a panic.
    pub fn line(&mut self, text: &str) {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{text}");
    }

    /// Writes one line to stderr.
    pub fn warn(&mut self, text: &str) {
        let mut stderr = std::io::stderr().lock();
        let _ = writeln!(stderr, "{text}");
    }

    /// Wraps `text` in an ANSI colour when colour is on.
    pub fn paint(&self, text: &str, colour: Colour) -> String {
        if !self.color {
            return text.to_owned();
        }
        let code = match colour {
            Colour::Red => "31",
            Colour::Green => "32",
            Colour::Yellow => "33",
        };
        format!("\x1b[{code}m{text}\x1b[0m")
    }
}

/// The few colours the output uses.
#[derive(Clone, Copy, Debug)]
pub enum Colour {
    /// Failures, expired certificates.
    Red,
    /// Success.
    Green,
    /// Offline agents, certificates close to expiry.
    Yellow,
}

/// Makes untrusted text safe to print on a terminal: every character that a
/// terminal would act on instead of showing is replaced by a visible escape.
///
/// - C0 controls and DEL: `\n`, `\r`, `\t`, otherwise `\xHH` (`\x1b` for
///   ESC), so a host name cannot start a new table row, move the cursor or
///   begin an escape sequence;
/// - C1 controls (U+0080 to U+009F, which some terminals read as escape
///   sequence introducers), the line and paragraph separators (U+2028,
///   U+2029) and the bidirectional overrides and isolates (U+202A to
///   U+202E, U+2066 to U+2069, which reorder what is shown): `\u{XXXX}`.
///
/// Every other character, backslash included, is kept, so ordinary text is
/// returned unchanged (and unallocated). Text meant for people (tables,
/// previews, result lines, warnings, error messages, canonical filters) goes
/// through here; JSON output does not need it (serde escapes controls).
pub fn safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut escaped = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c if c.is_ascii_control() => {
                let _ = write!(escaped, "\\x{:02x}", u32::from(c));
            }
            c if needs_escape(c) => {
                let _ = write!(escaped, "\\u{{{:04x}}}", u32::from(c));
            }
            c => escaped.push(c),
        }
    }
    Cow::Owned(escaped)
}

/// Whether [`safe`] replaces `c`.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// [`safe`] for text of several lines made by this program (a rendered
/// diagnostic, a hint): each line is made safe, the line breaks are kept.
pub fn safe_lines(text: &str) -> String {
    text.split('\n').map(safe).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &str) {
        assert_eq!(safe(input), expect, "{input:?}");
    }

    #[test]
    fn untrusted_text_cannot_drive_the_terminal() {
        check("PC1", "PC1");
        check("", "");
        check("h\u{f6}st-\u{65e5}\u{672c} \u{1f600}", "h\u{f6}st-\u{65e5}\u{672c} \u{1f600}");
        check("back\\slash \"quoted\"", "back\\slash \"quoted\"");
        check("EVIL\r\nFAKE-LINE", "EVIL\\r\\nFAKE-LINE");
        check("a\tb", "a\\tb");
        check("\u{1b}[2J\u{1b}[31mRED", "\\x1b[2J\\x1b[31mRED");
        check("\u{1b}]0;PWNED\u{7}", "\\x1b]0;PWNED\\x07");
        check("nul\u{0}byte", "nul\\x00byte");
        check("\u{8}\u{8}backspace", "\\x08\\x08backspace");
        check("del\u{7f}", "del\\x7f");
        check("c1 csi \u{9b}31m", "c1 csi \\u{009b}31m");
        check("\u{85}next line", "\\u{0085}next line");
        check("\u{202e}fdp.exe", "\\u{202e}fdp.exe");
        check("\u{2066}isolate\u{2069}", "\\u{2066}isolate\\u{2069}");
        check("line\u{2028}sep", "line\\u{2028}sep");
        check("\u{200b}zero width stays", "\u{200b}zero width stays");
    }

    #[test]
    fn ordinary_text_is_not_copied() {
        assert!(matches!(safe("app-lon-001"), Cow::Borrowed(_)));
    }

    #[test]
    fn lines_keep_their_breaks() {
        assert_eq!(safe_lines("a\u{1b}\nb\r"), "a\\x1b\nb\\r");
    }
}
