//! Decoding the Lambda payload: an SQS batch whose bodies are EventBridge events, or one
//! EventBridge event (the scheduled sweep, or a CloudTrail API call / service event).
//!
//! These are AWS's payloads, so decoding is tolerant: unknown fields are ignored and fields AWS
//! omits default (service events have no `requestID`, their `userIdentity` has no `type`;
//! see domain.md §7.4 for why `aws_lambda_events`' CloudTrail types are not used).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::alert::{ChangeEvent, Trigger, TriggerKind};

/// Request parameters whose values are never copied into alerts (policy documents, free text).
const OMITTED_PARAMETERS: &[&str] = &["content", "description", "tags"];
/// At most this many request parameters per event, each at most this many characters.
const MAX_PARAMETERS: usize = 12;
const MAX_PARAMETER_CHARS: usize = 256;

/// What the payload asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// `None` when nothing in the payload calls for an evaluation (only failed calls or
    /// undecodable records).
    pub trigger: Option<Trigger>,
    /// The EventBridge events behind `trigger.events`, as received (the stored snapshot is
    /// updated from them).
    pub raw_events: Vec<Value>,
    /// Whether the payload was an SQS batch (the response then reports batch item failures).
    pub from_sqs: bool,
    /// SQS records, or 1 for a direct invocation.
    pub records: usize,
    /// CloudTrail records of failed calls (`errorCode` present): nothing changed.
    pub failed_calls: usize,
    /// Records that are not EventBridge events (logged with their message id and skipped: they
    /// would never decode on a retry either).
    pub undecodable: usize,
}

/// The EventBridge envelope.
#[derive(Debug, Deserialize)]
struct EventBridgeEvent {
    #[serde(default)]
    id: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    source: String,
    #[serde(default)]
    time: String,
    #[serde(default)]
    detail: Value,
}

/// The CloudTrail record in `detail` (API call or service event).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct CloudTrailDetail {
    event_source: String,
    event_name: String,
    event_time: String,
    user_identity: Option<UserIdentity>,
    error_code: Option<String>,
    request_parameters: Option<Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct UserIdentity {
    arn: Option<String>,
    principal_id: Option<String>,
    invoked_by: Option<String>,
}

/// One SQS record; only what the guard needs.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SqsRecord {
    #[serde(default)]
    message_id: String,
    body: String,
}

/// What one EventBridge event means to the guard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hint {
    Schedule,
    Change(ChangeEvent),
    /// A CloudTrail record of a call that failed: it changed nothing.
    FailedCall {
        event_name: String,
    },
}

/// Decodes an invocation payload. Never fails: what cannot be decoded is counted and logged.
pub fn decode(payload: &Value) -> Decoded {
    let mut decoded = Decoded {
        trigger: None,
        raw_events: Vec::new(),
        from_sqs: false,
        records: 0,
        failed_calls: 0,
        undecodable: 0,
    };
    let mut hints = Vec::new();
    if let Some(records) = payload.get("Records").and_then(Value::as_array) {
        decoded.from_sqs = true;
        decoded.records = records.len();
        for record in records {
            let record = match SqsRecord::deserialize(record) {
                Ok(record) => record,
                Err(err) => {
                    tracing::warn!(error = %err, "skipping an SQS record without a body");
                    decoded.undecodable += 1;
                    continue;
                }
            };
            match serde_json::from_str::<Value>(&record.body)
                .map_err(|e| e.to_string())
                .and_then(|v| Ok((hint(&v)?, v)))
            {
                Ok(h) => hints.push(h),
                Err(err) => {
                    tracing::warn!(
                        message_id = %record.message_id,
                        error = %err,
                        "skipping an SQS record that is not an EventBridge event"
                    );
                    decoded.undecodable += 1;
                }
            }
        }
    } else {
        decoded.records = 1;
        match hint(payload) {
            Ok(h) => hints.push((h, payload.clone())),
            Err(err) => {
                tracing::warn!(error = %err, "skipping a payload that is not an EventBridge event");
                decoded.undecodable += 1;
            }
        }
    }
    let mut schedule = false;
    let mut events: Vec<ChangeEvent> = Vec::new();
    for (h, raw) in hints {
        match h {
            Hint::Schedule => schedule = true,
            Hint::Change(event) => {
                // EventBridge and SQS deliver at least once: the same event id may repeat.
                if event.id.is_empty() || !events.iter().any(|e| e.id == event.id) {
                    events.push(event);
                    decoded.raw_events.push(raw);
                }
            }
            Hint::FailedCall { event_name } => {
                tracing::info!(event_name = %event_name, "ignoring the CloudTrail record of a failed call");
                decoded.failed_calls += 1;
            }
        }
    }
    decoded.trigger = if !events.is_empty() {
        Some(Trigger {
            kind: TriggerKind::Event,
            events,
        })
    } else if schedule {
        Some(Trigger::schedule())
    } else {
        None
    };
    decoded
}

