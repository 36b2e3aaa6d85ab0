//! The Lambda edge of the guard: decode the invocation payload (an SQS batch of EventBridge
//! events, or one event) into a [`Trigger`](crate::alert::Trigger), run the [`Guard`] on it, and
//! map what it returns to the runtime: the summary as the function's response, a
//! [`GuardError`] as a `Retryable.*` or `NonRetryable.*` error type. The configuration comes
//! from environment variables ([`Config`]); the adapters are built in `src/bin`.

pub mod config;
pub mod event;

use serde::Serialize;
use serde_json::Value;

use crate::alert::TriggerKind;
use crate::guard::{
    AlertSink, Guard, GuardError, RunSummary, SnapshotSource, SnapshotStore, StateStore,
};

pub use config::{Config, ConfigError};

impl From<GuardError> for lambda_runtime::Diagnostic {
    fn from(error: GuardError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: format!(
                "{}.{}",
                if error.retryable() {
                    "Retryable"
                } else {
                    "NonRetryable"
                },
                error.code()
            ),
            error_message: error.to_string(),
        }
    }
}

/// What one invocation did (logged, and returned for direct invocations): what the payload
/// carried and, when it called for one, what the guard's run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InvocationSummary {
    /// `None` when nothing in the payload called for an evaluation.
    pub trigger: Option<TriggerKind>,
    pub records: usize,
    pub events: usize,
    pub failed_calls: usize,
    pub undecodable: usize,
    pub evaluated: bool,
    #[serde(flatten)]
    pub run: RunSummary,
    #[serde(skip)]
    pub from_sqs: bool,
}

impl InvocationSummary {
    /// The function's response: for an SQS batch exactly the partial-batch response with no
    /// failures (undecodable records are skipped, never retried; any real failure is an
    /// `Err` that retries the batch); otherwise the summary.
    pub fn response(&self) -> Value {
        if self.from_sqs {
            serde_json::json!({ "batchItemFailures": [] })
        } else {
            serde_json::to_value(self).unwrap_or(Value::Null)
        }
    }
}

/// Handles one invocation payload (SQS batch or EventBridge event).
pub async fn handle<S: SnapshotSource, T: StateStore, A: AlertSink, K: SnapshotStore>(
    guard: &Guard<S, T, A, K>,
    payload: &Value,
) -> Result<InvocationSummary, GuardError> {
    let decoded = event::decode(payload);
    let mut summary = InvocationSummary {
        trigger: decoded.trigger.as_ref().map(|t| t.kind),
        records: decoded.records,
        events: decoded.trigger.as_ref().map_or(0, |t| t.events.len()),
        failed_calls: decoded.failed_calls,
        undecodable: decoded.undecodable,
        from_sqs: decoded.from_sqs,
        ..InvocationSummary::default()
    };
    let Some(trigger) = decoded.trigger else {
        tracing::info!(
            records = summary.records,
            failed_calls = summary.failed_calls,
            undecodable = summary.undecodable,
            "nothing to evaluate"
        );
        return Ok(summary);
    };
    summary.run = guard.run_events(&trigger, &decoded.raw_events).await?;
    summary.evaluated = true;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_direct_invocation_answers_with_every_count_in_one_object() {
        let summary = InvocationSummary {
            trigger: Some(TriggerKind::Event),
            records: 1,
            events: 1,
            evaluated: true,
            run: RunSummary {
                findings: 12,
                changes: 2,
                claimed: 2,
                messages_published: 1,
                ..RunSummary::default()
            },
            ..InvocationSummary::default()
        };
        assert_eq!(
            summary.response(),
            serde_json::json!({
                "trigger": "event", "records": 1, "events": 1, "failedCalls": 0,
                "undecodable": 0, "evaluated": true, "findings": 12, "changes": 2,
                "claimed": 2, "lost": 0, "messagesPublished": 1, "uncommitted": 0,
            })
        );
        let batch = InvocationSummary {
            from_sqs: true,
            ..summary
        };
        assert_eq!(
            batch.response(),
            serde_json::json!({ "batchItemFailures": [] })
        );
    }
}
