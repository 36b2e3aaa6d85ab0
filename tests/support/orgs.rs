//! Small random organizations for the reachability properties (monotonicity, sharing): a root,
//! up to four OUs, a handful of accounts, and SCPs drawn from pools of realistic statements —
//! Region denies (with and without an admin exemption), profile allow-lists, principal guards,
//! allow-lists — and statements that pin one account: by `aws:PrincipalAccount`, by an account
//! in a resource ARN or in `bedrock:InferenceProfileArn`, by `${aws:PrincipalAccount}`, by the
//! account of `aws:PrincipalARN`, or by an OU path.
//!
//! Statements are templates whose account and OU parameters are indices, resolved when the
//! snapshot is built ([`build`]), so a spec can be changed (a statement added, a policy
//! attached) and rebuilt.

use cris_guard::snapshot::{self, ValidSnapshot};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use serde_json::{Value, json};

pub const ORG: &str = "o-exampleorgid";
pub const ROOT: &str = "r-ab12";
pub const MANAGEMENT: &str = "111111111111";

/// Regions the Region conditions draw from (`unspecified` is the global profile's leg).
pub const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "unspecified",
];

pub fn ou_id(i: usize) -> String {
    format!("ou-ab12-{:08}", 10_000_000 + i)
}

pub fn account_id(k: usize) -> String {
    format!("2000000000{k:02}")
}

/// Where a policy is attached; indices are taken modulo the number of OUs / member accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Root,
    Ou(usize),
    Account(usize),
}

/// A statement template. `account` / `ou` are indices into the member accounts / OUs.
#[derive(Debug, Clone)]
pub enum Stmt {
    /// `Deny` outside `allowed` (`NotAction` of global services, or `*`), optionally with the
    /// Control Tower role exempted.
    RegionDeny {
        allowed: Vec<&'static str>,
        not_action: bool,
        admin_exempt: bool,
    },
    /// `Deny action` on `*`.
    DenyAction {
        action: &'static str,
    },
    /// `Deny bedrock:*` through any profile but `prefix*` (`Null` + `ArnNotLike`).
    DenyOutsideProfiles {
        prefix: &'static str,
    },
    /// The generator's "disable global CRIS".
    DenyGlobal,
    /// `Deny bedrock:Invoke*` unless the principal is `role/<role>`.
    DenyUnlessRole {
        role: &'static str,
    },
    /// `Deny bedrock:InvokeModel*` on the foundation models of one Region.
    DenyModelsIn {
        region: &'static str,
    },
    /// `Deny bedrock:Invoke*` on every inference profile, unless the principal is an admin
    /// role (only the profile leg is denied, and only admin roles escape).
    DenyProfilesUnlessAdmin,
    /// `Deny bedrock:InvokeModel*` on profiles named after a principal tag (a resource the
    /// request cannot fix: indeterminate).
    DenyTaggedProfiles,
    /// Account-pinned: `Deny bedrock:Invoke*` unless `aws:PrincipalAccount` is the account.
    DenyUnlessAccount {
        account: usize,
    },
    /// Account-pinned: `Deny bedrock:Invoke*` when `aws:PrincipalAccount` is the account.
    DenyAccount {
        account: usize,
    },
    /// Account-pinned: `Deny bedrock:InvokeModel*` on the account's inference profiles.
    DenyProfilesOfAccount {
        account: usize,
    },
    /// Account-pinned: a Region deny that exempts calls through the account's profiles.
    DenyUnlessProfileOfAccount {
        account: usize,
        allowed: Vec<&'static str>,
    },
    /// Account-pinned: `Deny bedrock:*` through the account's `us.` profiles.
    DenyThroughProfilesOfAccount {
        account: usize,
    },
    /// A Region deny exempting calls through the caller's own profiles
    /// (`${aws:PrincipalAccount}` in `bedrock:InferenceProfileArn`).
    DenyUnlessOwnProfile {
        allowed: Vec<&'static str>,
    },
    /// `Deny bedrock:InvokeModel` on the caller's own `global.` profiles (variable resource).
    DenyOwnGlobalProfiles,
    /// Account-pinned: `Deny bedrock:Invoke*` unless `aws:ResourceAccount` is the account.
    DenyUnlessResourceAccount {
        account: usize,
    },
    /// Account-pinned: `Deny bedrock:Invoke*` unless the principal is a role of the account.
    DenyUnlessPrincipalInAccount {
        account: usize,
    },
    /// OU-path-pinned: `Deny bedrock:Invoke*` outside the OU's subtree.
    DenyOutsideOu {
        ou: usize,
    },
    AllowAll,
    AllowBedrock,
    /// `Allow *` in the Regions listed.
    AllowInRegions {
        allowed: Vec<&'static str>,
    },
    /// `Allow` every action but Bedrock's.
    AllowAllButBedrock,
    /// `Allow *` for `role/<role>` only.
    AllowForRole {
        role: &'static str,
    },
    /// Account-pinned: `Allow bedrock:*` on the account's profiles and every model.
    AllowProfilesOfAccount {
        account: usize,
    },
    /// Account-pinned: `Allow *` when `aws:PrincipalAccount` is the account.
    AllowForAccount {
        account: usize,
    },
    /// `Allow bedrock:*` on profiles named after a principal tag (a resource the request
    /// cannot fix) and every model.
    AllowTaggedProfiles,
}

