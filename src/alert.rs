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
//! - `message`: [`messages`] renders one SNS `Publish` (or several, split to fit 256 KB, never
//!   dropping a change) whose `MessageStructure: json` carries a short `default` text, an
//!   `email` report and the full JSON for `sqs`/`lambda`/`https`.
//! - The renderings of one part, over what its parts share (`context`): `text` (the subject and
//!   `default`), `email` and `document` (the JSON), all worded through `phrase`.

mod context;
mod document;
mod email;
mod message;
mod phrase;
mod state;
mod text;
mod trigger;

#[cfg(test)]
mod fixtures;

pub use document::MAX_LISTED_EVENTS;
pub use message::{MAX_PUBLISH_BYTES, PUBLISH_BUDGET_BYTES, SnsMessage, messages};
pub use state::{ChangeKind, FindingChange, FindingState, StateView, diff, fingerprint};
pub use text::{MAX_DEFAULT_CHARS, MAX_SUBJECT_CHARS};
pub use trigger::{ChangeEvent, Trigger, TriggerKind};
