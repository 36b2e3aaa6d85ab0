//! Live AWS: the only module (with `lambda`) that knows SDK types. Reads the organization and
//! Bedrock inference profiles into a [`crate::snapshot::Snapshot`], publishes to SNS, keeps
//! alert state in DynamoDB.

pub mod bedrock;
pub mod calls;
pub mod organizations;
pub(crate) mod paging;
pub mod reader;
pub mod sns;
pub mod state;
pub mod time;