/// One SCP: its statements and where it is attached.
#[derive(Debug, Clone)]
pub struct PolicySpec {
    pub statements: Vec<Stmt>,
    pub targets: Vec<Target>,
}

/// An organization. OU `i`'s parent is `ou_parents[i] % (i + 1)` (0: the root, `j`: OU
/// `j - 1`), nested at most 3 deep; member account `k` sits in `account_parents[k] % (ous + 1)`
/// (same encoding). FullAWSAccess is attached to the root, every account, and each OU whose
/// `ou_full_access` entry is true.
#[derive(Debug, Clone)]
pub struct OrgSpec {
    pub ou_parents: Vec<usize>,
    pub ou_full_access: Vec<bool>,
    pub account_parents: Vec<usize>,
    pub policies: Vec<PolicySpec>,
    /// A `global.` profile in us-east-1.
    pub global: bool,
    /// An `eu.` profile in eu-west-1.
    pub eu: bool,
}

impl OrgSpec {
    pub fn ous(&self) -> usize {
        self.ou_parents.len()
    }

    pub fn accounts(&self) -> usize {
        self.account_parents.len()
    }

    /// Each OU's parent, normalized: `None` for the root, `Some(j)` for OU `j`.
    pub fn ou_parent(&self, i: usize) -> Option<usize> {
        let mut depth = vec![0usize; self.ous()];
        let mut parent_of = vec![None; self.ous()];
        for (n, raw) in self.ou_parents.iter().enumerate() {
            let p = raw % (n + 1);
            let (parent, d) = if p == 0 {
                (None, 1)
            } else {
                (Some(p - 1), depth[p - 1] + 1)
            };
            let (parent, d) = if d > 3 { (None, 1) } else { (parent, d) };
            parent_of[n] = parent;
            depth[n] = d;
        }
        parent_of[i]
    }

    /// The container of member account `k`: `None` for the root, `Some(i)` for OU `i`.
    pub fn account_parent(&self, k: usize) -> Option<usize> {
        let p = self.account_parents[k] % (self.ous() + 1);
        p.checked_sub(1)
    }

    /// The id of a target.
    pub fn target_id(&self, target: Target) -> String {
        match target {
            Target::Root => ROOT.to_string(),
            Target::Ou(i) => ou_id(i % self.ous().max(1)),
            Target::Account(k) => account_id(k % self.accounts().max(1)),
        }
    }
}

fn container_id(parent: Option<usize>) -> String {
    parent.map_or_else(|| ROOT.to_string(), ou_id)
}

const GLOBAL_SERVICES: &[&str] = &["iam:*", "organizations:*", "sts:*", "support:*"];
const INVOKE: &[&str] = &[
    "bedrock:InvokeModel",
    "bedrock:InvokeModelWithResponseStream",
];

