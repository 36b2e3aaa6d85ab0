//! Renderings of a [`crate::findings::Report`]: text, Markdown, HTML and SARIF, plus the text
//! of one `check` result.

pub mod check;
pub mod html;
pub mod layout;
pub mod markdown;
pub mod sarif;
pub mod text;

// The contract types lived here before `findings`; these paths stay until every branch imports
// `crate::findings`.
pub use crate::findings::{
    Blocker, BlockerKind, Condition, Finding, Proposal, ProposalKind, Report, Status, Summary,
    TargetKind, Unresolved, Verification,
};
