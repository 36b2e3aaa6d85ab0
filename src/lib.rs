//! cris-guard: decides whether Amazon Bedrock cross-Region inference profiles are reachable
//! under an organization's service control policies, and proposes proven fixes.
//!
//! Bird's-eye view: **gather → decide → act**.
//! - gather: a [`snapshot::Snapshot`] from a file, or from live AWS (`aws`, feature `aws`).
//! - decide: [`policy`] parses SCPs, [`evaluation`] evaluates one request against an SCP chain,
//!   [`reachability`] expands inference profiles into requests and evaluates every OU/account
//!   into [`findings`],
//!   [`remediation`] proposes the smallest fix and proves it by re-evaluation.
//! - act: [`report`] renders the [`findings`] contract; the CLI prints. [`alert`] says what
//!   changed since the stored state as SNS messages; `guard` (feature `aws`) reads, decides and
//!   alerts through three ports whose adapters are in `aws`; `lambda` decodes the invocation
//!   and maps errors.
//!
//! **Invariant:** everything outside `aws`, `guard` and `lambda` is synchronous, pure and does
//! no IO: no files, no environment, no clock. Every decision is reproducible from a saved
//! snapshot. `guard` is async but reaches the world only through its ports.
//! **Invariant:** only `aws` (and `lambda`) know SDK types.

pub mod alert;
pub mod arn;
pub mod check;
pub mod error;
pub mod evaluation;
pub mod expectations;
pub mod findings;
pub mod generate;
pub mod guardrail_routing;
pub mod ids;
/// Strict JSON reading (limits, duplicate keys, objects not arrays) for every input file.
pub mod json_input;
/// `lint-iam`: a CRIS caller's identity policies checked for every request a call makes.
pub mod lint_iam;
/// What the guard publishes for a report's changes (proposals and SNS messages); pure.
pub mod notify;
pub mod org;
pub mod policy;
pub mod problems;
pub mod reachability;
pub mod remediation;
pub mod report;
pub mod request;
pub mod snapshot;
pub mod what_if;

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "aws")]
pub mod guard;
#[cfg(feature = "aws")]
pub mod lambda;