impl Stmt {
    /// The statement as JSON, with account and OU indices resolved.
    pub fn render(&self, org: &OrgSpec) -> Value {
        let account = |k: &usize| account_id(k % org.accounts().max(1));
        match self {
            Stmt::RegionDeny {
                allowed,
                not_action,
                admin_exempt,
            } => {
                let mut condition = json!({"StringNotEquals": {"aws:RequestedRegion": allowed}});
                if *admin_exempt {
                    condition["ArnNotLike"] = json!({"aws:PrincipalARN":
                        ["arn:aws:iam::*:role/AWSControlTowerExecution"]});
                }
                let mut s = json!({"Effect": "Deny", "Resource": "*",
                    "Condition": condition});
                if *not_action {
                    s["NotAction"] = json!(GLOBAL_SERVICES);
                } else {
                    s["Action"] = json!("*");
                }
                s
            }
            Stmt::DenyAction { action } => {
                json!({"Effect": "Deny", "Action": action, "Resource": "*"})
            }
            Stmt::DenyOutsideProfiles { prefix } => json!({"Effect": "Deny",
                "Action": "bedrock:*", "Resource": "*", "Condition": {
                    "Null": {"bedrock:InferenceProfileArn": "false"},
                    "ArnNotLike": {"bedrock:InferenceProfileArn":
                        format!("arn:aws:bedrock:*:*:inference-profile/{prefix}*")}}}),
            Stmt::DenyGlobal => json!({"Effect": "Deny", "Action": "bedrock:*", "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion": "unspecified"},
                    "ArnLike": {"bedrock:InferenceProfileArn":
                        "arn:aws:bedrock:*:*:inference-profile/global.*"}}}),
            Stmt::DenyUnlessRole { role } => json!({"Effect": "Deny",
                "Action": "bedrock:Invoke*", "Resource": "*", "Condition": {"ArnNotLike":
                    {"aws:PrincipalARN": format!("arn:aws:iam::*:role/{role}")}}}),
            Stmt::DenyModelsIn { region } => json!({"Effect": "Deny", "Action": INVOKE,
                "Resource": format!("arn:aws:bedrock:{region}::foundation-model/*")}),
            Stmt::DenyProfilesUnlessAdmin => json!({"Effect": "Deny",
                "Action": "bedrock:Invoke*",
                "Resource": "arn:aws:bedrock:*:*:inference-profile/*",
                "Condition": {"ArnNotLike": {"aws:PrincipalARN":
                    "arn:aws:iam::*:role/AWSControlTowerExecution"}}}),
            Stmt::DenyTaggedProfiles => json!({"Effect": "Deny", "Action": INVOKE,
                "Resource": "arn:aws:bedrock:*:*:inference-profile/${aws:PrincipalTag/team}*"}),
            Stmt::DenyUnlessAccount { account: k } => json!({"Effect": "Deny",
                "Action": "bedrock:Invoke*", "Resource": "*", "Condition": {"StringNotEquals":
                    {"aws:PrincipalAccount": [account(k)]}}}),
            Stmt::DenyAccount { account: k } => json!({"Effect": "Deny",
                "Action": "bedrock:Invoke*", "Resource": "*", "Condition": {"StringEquals":
                    {"aws:PrincipalAccount": account(k)}}}),
            Stmt::DenyProfilesOfAccount { account: k } => json!({"Effect": "Deny",
                "Action": INVOKE,
                "Resource": format!("arn:aws:bedrock:*:{}:inference-profile/*", account(k))}),
            Stmt::DenyUnlessProfileOfAccount {
                account: k,
                allowed,
            } => json!({"Effect": "Deny", "Action": INVOKE, "Resource": "*", "Condition": {
                "StringNotEquals": {"aws:RequestedRegion": allowed},
                "ArnNotLike": {"bedrock:InferenceProfileArn":
                    format!("arn:aws:bedrock:*:{}:inference-profile/*", account(k))}}}),
            Stmt::DenyThroughProfilesOfAccount { account: k } => json!({"Effect": "Deny",
                "Action": "bedrock:*", "Resource": "*", "Condition": {"ArnLike":
                    {"bedrock:InferenceProfileArn":
                        format!("arn:aws:bedrock:*:{}:inference-profile/us.*", account(k))}}}),
            Stmt::DenyUnlessOwnProfile { allowed } => json!({"Effect": "Deny",
                "Action": INVOKE, "Resource": "*", "Condition": {
                    "StringNotEquals": {"aws:RequestedRegion": allowed},
                    "ArnNotLike": {"bedrock:InferenceProfileArn":
                        "arn:aws:bedrock:*:${aws:PrincipalAccount}:inference-profile/*"}}}),
            Stmt::DenyOwnGlobalProfiles => json!({"Effect": "Deny",
                "Action": "bedrock:InvokeModel",
                "Resource": "arn:aws:bedrock:*:${aws:PrincipalAccount}:inference-profile/global.*"}),
            Stmt::DenyUnlessResourceAccount { account: k } => json!({"Effect": "Deny",
                "Action": "bedrock:Invoke*", "Resource": "*", "Condition": {
                    "StringNotEqualsIfExists": {"aws:ResourceAccount": account(k)}}}),
            Stmt::DenyUnlessPrincipalInAccount { account: k } => json!({"Effect": "Deny",
                "Action": "bedrock:Invoke*", "Resource": "*", "Condition": {"ArnNotLike":
                    {"aws:PrincipalARN": format!("arn:aws:iam::{}:role/*", account(k))}}}),
            Stmt::DenyOutsideOu { ou } => json!({"Effect": "Deny", "Action": "bedrock:Invoke*",
                "Resource": "*", "Condition": {"ForAllValues:StringNotLike":
                    {"aws:PrincipalOrgPaths":
                        format!("{ORG}/{ROOT}/*{}/*", ou_id(ou % org.ous().max(1)))}}}),
            Stmt::AllowAll => json!({"Effect": "Allow", "Action": "*", "Resource": "*"}),
            Stmt::AllowBedrock => {
                json!({"Effect": "Allow", "Action": "bedrock:*", "Resource": "*"})
            }
            Stmt::AllowInRegions { allowed } => json!({"Effect": "Allow", "Action": "*",
                "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": allowed}}}),
            Stmt::AllowAllButBedrock => {
                json!({"Effect": "Allow", "NotAction": "bedrock:*", "Resource": "*"})
            }
            Stmt::AllowForRole { role } => json!({"Effect": "Allow", "Action": "*",
                "Resource": "*", "Condition": {"ArnLike":
                    {"aws:PrincipalARN": format!("arn:aws:iam::*:role/{role}")}}}),
            Stmt::AllowProfilesOfAccount { account: k } => json!({"Effect": "Allow",
                "Action": "bedrock:*", "Resource": [
                    format!("arn:aws:bedrock:*:{}:inference-profile/*", account(k)),
                    "arn:aws:bedrock:*::foundation-model/*"]}),
            Stmt::AllowForAccount { account: k } => json!({"Effect": "Allow", "Action": "*",
                "Resource": "*", "Condition": {"StringEquals":
                    {"aws:PrincipalAccount": account(k)}}}),
            Stmt::AllowTaggedProfiles => json!({"Effect": "Allow", "Action": "bedrock:*",
                "Resource": [
                    "arn:aws:bedrock:*:*:inference-profile/${aws:PrincipalTag/team}*",
                    "arn:aws:bedrock:*::foundation-model/*"]}),
        }
    }
}

