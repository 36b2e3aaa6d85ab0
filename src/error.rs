//! Typed errors: invalid input (exit 3) and AWS/IO failures (exit 4), each naming what it concerns.

use std::fmt;

/// Input that cannot be used: names the file (or other source), the JSON path and the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct InputError {
    pub source_name: String,
    pub path: String,
    pub message: String,
}

impl InputError {
    pub fn new(
        source: impl Into<String>,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        InputError {
            source_name: source.into(),
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: at {}: {}",
            self.source_name, self.path, self.message
        )
    }
}
