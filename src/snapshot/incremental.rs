//! Incremental updates, the pure half: which part of the organization one EventBridge event
//! (a CloudTrail record in `detail`) names ([`plan`]), and how the re-read state of that part
//! replaces it in the last snapshot ([`apply`]). The AWS edge does the reading in between.
//!
//! An update never copies values out of the event: it only learns *what* to re-read, and the
//! re-read answer is the current state of that part. So a duplicated, late or out-of-order
//! event re-reads the same current state and the result is what a full read would give, as
//! long as every change is announced by some event (the scheduled full read covers the rest).

use std::collections::BTreeSet;
use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde_json::Value;

use super::{Account, InferenceProfile, OrganizationalUnit, PolicyContent, PolicyRecord, Snapshot};

/// A stored snapshot older than this (since its last full read, `capturedAt`) is read afresh:
/// a safety net for events that never arrived. One day matches the default sweep schedule.
pub const MAX_AGE: SignedDuration = SignedDuration::from_hours(24);

/// The part of the organization one event names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reread {
    /// An SCP: its content and name (`DescribePolicy`) and/or its targets (`ListTargetsForPolicy`).
    Policy {
        id: String,
        content: bool,
        targets: bool,
    },
    /// The SCPs attached directly to one root, OU or account (`ListPoliciesForTarget`: one call,
    /// at most 5 SCPs per target), rather than the policy's targets, which can run to hundreds
    /// of pages for a policy such as `FullAWSAccess`.
    Attachments { target: String },
    /// An account: its parent (`ListParents`), and with `details` its name and state
    /// (`DescribeAccount`) and the SCPs attached to it (a new account gets `FullAWSAccess`).
    Account { id: String, details: bool },
    /// An OU: its name (`DescribeOrganizationalUnit`), parent (`ListParents`) and the SCPs
    /// attached to it (a new OU gets `FullAWSAccess`).
    OrganizationalUnit { id: String },
    /// The inference profiles of one source Region.
    Profiles { region: String },
}

impl fmt::Display for Reread {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reread::Policy {
                id,
                content,
                targets,
            } => {
                let parts: Vec<&str> = [(*content, "content"), (*targets, "targets")]
                    .iter()
                    .filter(|(wanted, _)| *wanted)
                    .map(|(_, part)| *part)
                    .collect();
                write!(f, "SCP {id} ({})", parts.join(", "))
            }
            Reread::Attachments { target } => write!(f, "the SCPs attached to {target}"),
            Reread::Account { id, details: true } => {
                write!(f, "account {id} (details, parent, SCPs)")
            }
            Reread::Account { id, details: false } => write!(f, "account {id} (parent)"),
            Reread::OrganizationalUnit { id } => write!(f, "OU {id} (name, parent, SCPs)"),
            Reread::Profiles { region } => write!(f, "the inference profiles of {region}"),
        }
    }
}

/// What to do about one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The event changed nothing the snapshot holds (a failed call, a Region not read).
    Nothing { why: String },
    /// Re-read one part.
    Reread(Reread),
    /// Read everything again.
    FullRead { why: String },
}

/// The current state of a part, as re-read.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// The policy no longer exists, or is not a service control policy.
    PolicyGone {
        id: String,
    },
    /// `DescribePolicy`: what the policy is now (its targets are kept, or set by
    /// [`Fact::PolicyTargets`]).
    PolicyContent {
        id: String,
        name: String,
        aws_managed: bool,
        content: String,
    },
    PolicyTargets {
        id: String,
        targets: Vec<String>,
    },
    /// The ids of the SCPs attached directly to `target` (none when it no longer exists).
    Attachments {
        target: String,
        policies: Vec<String>,
    },
    AccountGone {
        id: String,
    },
    /// `name` and `status` are `None` when only the parent was re-read (they are kept).
    Account {
        id: String,
        parent_id: String,
        name: Option<String>,
        status: Option<String>,
    },
    OrganizationalUnitGone {
        id: String,
    },
    OrganizationalUnit {
        id: String,
        name: String,
        parent_id: String,
    },
    Profiles {
        region: String,
        profiles: Vec<InferenceProfile>,
    },
}