fn regions() -> impl Strategy<Value = Vec<&'static str>> {
    subsequence(REGIONS, 1..=4)
}

/// Account indices: mostly the first two accounts (which the sharing generator puts in one
/// OU), sometimes another.
fn account_index() -> impl Strategy<Value = usize> {
    prop_oneof![4 => 0usize..2, 1 => 0usize..8]
}

const ROLES: &[&str] = &[
    "Bedrock-Access-CRI",
    "AWSControlTowerExecution",
    "DataScienceAdmin",
];

/// Deny statements that pin one account (or the caller's own account, or an OU path).
pub fn pinned_deny() -> impl Strategy<Value = Stmt> {
    prop_oneof![
        account_index().prop_map(|account| Stmt::DenyUnlessAccount { account }),
        account_index().prop_map(|account| Stmt::DenyAccount { account }),
        account_index().prop_map(|account| Stmt::DenyProfilesOfAccount { account }),
        (account_index(), regions())
            .prop_map(|(account, allowed)| Stmt::DenyUnlessProfileOfAccount { account, allowed }),
        account_index().prop_map(|account| Stmt::DenyThroughProfilesOfAccount { account }),
        regions().prop_map(|allowed| Stmt::DenyUnlessOwnProfile { allowed }),
        Just(Stmt::DenyOwnGlobalProfiles),
        account_index().prop_map(|account| Stmt::DenyUnlessResourceAccount { account }),
        account_index().prop_map(|account| Stmt::DenyUnlessPrincipalInAccount { account }),
        (0usize..4).prop_map(|ou| Stmt::DenyOutsideOu { ou }),
    ]
}

