//! Live AWS: the only module (with `lambda` and `src/bin`) that knows SDK types. Reads the
//! organization and Bedrock inference profiles into a [`crate::snapshot::Snapshot`], and
//! implements the guard's three ports: the live organization (`source`), alert state in
//! DynamoDB (`state`), alerts to SNS (`sns`) and the last snapshot in S3 (`stored`).

pub mod bedrock;
pub mod calls;
mod incremental;
pub mod organizations;
pub(crate) mod paging;
pub mod patience;
pub mod reader;
pub mod sns;
pub mod source;
pub mod state;
pub mod stored;
pub mod time;