/// Reads one EventBridge event.
pub fn hint(event: &Value) -> Result<Hint, String> {
    let event = EventBridgeEvent::deserialize(event).map_err(|e| e.to_string())?;
    if event.source == "aws.events" && event.detail_type == "Scheduled Event" {
        return Ok(Hint::Schedule);
    }
    let cloudtrail = event.detail_type.ends_with("via CloudTrail");
    if !cloudtrail {
        // Another kind of event routed to the guard: still a reason to look again.
        return Ok(Hint::Change(ChangeEvent {
            id: event.id,
            source: event.source,
            event_name: event.detail_type,
            event_time: event.time,
            changed_by: None,
            request_parameters: BTreeMap::new(),
        }));
    }
    let detail = CloudTrailDetail::deserialize(&event.detail)
        .map_err(|e| format!("detail is not a CloudTrail record: {e}"))?;
    if detail.error_code.is_some() {
        return Ok(Hint::FailedCall {
            event_name: detail.event_name,
        });
    }
    tracing::debug!(
        source = %event.source,
        event_source = %detail.event_source,
        event_name = %detail.event_name,
        "decoded a CloudTrail event"
    );
    let changed_by = detail.user_identity.and_then(|u| {
        u.arn
            .filter(|s| !s.is_empty())
            .or(u.principal_id.filter(|s| !s.is_empty()))
            .or(u.invoked_by.filter(|s| !s.is_empty()))
    });
    Ok(Hint::Change(ChangeEvent {
        id: event.id,
        source: event.source,
        event_name: if detail.event_name.is_empty() {
            event.detail_type
        } else {
            detail.event_name
        },
        event_time: if detail.event_time.is_empty() {
            event.time
        } else {
            detail.event_time
        },
        changed_by,
        request_parameters: parameters(detail.request_parameters.as_ref()),
    }))
}

/// Scalar request parameters, without policy content or free text, bounded in size.
fn parameters(value: Option<&Value>) -> BTreeMap<String, String> {
    let Some(Value::Object(map)) = value else {
        return BTreeMap::new();
    };
    map.iter()
        .filter(|(k, _)| !OMITTED_PARAMETERS.contains(&k.as_str()))
        .filter_map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Bool(b) => b.to_string(),
                Value::Number(n) => n.to_string(),
                _ => return None,
            };
            Some((k.clone(), text.chars().take(MAX_PARAMETER_CHARS).collect()))
        })
        .take(MAX_PARAMETERS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn service_event_without_type_or_request_id() {
        let event = json!({
            "version": "0", "id": "e1", "detail-type": "AWS Service Event via CloudTrail",
            "source": "aws.organizations", "time": "2026-11-30T09:39:52Z",
            "detail": { "userIdentity": { "accountId": "111111111111", "invokedBy": "AWS Internal" },
                        "eventTime": "2026-11-30T09:39:52Z", "eventSource": "organizations.amazonaws.com",
                        "eventName": "CreateAccountResult", "requestParameters": null }
        });
        let Ok(Hint::Change(e)) = hint(&event) else {
            panic!("not a change: {:?}", hint(&event));
        };
        assert_eq!(e.event_name, "CreateAccountResult");
        assert_eq!(e.changed_by.as_deref(), Some("AWS Internal"));
    }

    #[test]
    fn failed_calls_and_garbage_do_not_trigger() {
        let failed = json!({
            "id": "e2", "detail-type": "AWS API Call via CloudTrail", "source": "aws.organizations",
            "detail": { "eventName": "AttachPolicy", "errorCode": "PolicyTypeNotEnabledException" }
        });
        let batch = json!({ "Records": [
            { "messageId": "m1", "body": failed.to_string() },
            { "messageId": "m2", "body": "not json" },
        ]});
        let d = decode(&batch);
        assert!(d.trigger.is_none());
        assert_eq!((d.records, d.failed_calls, d.undecodable), (2, 1, 1));
        assert!(d.from_sqs);
    }

    #[test]
    fn policy_content_is_not_copied() {
        let p = parameters(Some(
            &json!({ "policyId": "p-1", "content": "{...}", "name": "n", "tags": [] }),
        ));
        assert_eq!(p.len(), 2);
        assert!(!p.contains_key("content"));
    }
}
