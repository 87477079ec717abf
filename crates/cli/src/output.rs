//! Where output goes: stdout for results, stderr for everything else,
//! colour only on a terminal.

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