/// Decides what `event` (an EventBridge event as the Lambda receives it) makes stale in `old`,
/// at time `now` (RFC 3339). Anything not mapped precisely is a full read, with the reason.
pub fn plan(old: &Snapshot, event: &Value, now: &str) -> Plan {
    if let Some(why) = unusable(old, now) {
        return Plan::FullRead { why };
    }
    let detail_type = text(event, &["detail-type"]).unwrap_or_default();
    if detail_type == "Scheduled Event" {
        return full("the scheduled sweep reads everything");
    }
    let detail = event.get("detail").unwrap_or(&Value::Null);
    let event_name = text(detail, &["eventName"]).unwrap_or_default();
    if let Some(code) = text(detail, &["errorCode"]) {
        return Plan::Nothing {
            why: format!("{event_name} failed ({code}): nothing changed"),
        };
    }
    match text(detail, &["eventSource"]).unwrap_or_default() {
        "organizations.amazonaws.com" => organizations(old, detail, event_name),
        "bedrock.amazonaws.com" => bedrock(old, detail, event_name),
        "" if detail_type.is_empty() => {
            full("the event has no `detail-type`: not one EventBridge event")
        }
        "" => full(format!(
            "the event ({detail_type}) is not a CloudTrail record"
        )),
        source => full(format!(
            "{source} event {event_name} is not mapped to a partial read"
        )),
    }
}

fn full(why: impl Into<String>) -> Plan {
    Plan::FullRead { why: why.into() }
}

/// Why `old` cannot be updated in place: parts missing, or too old.
fn unusable(old: &Snapshot, now: &str) -> Option<String> {
    if !old.gaps.is_empty() {
        return Some(format!(
            "the old snapshot has {} gap(s) an update cannot fill",
            old.gaps.len()
        ));
    }
    let captured: Timestamp = match old.captured_at.parse() {
        Ok(time) => time,
        Err(_) => {
            return Some(format!(
                "the old snapshot's capturedAt `{}` is not an RFC 3339 time",
                old.captured_at
            ));
        }
    };
    let now: Timestamp = now.parse().ok()?;
    let age = now.duration_since(captured);
    (age > MAX_AGE).then(|| {
        format!(
            "the old snapshot was fully read {} h ago (more than {} h)",
            age.as_hours(),
            MAX_AGE.as_hours()
        )
    })
}

fn organizations(old: &Snapshot, detail: &Value, event_name: &str) -> Plan {
    let request = |key: &str| text(detail, &["requestParameters", key]);
    let known_policy = |id: &str| old.policies.iter().any(|p| p.id == id);
    let known_account = |id: &str| old.accounts.iter().any(|a| a.id == id);
    let policy = |id: Option<&str>, content: bool, targets: bool| match id {
        Some(id) => Plan::Reread(Reread::Policy {
            id: id.to_string(),
            // A policy the snapshot lacks is read whole.
            content: content || !known_policy(id),
            targets: targets || !known_policy(id),
        }),
        None => full(format!("{event_name} names no policy id")),
    };
    let account = |id: Option<&str>, details: bool| match id {
        Some(id) => Plan::Reread(Reread::Account {
            id: id.to_string(),
            details: details || !known_account(id),
        }),
        None => full(format!("{event_name} names no account id")),
    };
    let ou = |id: Option<&str>| match id {
        Some(id) => Plan::Reread(Reread::OrganizationalUnit { id: id.to_string() }),
        None => full(format!("{event_name} names no OU id")),
    };
    match event_name {
        "AttachPolicy" | "DetachPolicy" => match (request("policyId"), request("targetId")) {
            (Some(id), Some(target)) if known_policy(id) => Plan::Reread(Reread::Attachments {
                target: target.to_string(),
            }),
            (id, _) => policy(id, true, true),
        },
        "UpdatePolicy" => policy(request("policyId"), true, false),
        "DeletePolicy" => policy(request("policyId"), true, false),
        "CreatePolicy" => policy(
            text(
                detail,
                &["responseElements", "policy", "policySummary", "id"],
            ),
            true,
            true,
        ),
        "MoveAccount" => account(request("accountId"), false),
        "CloseAccount" => account(request("accountId"), true),
        "CreateAccountResult" | "CloseAccountResult" => {
            let status = if event_name == "CreateAccountResult" {
                "createAccountStatus"
            } else {
                "closeAccountStatus"
            };
            let state = text(detail, &["serviceEventDetails", status, "state"]);
            if state.is_some_and(|s| s != "SUCCEEDED") {
                return Plan::Nothing {
                    why: format!("{event_name} did not succeed: nothing changed"),
                };
            }
            account(
                text(detail, &["serviceEventDetails", status, "accountId"]),
                true,
            )
        }
        "CreateOrganizationalUnit" => ou(text(
            detail,
            &["responseElements", "organizationalUnit", "id"],
        )),
        "DeleteOrganizationalUnit" | "UpdateOrganizationalUnit" => {
            ou(request("organizationalUnitId"))
        }
        _ => full(format!(
            "AWS Organizations event {event_name} is not mapped to a partial read"
        )),
    }
}

