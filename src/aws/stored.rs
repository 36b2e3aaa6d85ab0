//! The guard's stored snapshot in S3 ([`SnapshotStore`]), and the expectations object next to
//! it: one bucket, one key each. Encryption and access are the bucket's (template.yaml).

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_smithy_types::error::display::DisplayErrorContext;

use crate::guard::{SnapshotStore, StoreError};
use crate::snapshot::Snapshot;

/// The key of the stored snapshot (the role may read and write only under `snapshot/`).
pub const SNAPSHOT_KEY: &str = "snapshot/latest.json";

/// Objects of the guard's bucket.
#[derive(Debug, Clone)]
pub struct S3Objects {
    client: Client,
    bucket: String,
}

impl S3Objects {
    pub fn new(client: Client, bucket: impl Into<String>) -> Self {
        S3Objects {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The object's bytes; `None` when there is no such key.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let fail = |what: String| StoreError {
            message: format!("S3 GetObject s3://{}/{key}: {what}", self.bucket),
        };
        let output = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(output) => output,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(None);
            }
            Err(err) => return Err(fail(DisplayErrorContext(err).to_string())),
        };
        let body = output
            .body
            .collect()
            .await
            .map_err(|err| fail(err.to_string()))?;
        Ok(Some(body.into_bytes().to_vec()))
    }
}

impl SnapshotStore for S3Objects {
    async fn load(&self) -> Result<Option<Snapshot>, StoreError> {
        let Some(bytes) = self.get(SNAPSHOT_KEY).await? else {
            return Ok(None);
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|err| StoreError {
                message: format!("the stored snapshot is not a snapshot: {err}"),
            })
    }

    async fn save(&self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let body = serde_json::to_vec(snapshot).map_err(|err| StoreError {
            message: format!("serializing the snapshot: {err}"),
        })?;
        let bytes = body.len();
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(SNAPSHOT_KEY)
            .content_type("application/json")
            // Its capture time without reading the body (people, `aws s3api head-object`).
            .metadata("captured-at", &snapshot.captured_at)
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|err| StoreError {
                message: format!(
                    "S3 PutObject s3://{}/{SNAPSHOT_KEY}: {}",
                    self.bucket,
                    DisplayErrorContext(err)
                ),
            })?;
        tracing::info!(bytes, captured_at = %snapshot.captured_at, "stored the snapshot");
        Ok(())
    }
}