/// Deny statements that name no account.
pub fn plain_deny() -> impl Strategy<Value = Stmt> {
    prop_oneof![
        3 => (regions(), any::<bool>(), any::<bool>()).prop_map(
            |(allowed, not_action, admin_exempt)| Stmt::RegionDeny {
                allowed,
                not_action,
                admin_exempt
            }
        ),
        1 => select(&["bedrock:InvokeModelWithResponseStream", "bedrock:*", "s3:*"][..])
            .prop_map(|action| Stmt::DenyAction { action }),
        1 => select(&["us.", "global.", "eu."][..])
            .prop_map(|prefix| Stmt::DenyOutsideProfiles { prefix }),
        1 => Just(Stmt::DenyGlobal),
        1 => select(ROLES).prop_map(|role| Stmt::DenyUnlessRole { role }),
        1 => select(&["us-east-2", "us-west-2", "eu-central-1"][..])
            .prop_map(|region| Stmt::DenyModelsIn { region }),
        1 => Just(Stmt::DenyProfilesUnlessAdmin),
        1 => Just(Stmt::DenyTaggedProfiles),
    ]
}

pub fn any_deny() -> impl Strategy<Value = Stmt> {
    prop_oneof![plain_deny(), pinned_deny()]
}

pub fn any_allow() -> impl Strategy<Value = Stmt> {
    prop_oneof![
        1 => Just(Stmt::AllowAll),
        1 => Just(Stmt::AllowBedrock),
        1 => regions().prop_map(|allowed| Stmt::AllowInRegions { allowed }),
        1 => Just(Stmt::AllowAllButBedrock),
        2 => select(ROLES).prop_map(|role| Stmt::AllowForRole { role }),
        1 => account_index().prop_map(|account| Stmt::AllowProfilesOfAccount { account }),
        1 => account_index().prop_map(|account| Stmt::AllowForAccount { account }),
        2 => Just(Stmt::AllowTaggedProfiles),
    ]
}

pub fn any_statement() -> impl Strategy<Value = Stmt> {
    prop_oneof![3 => any_deny(), 1 => any_allow()]
}

pub fn target(account_level: bool) -> BoxedStrategy<Target> {
    if account_level {
        prop_oneof![
            1 => Just(Target::Root),
            3 => (0usize..4).prop_map(Target::Ou),
            2 => (0usize..8).prop_map(Target::Account),
        ]
        .boxed()
    } else {
        prop_oneof![1 => Just(Target::Root), 3 => (0usize..4).prop_map(Target::Ou)].boxed()
    }
}

