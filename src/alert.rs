//! Alerts: what changed between the stored state and a fresh report, and the SNS message
//! (contract §5) that says so.
//!
//! Pure: the caller hands in the previous state ([`StateView`]), the report, the trigger and the
//! proposals; this module returns values. Storing state and publishing happen in `guard` through
//! its ports, implemented in `aws`.
//!
//! - `state`: [`fingerprint`] reduces a finding to what an alert is about (status, blockers,
//!   conditions), so a re-worded explanation or a reordered blocker list is not a change;
//!   [`diff`] compares fingerprints per finding key and classifies each change.
//! - `trigger`: why the guard ran ([`Trigger`]: the schedule, or CloudTrail events).
//! - `problems`: the changes grouped by the report's problems (§3.1) ([`changed_problems`]); a
//!   report without problems falls back to one entry per changed finding.
//! - `message`: [`messages`] renders one SNS `Publish` (or several, split to fit 256 KB, never
//!   dropping a change) for an [`Alert`], whose `MessageStructure: json` carries a short
//!   `default` text, an `email` report, the chat custom notification for `https` and the full
//!   JSON for `sqs`/`lambda` (contract §5).
//! - The renderings of one part, over what its parts share (`context`): `text` (the subject and
//!   `default`), `email`, `notification` (Amazon Q Developer in chat applications) and
//!   `document` (the JSON), all worded through `phrase`.

mod context;
mod document;
mod email;
mod message;
mod notification;
mod phrase;
mod problems;
mod split;
mod state;
mod text;
mod trigger;

#[cfg(test)]
pub(crate) mod fixtures;

/// SNS's limit for one `Publish` (message, subject and attributes together).
pub const MAX_PUBLISH_BYTES: usize = 256 * 1024;

/// What a message may use of [`MAX_PUBLISH_BYTES`]: the rest is headroom for the request
/// encoding SNS does not count exactly as we do.
pub const PUBLISH_BUDGET_BYTES: usize = MAX_PUBLISH_BYTES - 6 * 1024;

pub use context::Alert;
pub use document::MAX_LISTED_EVENTS;
pub use email::EMAIL_COLUMNS;
pub use message::{SnsMessage, messages};
pub use notification::{
    MAX_DESCRIPTION_CHARS, MAX_KEYWORD_CHARS, MAX_NEXT_STEP_CHARS, MAX_TITLE_CHARS,
};
pub use problems::{ChangedProblem, changed_problems};
pub use state::{ChangeKind, FindingChange, FindingState, StateView, diff, fingerprint};
pub use text::{MAX_DEFAULT_CHARS, MAX_SUBJECT_CHARS};
pub use trigger::{ChangeEvent, Trigger, TriggerKind};