fn bedrock(old: &Snapshot, detail: &Value, event_name: &str) -> Plan {
    if !matches!(
        event_name,
        "CreateInferenceProfile" | "DeleteInferenceProfile"
    ) {
        return full(format!(
            "Amazon Bedrock event {event_name} is not mapped to a partial read"
        ));
    }
    match text(detail, &["awsRegion"]) {
        Some(region) if old.inference_profiles.contains_key(region) => {
            Plan::Reread(Reread::Profiles {
                region: region.to_string(),
            })
        }
        Some(region) => Plan::Nothing {
            why: format!("{event_name} in {region}, a Region the snapshot does not read"),
        },
        None => full(format!("{event_name} names no Region")),
    }
}

fn text<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
}

/// `old` with the re-read parts replaced, in the order a full read writes them (sorted by id,
/// targets sorted). `Err` says why the facts cannot be applied (e.g. a target the snapshot
/// does not know, an OU that still has children): the caller then reads everything.
pub fn apply(old: &Snapshot, facts: Vec<Fact>) -> Result<Snapshot, String> {
    let mut new = old.clone();
    for fact in facts {
        apply_one(&mut new, fact)?;
    }
    new.organizational_units.sort_by(|a, b| a.id.cmp(&b.id));
    new.accounts.sort_by(|a, b| a.id.cmp(&b.id));
    new.policies.sort_by(|a, b| a.id.cmp(&b.id));
    super::validate("updated snapshot", new.clone())
        .map_err(|err| format!("the updated snapshot does not hold together: {err}"))?;
    Ok(new)
}

fn apply_one(snapshot: &mut Snapshot, fact: Fact) -> Result<(), String> {
    match fact {
        Fact::PolicyGone { id } => snapshot.policies.retain(|p| p.id != id),
        Fact::PolicyContent {
            id,
            name,
            aws_managed,
            content,
        } => match snapshot.policies.iter_mut().find(|p| p.id == id) {
            Some(record) => {
                record.name = name;
                record.aws_managed = aws_managed;
                record.content = PolicyContent::Text(content);
            }
            None => snapshot.policies.push(PolicyRecord {
                id,
                name,
                aws_managed,
                policy_type: "SERVICE_CONTROL_POLICY".into(),
                content: PolicyContent::Text(content),
                targets: Vec::new(),
            }),
        },
        Fact::PolicyTargets { id, targets } => {
            let record = snapshot
                .policies
                .iter_mut()
                .find(|p| p.id == id)
                .ok_or_else(|| format!("the targets of {id} were read but not the policy"))?;
            record.targets = targets
                .into_iter()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
        }
        Fact::Attachments { target, policies } => {
            if let Some(unknown) = policies
                .iter()
                .find(|id| !snapshot.policies.iter().any(|p| &p.id == *id))
            {
                return Err(format!(
                    "{target} has SCP {unknown} attached, which the snapshot lacks"
                ));
            }
            for record in &mut snapshot.policies {
                let attached = policies.contains(&record.id);
                match record.targets.binary_search(&target) {
                    Ok(at) if !attached => {
                        record.targets.remove(at);
                    }
                    Err(at) if attached => record.targets.insert(at, target.clone()),
                    _ => {}
                }
            }
        }
        Fact::AccountGone { id } => {
            snapshot.accounts.retain(|a| a.id != id);
            detach_everything_from(snapshot, &id);
        }
        Fact::Account {
            id,
            parent_id,
            name,
            status,
        } => match snapshot.accounts.iter_mut().find(|a| a.id == id) {
            Some(account) => {
                account.parent_id = parent_id;
                if let Some(name) = name {
                    account.name = name;
                }
                if let Some(status) = status {
                    account.status = status;
                }
            }
            None => snapshot.accounts.push(Account {
                name: name.unwrap_or_else(|| id.clone()),
                status: status
                    .ok_or_else(|| format!("the state of new account {id} is unknown"))?,
                id,
                parent_id,
            }),
        },
        Fact::OrganizationalUnitGone { id } => {
            snapshot.organizational_units.retain(|ou| ou.id != id);
            detach_everything_from(snapshot, &id);
        }
        Fact::OrganizationalUnit {
            id,
            name,
            parent_id,
        } => match snapshot
            .organizational_units
            .iter_mut()
            .find(|ou| ou.id == id)
        {
            Some(ou) => {
                ou.name = name;
                ou.parent_id = parent_id;
            }
            None => snapshot.organizational_units.push(OrganizationalUnit {
                id,
                name,
                parent_id,
            }),
        },
        Fact::Profiles { region, profiles } => {
            snapshot.inference_profiles.insert(region, profiles);
        }
    }
    Ok(())
}

