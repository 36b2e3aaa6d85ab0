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
        if self.path.is_empty() {
            // An option's value, which has no JSON path.
            return write!(f, "{}: {}", self.source_name, self.message);
        }
        write!(
            f,
            "{}: at {}: {}",
            self.source_name, self.path, self.message
        )
    }
}

/// Why a command failed, and so its exit code: input it cannot use (3), or the world around it
/// failing (4): a file, standard output, the async runtime or AWS.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid input: {0}")]
    Input(#[from] InputError),
    #[error(transparent)]
    Io(#[from] IoError),
    #[error(transparent)]
    Aws(#[from] AwsError),
}

impl Error {
    /// 3 for invalid input, 4 for IO and AWS failures (contract §1).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Input(_) => 3,
            Error::Io(_) | Error::Aws(_) => 4,
        }
    }
}

/// A file, standard output or the machine failed (exit 4).
#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// A file named on the command line could not be read or written.
    #[error("{path}: {source}")]
    File {
        path: String,
        source: std::io::Error,
    },
    /// Standard output could not be written (a closed pipe is not an error).
    #[error("writing output: {0}")]
    Stdout(std::io::Error),
    /// The async runtime the AWS clients run on could not start.
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    /// A document could not be written as JSON; `what` says which, as a phrase.
    #[error("{what}: {source}")]
    Serialize {
        what: &'static str,
        source: serde_json::Error,
    },
}

/// AWS could not be read, or what it returned is unusable (exit 4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AwsError {
    /// The organization itself (`DescribeOrganization`, `ListRoots`) could not be read, so
    /// nothing usable was; every other failure is a gap in the snapshot instead.
    #[error("reading the organization failed: {operation}: {message}")]
    Organizations {
        operation: &'static str,
        message: String,
    },
    /// What was read does not validate as a snapshot: a bug in the reader.
    #[error("the snapshot read from AWS is invalid (a bug in cris-guard's reader): {0}")]
    InvalidSnapshot(InputError),
    /// This build was made without the `aws` feature.
    #[error("this build has no AWS support (built without the `aws` feature)")]
    NotBuilt,
}
