//! Why the guard ran: the schedule, or the CloudTrail events that may have changed reachability.

use std::collections::BTreeMap;

use serde::Serialize;

/// Why the guard ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TriggerKind {
    /// One or more CloudTrail events (through EventBridge, maybe batched by SQS).
    Event,
    /// The scheduled sweep.
    Schedule,
}

impl TriggerKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TriggerKind::Event => "event",
            TriggerKind::Schedule => "schedule",
        }
    }
}

/// The events that made the guard run: hints only, the guard always re-reads the organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Trigger {
    pub kind: TriggerKind,
    pub events: Vec<ChangeEvent>,
}

impl Trigger {
    pub fn schedule() -> Self {
        Trigger {
            kind: TriggerKind::Schedule,
            events: Vec::new(),
        }
    }

    /// The principal of the most recent event that names one.
    pub fn changed_by(&self) -> Option<&str> {
        self.events
            .iter()
            .filter(|e| e.changed_by.is_some())
            .max_by(|a, b| a.event_time.cmp(&b.event_time))
            .and_then(|e| e.changed_by.as_deref())
    }

    /// The event whose principal [`Trigger::changed_by`] names.
    pub(super) fn latest_attributed(&self) -> Option<&ChangeEvent> {
        self.events
            .iter()
            .filter(|e| e.changed_by.is_some())
            .max_by(|a, b| a.event_time.cmp(&b.event_time))
    }
}

/// One CloudTrail event (API call or service event) that may have changed reachability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangeEvent {
    /// The EventBridge event id.
    pub id: String,
    /// The EventBridge source, e.g. `aws.organizations`.
    pub source: String,
    pub event_name: String,
    pub event_time: String,
    /// The CloudTrail principal: `userIdentity.arn`, else `principalId`, else `invokedBy`.
    pub changed_by: Option<String>,
    /// Scalar request parameters (ids, names), without policy content.
    pub request_parameters: BTreeMap<String, String>,
}