/// A random organization. With `account_level`, policies may be attached to accounts too;
/// without, every account carries only FullAWSAccess, so accounts of one OU share a chain.
pub fn org(statements: BoxedStrategy<Stmt>, account_level: bool) -> impl Strategy<Value = OrgSpec> {
    (1usize..=4, 2usize..=6).prop_flat_map(move |(ous, accounts)| {
        (
            prop::collection::vec(0usize..=4, ous),
            prop::collection::vec(prop::bool::weighted(0.6), ous),
            prop::collection::vec(0usize..=4, accounts),
            prop::collection::vec(
                (
                    prop::collection::vec(statements.clone(), 1..=2),
                    prop::collection::vec(target(account_level), 1..=2),
                )
                    .prop_map(|(statements, targets)| PolicySpec {
                        statements,
                        targets,
                    }),
                1..=5,
            ),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(
                |(ou_parents, ou_full_access, account_parents, policies, global, eu)| OrgSpec {
                    ou_parents,
                    ou_full_access,
                    account_parents,
                    policies,
                    global,
                    eu,
                },
            )
    })
}

fn profile(id: &str, source: &str, destinations: &[&str], model: &str) -> Value {
    let models: Vec<Value> = destinations
        .iter()
        .map(|r| json!({"modelArn": format!("arn:aws:bedrock:{r}::foundation-model/{model}")}))
        .collect();
    json!({"inferenceProfileId": id, "type": "SYSTEM_DEFINED", "status": "ACTIVE",
        "inferenceProfileArn":
            format!("arn:aws:bedrock:{source}:{MANAGEMENT}:inference-profile/{id}"),
        "models": models})
}

/// The snapshot of a spec, as JSON.
pub fn snapshot_json(org: &OrgSpec) -> Value {
    let ous: Vec<Value> = (0..org.ous())
        .map(|i| {
            json!({"id": ou_id(i), "name": format!("OU{i}"),
                "parentId": container_id(org.ou_parent(i))})
        })
        .collect();
    let mut accounts =
        vec![json!({"id": MANAGEMENT, "name": "management", "parentId": ROOT, "status": "ACTIVE"})];
    for k in 0..org.accounts() {
        accounts.push(json!({"id": account_id(k), "name": format!("acct{k}"),
            "parentId": container_id(org.account_parent(k)), "status": "ACTIVE"}));
    }
    let mut full_targets = vec![ROOT.to_string()];
    full_targets.extend((0..org.ous()).filter(|i| org.ou_full_access[*i]).map(ou_id));
    full_targets.push(MANAGEMENT.to_string());
    full_targets.extend((0..org.accounts()).map(account_id));
    let mut policies = vec![json!({"id": "p-FullAWSAccess", "name": "FullAWSAccess",
        "awsManaged": true,
        "content": {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
        "targets": full_targets})];
    for (n, policy) in org.policies.iter().enumerate() {
        let mut targets: Vec<String> = policy.targets.iter().map(|t| org.target_id(*t)).collect();
        targets.sort();
        targets.dedup();
        // Sids name the statements in blockers; unique within the policy, as AWS requires.
        let statements: Vec<Value> = policy
            .statements
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut statement = json!({"Sid": format!("S{n}x{i}")});
                if let (Some(out), Value::Object(fields)) =
                    (statement.as_object_mut(), s.render(org))
                {
                    out.extend(fields);
                }
                statement
            })
            .collect();
        policies.push(
            json!({"id": format!("p-generated{n:03}"), "name": format!("scp-{n}"),
            "content": {"Version": "2012-10-17", "Statement": statements},
            "targets": targets}),
        );
    }
    let claude = "anthropic.claude-3-5-sonnet-20241022-v2:0";
    let us = |source: &str| {
        profile(
            &format!("us.{claude}"),
            source,
            &["us-east-1", "us-east-2", "us-west-2"],
            claude,
        )
    };
    let mut east = vec![us("us-east-1")];
    if org.global {
        east.push(profile(
            "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
            "us-east-1",
            &[""],
            "anthropic.claude-sonnet-4-5-20250929-v1:0",
        ));
    }
    let mut profiles = serde_json::Map::new();
    profiles.insert("us-east-1".into(), json!(east));
    profiles.insert("us-west-2".into(), json!([us("us-west-2")]));
    if org.eu {
        profiles.insert(
            "eu-west-1".into(),
            json!([profile(
                "eu.amazon.nova-pro-v1:0",
                "eu-west-1",
                &["eu-west-1", "eu-central-1", "eu-west-3"],
                "amazon.nova-pro-v1:0"
            )]),
        );
    }
    json!({"formatVersion": 1, "capturedAt": "2026-11-29T00:00:00Z",
        "organization": {"id": ORG, "managementAccountId": MANAGEMENT},
        "roots": [{"id": ROOT, "name": "Root"}], "organizationalUnits": ous,
        "accounts": accounts, "policies": policies, "inferenceProfiles": profiles})
}

/// The validated snapshot of a spec.
pub fn build(org: &OrgSpec) -> Result<ValidSnapshot, TestCaseError> {
    let value = snapshot_json(org);
    let bytes = serde_json::to_vec(&value).map_err(|e| TestCaseError::fail(e.to_string()))?;
    snapshot::load("generated", &bytes)
        .map_err(|e| TestCaseError::fail(format!("generated snapshot is invalid: {e}\n{value}")))
}