/// A deleted OU or account loses its attachments with it.
fn detach_everything_from(snapshot: &mut Snapshot, id: &str) {
    for policy in &mut snapshot.policies {
        policy.targets.retain(|t| t != id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn old() -> Snapshot {
        serde_json::from_value(json!({
            "formatVersion": 1,
            "capturedAt": "2026-11-29T00:00:00Z",
            "organization": { "id": "o-exampleorgid", "managementAccountId": "111111111111" },
            "roots": [ { "id": "r-ab12", "name": "Root" } ],
            "organizationalUnits": [ { "id": "ou-ab12-11111111", "name": "Sandbox", "parentId": "r-ab12" } ],
            "accounts": [ { "id": "222222222222", "name": "dev", "parentId": "ou-ab12-11111111", "status": "ACTIVE" } ],
            "policies": [ { "id": "p-abcd1234", "name": "deny", "type": "SERVICE_CONTROL_POLICY",
                "content": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}",
                "targets": ["ou-ab12-11111111"] } ],
            "inferenceProfiles": { "us-east-1": [] }
        }))
        .unwrap()
    }

    fn call(name: &str, request: Value) -> Value {
        json!({ "detail-type": "AWS API Call via CloudTrail", "source": "aws.organizations",
                "detail": { "eventSource": "organizations.amazonaws.com", "eventName": name,
                            "requestParameters": request } })
    }

    const NOW: &str = "2026-11-29T01:00:00Z";

    /// Each mapped event and what it re-reads; the rest is a full read or nothing.
    #[test]
    fn events_map_to_the_part_they_name() {
        let policy = |id: &str, content, targets| {
            Plan::Reread(Reread::Policy {
                id: id.into(),
                content,
                targets,
            })
        };
        let cases = [
            (
                call(
                    "AttachPolicy",
                    json!({"policyId": "p-abcd1234", "targetId": "r-ab12"}),
                ),
                Plan::Reread(Reread::Attachments {
                    target: "r-ab12".into(),
                }),
            ),
            (
                call("DetachPolicy", json!({"policyId": "p-unknown1"})),
                policy("p-unknown1", true, true),
            ),
            (
                call("UpdatePolicy", json!({"policyId": "p-abcd1234"})),
                policy("p-abcd1234", true, false),
            ),
            (
                call("MoveAccount", json!({"accountId": "222222222222"})),
                Plan::Reread(Reread::Account {
                    id: "222222222222".into(),
                    details: false,
                }),
            ),
            (
                call(
                    "DeleteOrganizationalUnit",
                    json!({"organizationalUnitId": "ou-ab12-11111111"}),
                ),
                Plan::Reread(Reread::OrganizationalUnit {
                    id: "ou-ab12-11111111".into(),
                }),
            ),
        ];
        for (event, expected) in cases {
            assert_eq!(plan(&old(), &event, NOW), expected, "{event}");
        }
        for name in ["EnablePolicyType", "InviteAccountToOrganization"] {
            let got = plan(&old(), &call(name, json!({})), NOW);
            assert!(matches!(got, Plan::FullRead { .. }), "{name}: {got:?}");
        }
        let mut failed = call("AttachPolicy", json!({"policyId": "p-abcd1234"}));
        failed["detail"]["errorCode"] = json!("PolicyTypeNotEnabledException");
        assert!(matches!(plan(&old(), &failed, NOW), Plan::Nothing { .. }));
    }

    #[test]
    fn a_stale_or_gappy_snapshot_is_read_again() {
        let event = call("AttachPolicy", json!({"policyId": "p-abcd1234"}));
        let got = plan(&old(), &event, "2026-11-30T00:00:01Z");
        assert!(
            matches!(got, Plan::FullRead { ref why } if why.contains("24 h")),
            "{got:?}"
        );
        let mut gappy = old();
        gappy.gaps.push(super::super::Gap {
            scope: "organization".into(),
            reason: "test".into(),
        });
        assert!(matches!(plan(&gappy, &event, NOW), Plan::FullRead { .. }));
    }

    #[test]
    fn a_deleted_ou_is_detached_and_a_target_nobody_knows_is_refused() {
        let mut moved = old();
        moved.accounts[0].parent_id = "r-ab12".into();
        let gone = apply(
            &moved,
            vec![Fact::OrganizationalUnitGone {
                id: "ou-ab12-11111111".into(),
            }],
        )
        .unwrap();
        assert!(gone.organizational_units.is_empty());
        assert!(gone.policies[0].targets.is_empty());
        // The OU still holds the account in `old`: the update refuses, the caller reads it all.
        assert!(
            apply(
                &old(),
                vec![Fact::OrganizationalUnitGone {
                    id: "ou-ab12-11111111".into()
                }]
            )
            .is_err()
        );
        let unknown_target = Fact::PolicyTargets {
            id: "p-abcd1234".into(),
            targets: vec!["ou-ab12-99999999".into()],
        };
        assert!(apply(&old(), vec![unknown_target]).is_err());
    }
}
