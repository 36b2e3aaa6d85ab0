//! Synthetic organizations for benchmarks and property tests: a deterministic snapshot of N
//! accounts under an OU tree, with the SCPs real Control Tower organizations carry and every
//! system inference profile of the routing tables (domain.md §3.2).
//!
//! Pure and reproducible: the same [`GenerateOptions`] always give the same [`Snapshot`]. The
//! randomness is a splitmix64 stream seeded by [`GenerateOptions::seed`].

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::snapshot::{
    Account, InferenceProfile, InferenceProfileModel, Organization, OrganizationalUnit,
    PolicyContent, PolicyRecord, Root, Snapshot,
};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Member accounts, the management account included (at least 1; at most 1,000,000).
    pub accounts: usize,
    /// Seeds the pseudo-random stream; the same options give the same snapshot.
    pub seed: u64,
    /// Deepest OU nesting below the root (1 to 5, AWS's limit; clamped).
    pub max_depth: usize,
    /// Accounts per OU on average (about one OU per this many accounts; at least 1).
    pub accounts_per_ou: usize,
}

impl Default for GenerateOptions {
    fn default() -> GenerateOptions {
        GenerateOptions {
            accounts: 1_000,
            seed: 1,
            max_depth: 5,
            accounts_per_ou: 20,
        }
    }
}

/// The Region deny AWS Control Tower deploys (GRREGIONDENY, domain.md §4.1): its `NotAction`
/// list, verbatim and in order.
pub const GRREGIONDENY_NOT_ACTIONS: &[&str] = &[
    "a4b:*",
    "access-analyzer:*",
    "account:*",
    "acm:*",
    "activate:*",
    "artifact:*",
    "aws-marketplace-management:*",
    "aws-marketplace:*",
    "aws-portal:*",
    "billing:*",
    "billingconductor:*",
    "budgets:*",
    "ce:*",
    "chatbot:*",
    "chime:*",
    "cloudfront:*",
    "cloudtrail:LookupEvents",
    "compute-optimizer:*",
    "config:*",
    "consoleapp:*",
    "consolidatedbilling:*",
    "cur:*",
    "datapipeline:GetAccountLimits",
    "devicefarm:*",
    "directconnect:*",
    "ec2:DescribeRegions",
    "ec2:DescribeTransitGateways",
    "ec2:DescribeVpnGateways",
    "ecr-public:*",
    "fms:*",
    "freetier:*",
    "globalaccelerator:*",
    "health:*",
    "iam:*",
    "importexport:*",
    "invoicing:*",
    "iq:*",
    "kms:*",
    "license-manager:ListReceivedLicenses",
    "lightsail:Get*",
    "mobileanalytics:*",
    "networkmanager:*",
    "notifications-contacts:*",
    "notifications:*",
    "organizations:*",
    "payments:*",
    "pricing:*",
    "quicksight:DescribeAccountSubscription",
    "resource-explorer-2:*",
    "route53-recovery-cluster:*",
    "route53-recovery-control-config:*",
    "route53-recovery-readiness:*",
    "route53:*",
    "route53domains:*",
    "s3:CreateMultiRegionAccessPoint",
    "s3:DeleteMultiRegionAccessPoint",
    "s3:DescribeMultiRegionAccessPointOperation",
    "s3:GetAccountPublicAccessBlock",
    "s3:GetBucketLocation",
    "s3:GetBucketPolicyStatus",
    "s3:GetBucketPublicAccessBlock",
    "s3:GetMultiRegionAccessPoint",
    "s3:GetMultiRegionAccessPointPolicy",
    "s3:GetMultiRegionAccessPointPolicyStatus",
    "s3:GetStorageLensConfiguration",
    "s3:GetStorageLensDashboard",
    "s3:ListAllMyBuckets",
    "s3:ListMultiRegionAccessPoints",
    "s3:ListStorageLensConfigurations",
    "s3:PutAccountPublicAccessBlock",
    "s3:PutMultiRegionAccessPointPolicy",
    "savingsplans:*",
    "shield:*",
    "sso:*",
    "sts:*",
    "support:*",
    "supportapp:*",
    "supportplans:*",
    "sustainability:*",
    "tag:GetResources",
    "tax:*",
    "trustedadvisor:*",
    "vendor-insights:ListEntitledSecurityProfiles",
    "waf-regional:*",
    "waf:*",
    "wafv2:*",
];

const FULL_AWS_ACCESS_ID: &str = "p-FullAWSAccess";
const CAPTURED_AT: &str = "2026-11-29T00:00:00Z";

/// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, and good enough for test data.
#[derive(Debug, Clone)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        // Multiply-shift: unbiased enough for test data, and no division.
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'t, T>(&mut self, items: &'t [T]) -> Option<&'t T> {
        items.get(self.below(items.len()))
    }

    /// `len` characters from `alphabet`.
    fn text(&mut self, alphabet: &[u8], len: usize) -> String {
        (0..len)
            .map(|_| {
                char::from(
                    alphabet
                        .get(self.below(alphabet.len()))
                        .copied()
                        .unwrap_or(b'a'),
                )
            })
            .collect()
    }
}

const LOWER_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
const LOWER: &[u8] = b"abcdefghijklmnopqrstuvwxyz";
const MIXED_ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// The Regions Control Tower may govern, home Region first.
const GOVERNABLE_REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "us-east-2",
    "ap-northeast-1",
    "ap-southeast-2",
    "eu-west-3",
];

/// Generates a synthetic organization (see the module docs). The result passes
/// [`crate::snapshot::validate`].
pub fn organization(options: &GenerateOptions) -> Snapshot {
    let mut rng = Rng(options.seed ^ 0x6372_6973_2d67_7561); // "cris-gua"
    let accounts = options.accounts.clamp(1, 1_000_000);
    let max_depth = options.max_depth.clamp(1, 5);
    let per_ou = options.accounts_per_ou.max(1);

    let org_id = format!("o-{}", rng.text(LOWER_ALNUM, 10));
    let root_tag = rng.text(LOWER_ALNUM, 4);
    let root_id = format!("r-{root_tag}");
    let ou_tag = rng.text(LOWER, 2);
    let policy_tag = rng.text(LOWER, 2);
    let account_base = 100_000_000_000u64 + (rng.next_u64() % 800_000) * 1_000_000;
    let management = format!("{account_base:012}");

    let mut ids = PolicyIds {
        tag: policy_tag,
        next: 0,
    };
    let mut policies = Policies::default();
    let full = policies.add(PolicyRecord {
        id: FULL_AWS_ACCESS_ID.to_string(),
        name: "FullAWSAccess".to_string(),
        aws_managed: true,
        policy_type: "SERVICE_CONTROL_POLICY".to_string(),
        content: text(&json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "*", "Resource": "*"}]})),
        targets: Vec::new(),
    });

    // Governed Regions: the home Region plus a few more, chosen by the seed.
    let governed_count = 2 + rng.below(3);
    let governed: Vec<&str> = GOVERNABLE_REGIONS
        .iter()
        .take(governed_count.max(1))
        .copied()
        .collect();
    // The "Workloads" OU (index 2) when the organization has one: an OU-path condition names it.
    let workloads_path = format!("{org_id}/{root_id}/{}/*", ou_id(&root_tag, &ou_tag, 2));
    let catalog = Catalog::new(
        &mut rng,
        &mut ids,
        &mut policies,
        &governed,
        &workloads_path,
    );

    // The OU tree.
    let ou_count = (accounts / per_ou).max(1);
    let mut ous: Vec<OuDraft> = Vec::with_capacity(ou_count);
    let top_names = [
        "Security",
        "Infrastructure",
        "Workloads",
        "Sandbox",
        "Suspended",
        "PolicyStaging",
        "Deployments",
        "Exceptions",
    ];
    let top_count = ou_count.min(3 + ou_count / 40).min(top_names.len());
    for (i, name) in top_names.iter().take(top_count).enumerate() {
        ous.push(OuDraft {
            id: ou_id(&root_tag, &ou_tag, i),
            name: (*name).to_string(),
            parent: None,
            depth: 1,
        });
    }
    let words = [
        "prod",
        "dev",
        "test",
        "staging",
        "data",
        "ml",
        "platform",
        "shared",
        "research",
        "analytics",
        "payments",
        "web",
    ];
    let parents: Vec<usize> = (0..top_count)
        .filter(|&i| top_names.get(i) != Some(&"Suspended"))
        .collect();
    for i in top_count..ou_count {
        // A random earlier OU that can still take a child; fall back to a top-level one.
        let mut parent = parents.get(rng.below(parents.len())).copied().unwrap_or(0);
        for _ in 0..4 {
            let candidate = rng.below(ous.len());
            let fits = ous
                .get(candidate)
                .is_some_and(|o| o.depth < max_depth && !is_suspended(&ous, candidate));
            if fits {
                parent = candidate;
                break;
            }
        }
        let depth = ous.get(parent).map_or(1, |p| p.depth + 1);
        // Too deep (only when `max_depth` is 1): another top-level OU.
        let (parent, depth) = if depth > max_depth {
            (None, 1)
        } else {
            (Some(parent), depth)
        };
        let word = rng.pick(&words).copied().unwrap_or("team");
        ous.push(OuDraft {
            id: ou_id(&root_tag, &ou_tag, i),
            name: format!("{word}-{i:05}"),
            parent,
            depth,
        });
    }

    // SCPs on the root and the OUs.
    policies.attach(full, &root_id);
    policies.attach(catalog.deny_leave_organization, &root_id);
    policies.attach(catalog.protect_security_services, &root_id);
    for ou in &ous {
        let mut attached: Vec<usize> = Vec::new();
        let mut keep_full = true;
        if ou.parent.is_none() {
            match ou.name.as_str() {
                "Suspended" => attached.push(catalog.deny_all),
                // Not registered with Control Tower.
                "Exceptions" => {}
                _ => {
                    // Control Tower creates one guardrail SCP per registered OU.
                    let guardrail = catalog.guardrail(&mut rng, &mut ids, &mut policies, &governed);
                    attached.push(guardrail);
                }
            }
            if ou.name == "Sandbox" {
                attached.push(catalog.bedrock_principal_guard);
            }
        } else {
            let percent = match ou.depth {
                2 => 35,
                3 => 20,
                _ => 8,
            };
            if rng.chance(percent) {
                let extra = 1 + usize::from(rng.chance(25));
                for _ in 0..extra {
                    if let Some(&p) = rng.pick(&catalog.for_ous)
                        && !attached.contains(&p)
                    {
                        attached.push(p);
                    }
                }
                if attached.iter().any(|p| catalog.allow_lists.contains(p)) && rng.chance(50) {
                    keep_full = false;
                }
            }
        }
        if keep_full {
            policies.attach(full, &ou.id);
        }
        for p in attached.into_iter().take(4) {
            policies.attach(p, &ou.id);
        }
    }

    // Accounts.
    let suspended_ou = ous.iter().position(|o| o.name == "Suspended");
    let mut account_records = Vec::with_capacity(accounts);
    account_records.push(Account {
        id: management.clone(),
        name: "management".to_string(),
        parent_id: root_id.clone(),
        status: "ACTIVE".to_string(),
    });
    policies.attach(full, &management);
    for i in 1..accounts {
        let id = format!("{:012}", account_base + i as u64);
        let suspended = i % 197 == 13;
        let parent_id = if suspended && rng.chance(70) {
            suspended_ou.and_then(|s| ous.get(s)).map(|o| o.id.clone())
        } else if i % 499 == 7 {
            // A few accounts directly under the root.
            Some(root_id.clone())
        } else {
            ous.get(rng.below(ous.len())).map(|o| o.id.clone())
        }
        .unwrap_or_else(|| root_id.clone());
        policies.attach(full, &id);
        // Account-level exceptions.
        if i % 97 == 5
            && let Some(&p) = rng.pick(&catalog.for_accounts)
        {
            policies.attach(p, &id);
        }
        account_records.push(Account {
            id,
            name: format!("{}-{i:06}", rng.pick(&words).copied().unwrap_or("acct")),
            parent_id,
            status: if suspended { "SUSPENDED" } else { "ACTIVE" }.to_string(),
        });
    }

    let organizational_units = ous
        .iter()
        .map(|o| OrganizationalUnit {
            id: o.id.clone(),
            name: o.name.clone(),
            parent_id: o
                .parent
                .and_then(|p| ous.get(p))
                .map_or_else(|| root_id.clone(), |p| p.id.clone()),
        })
        .collect();

    Snapshot {
        format_version: 1,
        captured_at: CAPTURED_AT.to_string(),
        organization: Organization {
            id: org_id,
            management_account_id: management.clone(),
        },
        roots: vec![Root {
            id: root_id,
            name: "Root".to_string(),
            scp_enabled: None,
        }],
        organizational_units,
        accounts: account_records,
        policies: policies.records,
        inference_profiles: inference_profiles(&management),
        guardrail_profiles: Default::default(),
        marketplace_models: Default::default(),
        gaps: Vec::new(),
    }
}

#[derive(Debug)]
struct OuDraft {
    id: String,
    name: String,
    parent: Option<usize>,
    depth: usize,
}

fn is_suspended(ous: &[OuDraft], index: usize) -> bool {
    ous.get(index)
        .is_some_and(|o| o.parent.is_none() && o.name == "Suspended")
}

fn ou_id(root_tag: &str, tag: &str, index: usize) -> String {
    format!("ou-{root_tag}-{tag}{index:06}")
}

struct PolicyIds {
    tag: String,
    next: usize,
}

impl PolicyIds {
    fn next(&mut self) -> String {
        self.next += 1;
        format!("p-{}{:06}", self.tag, self.next)
    }
}

#[derive(Default)]
struct Policies {
    records: Vec<PolicyRecord>,
}

impl Policies {
    fn add(&mut self, record: PolicyRecord) -> usize {
        self.records.push(record);
        self.records.len() - 1
    }

    fn custom(&mut self, ids: &mut PolicyIds, name: &str, document: &Value) -> usize {
        self.add(PolicyRecord {
            id: ids.next(),
            name: name.to_string(),
            aws_managed: false,
            policy_type: "SERVICE_CONTROL_POLICY".to_string(),
            content: text(document),
            targets: Vec::new(),
        })
    }

    fn attach(&mut self, policy: usize, target: &str) {
        if let Some(record) = self.records.get_mut(policy) {
            record.targets.push(target.to_string());
        }
    }
}

/// The document as `DescribePolicy` returns it: a JSON string.
fn text(document: &Value) -> PolicyContent {
    PolicyContent::Text(document.to_string())
}

/// The SCPs the generator attaches, by role.
struct Catalog {
    deny_leave_organization: usize,
    protect_security_services: usize,
    deny_all: usize,
    bedrock_principal_guard: usize,
    /// Attached to some nested OUs.
    for_ous: Vec<usize>,
    /// The allow-list SCPs among `for_ous` (FullAWSAccess may be detached where they are).
    allow_lists: Vec<usize>,
    /// Account-level exceptions.
    for_accounts: Vec<usize>,
}

impl Catalog {
    fn new(
        rng: &mut Rng,
        ids: &mut PolicyIds,
        policies: &mut Policies,
        governed: &[&str],
        workloads_path: &str,
    ) -> Catalog {
        let deny_leave_organization = policies.custom(
            ids,
            "DenyLeaveOrganization",
            &json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "DenyLeave", "Effect": "Deny",
                "Action": "organizations:LeaveOrganization", "Resource": "*"}]}),
        );
        let protect_security_services = policies.custom(
            ids,
            "ProtectSecurityServices",
            &json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "ProtectSecurityServices", "Effect": "Deny",
                "Action": ["cloudtrail:StopLogging", "cloudtrail:DeleteTrail",
                           "guardduty:DeleteDetector", "guardduty:DisassociateFromMasterAccount",
                           "config:DeleteConfigurationRecorder", "config:StopConfigurationRecorder",
                           "securityhub:DisableSecurityHub", "access-analyzer:DeleteAnalyzer"],
                "Resource": "*",
                "Condition": {"ArnNotLike": {"aws:PrincipalARN": [
                    "arn:aws:iam::*:role/AWSControlTowerExecution",
                    "arn:aws:iam::*:role/SecurityBreakGlass"]}}}]}),
        );
        let deny_all = policies.custom(
            ids,
            "DenyAllSuspended",
            &json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "DenyAll", "Effect": "Deny", "Action": "*", "Resource": "*"}]}),
        );
        let bedrock_principal_guard = policies.custom(
            ids,
            "BedrockOnlyFromApprovedRoles",
            &json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "DenyBedrockInvokeExceptApprovedRoles", "Effect": "Deny",
                "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream"],
                "Resource": "*",
                "Condition": {"ArnNotLike": {"aws:PrincipalARN": [
                    "arn:aws:iam::*:role/Bedrock-Access-CRI"]}}}]}),
        );
        let mut allowed_extra: Vec<&str> = governed.to_vec();
        allowed_extra.push("us-east-2");
        let pv1 = policies.custom(
            ids,
            &guardrail_name(rng),
            &json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "CTMULTISERVICEPV1", "Effect": "Deny",
                "NotAction": GRREGIONDENY_NOT_ACTIONS, "Resource": "*",
                "Condition": {
                    "StringNotEquals": {"aws:RequestedRegion": allowed_extra},
                    "ArnNotLike": {"aws:PrincipalARN": [
                        "arn:aws:iam::*:role/DataScienceAdmin",
                        "arn:*:iam::*:role/AWSControlTowerExecution",
                        "arn:*:iam::*:role/aws-controltower-ConfigRecorderRole",
                        "arn:*:iam::*:role/aws-controltower-ForwardSnsNotificationRole",
                        "arn:*:iam::*:role/AWSControlTower_VPCFlowLogsRole"]}}}]}),
        );
        let split_bedrock = policies.custom(
            ids,
            "DenyOutsideAllowedRegionsSplitBedrock",
            &json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "DenyServicesOutsideAllowedRegions", "Effect": "Deny",
                 "NotAction": ["bedrock:*", "iam:*", "organizations:*", "route53:*",
                               "cloudfront:*", "support:*", "sts:*", "account:*"],
                 "Resource": "*",
                 "Condition": {"StringNotEquals": {"aws:RequestedRegion":
                     ["ap-southeast-2", "us-east-1", "us-west-2"]}}},
                {"Sid": "DenyBedrockOutsideAllowedRegions", "Effect": "Deny",
                 "Action": "bedrock:*", "Resource": "*",
                 "Condition": {"StringNotEquals": {"aws:RequestedRegion":
                     ["ap-southeast-2", "us-east-1", "us-west-2", "unspecified"]}}}]}),
        );
        let repost_not_bedrock = policies.custom(
            ids,
            "DenyRegionsExceptBedrock",
            &json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Deny", "NotAction": "bedrock:*", "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestedRegion":
                    ["eu-south-1", "eu-south-2", "me-central-1"]}}}]}),
        );
        let disable_global = policies.custom(
            ids,
            "DisableGlobalCris",
            &json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "DenyGlobalCris", "Effect": "Deny", "Action": "bedrock:*", "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:RequestedRegion": "unspecified"},
                    "ArnLike": {"bedrock:InferenceProfileArn":
                        "arn:aws:bedrock:*:*:inference-profile/global.*"}}}]}),
        );
        let us_only = policies.custom(
            ids,
            "DenyNonUSGeographicCRIS",
            &json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "DenyNonUSGeographicCRIS", "Effect": "Deny", "Action": "bedrock:*",
                "Resource": "*",
                "Condition": {
                    "Null": {"bedrock:InferenceProfileArn": "false"},
                    "ArnNotLike": {"bedrock:InferenceProfileArn":
                        ["arn:aws:bedrock:*:*:inference-profile/us.*"]}}}]}),
        );
        let blog_sample = policies.custom(
            ids,
            "DenySpecificRegionAllowCRI",
            &json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "DenySpecificRegionAllowCRI", "Effect": "Deny", "Action": "*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:RequestedRegion": "us-east-2"},
                    "ArnNotLike": {"bedrock:InferenceProfileArn":
                        "arn:aws:bedrock:*:*:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0"}}}]}),
        );
        let eu_cris = policies.custom(
            ids,
            "DenyBedrockInferenceOutsideApprovedRegions",
            &json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "DenyBedrockInferenceOutsideApprovedRegions", "Effect": "Deny",
                "Action": ["bedrock:InvokeModel", "bedrock:InvokeModelWithResponseStream",
                           "bedrock:CreateModelInvocationJob"],
                "Resource": "*",
                "Condition": {
                    "StringNotEquals": {"aws:RequestedRegion": ["eu-central-1", "eu-west-1"]},
                    "ArnNotLike": {"bedrock:InferenceProfileArn":
                        "arn:aws:bedrock:*:*:inference-profile/eu.*"}}}]}),
        );
        let allow_core = policies.custom(
            ids,
            "AllowListCore",
            &json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "AllowApprovedServices", "Effect": "Allow",
                "Action": ["ec2:*", "s3:*", "bedrock:*", "cloudwatch:*", "logs:*", "iam:*",
                           "sts:*", "kms:*", "lambda:*", "dynamodb:*", "sns:*", "sqs:*"],
                "Resource": "*"}]}),
        );
        let allow_no_bedrock = policies.custom(
            ids,
            "AllowListNoBedrock",
            &json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "AllowApprovedServices", "Effect": "Allow",
                "Action": ["ec2:*", "s3:*", "cloudwatch:*", "logs:*", "iam:*", "sts:*",
                           "kms:*", "rds:*"],
                "Resource": "*"}]}),
        );
        let deny_all_bedrock = policies.custom(
            ids,
            "DenyAllBedrock",
            &json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "DenyBedrock", "Effect": "Deny", "Action": "bedrock:*", "Resource": "*"}]}),
        );
        let quarantine = policies.custom(
            ids,
            "QuarantineAccount",
            &json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "Quarantine", "Effect": "Deny", "Action": "*", "Resource": "*",
                "Condition": {"ArnNotLike": {"aws:PrincipalARN":
                    ["arn:aws:iam::*:role/AWSControlTowerExecution"]}}}]}),
        );
        let account_guard = policies.custom(
            ids,
            "BedrockOnlyInApprovedAccounts",
            &json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "DenyBedrockOutsideApprovedAccounts", "Effect": "Deny",
                "Action": "bedrock:Invoke*", "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:PrincipalAccount":
                    ["123456789012", "210987654321"]}}}]}),
        );
        let eu_only_us_east = policies.custom(
            ids,
            "DenyBedrockOutsideUsEast1",
            &json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "DenyBedrockOutsideUsEast1", "Effect": "Deny", "NotAction": [
                    "iam:*", "sts:*", "organizations:*", "support:*"],
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1"]}}}]}),
        );
        // Depends on the caller's OU path: results below it are per target.
        let path_guard = policies.custom(
            ids,
            "BedrockOnlyInWorkloads",
            &json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "DenyBedrockOutsideWorkloads", "Effect": "Deny",
                "Action": "bedrock:Invoke*", "Resource": "*",
                "Condition": {"ForAllValues:StringNotLike": {"aws:PrincipalOrgPaths":
                    [workloads_path]}}}]}),
        );
        Catalog {
            deny_leave_organization,
            protect_security_services,
            deny_all,
            bedrock_principal_guard,
            for_ous: vec![
                pv1,
                split_bedrock,
                repost_not_bedrock,
                disable_global,
                us_only,
                blog_sample,
                eu_cris,
                allow_core,
                allow_no_bedrock,
                bedrock_principal_guard,
                path_guard,
            ],
            allow_lists: vec![allow_core, allow_no_bedrock],
            for_accounts: vec![deny_all_bedrock, quarantine, account_guard, eu_only_us_east],
        }
    }

    /// A Control Tower guardrail SCP for one registered OU: GRREGIONDENY plus a bucket guard.
    fn guardrail(
        &self,
        rng: &mut Rng,
        ids: &mut PolicyIds,
        policies: &mut Policies,
        governed: &[&str],
    ) -> usize {
        policies.custom(
            ids,
            &guardrail_name(rng),
            &json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "GRREGIONDENY", "Effect": "Deny",
                 "NotAction": GRREGIONDENY_NOT_ACTIONS, "Resource": "*",
                 "Condition": {
                     "StringNotEquals": {"aws:RequestedRegion": governed},
                     "ArnNotLike": {"aws:PrincipalARN":
                         ["arn:aws:iam::*:role/AWSControlTowerExecution"]}}},
                {"Sid": "GRAUDITBUCKETPOLICYCHANGESPROHIBITED", "Effect": "Deny",
                 "Action": ["s3:PutBucketPolicy", "s3:DeleteBucketPolicy"],
                 "Resource": ["arn:aws:s3:::aws-controltower*"],
                 "Condition": {"ArnNotLike": {"aws:PrincipalARN":
                     "arn:aws:iam::*:role/AWSControlTowerExecution"}}}]}),
        )
    }
}

fn guardrail_name(rng: &mut Rng) -> String {
    format!("aws-guardrails-{}", rng.text(MIXED_ALNUM, 6))
}

/// Source Regions → destination Regions of one profile.
type Routing = &'static [(&'static [&'static str], &'static [&'static str])];

const US3: &[&str] = &["us-east-1", "us-east-2", "us-west-2"];
const US4: &[&str] = &["us-east-1", "us-east-2", "us-west-1", "us-west-2"];
const E1: &[&str] = &["us-east-1"];
const E2: &[&str] = &["us-east-2"];
const W1: &[&str] = &["us-west-1"];
const W2: &[&str] = &["us-west-2"];
const E1W2: &[&str] = &["us-east-1", "us-west-2"];
const CAC1: &[&str] = &["ca-central-1"];
const CAW1: &[&str] = &["ca-west-1"];

const ROUTE_US3: Routing = &[(US3, US3)];
const ROUTE_US3_W1: Routing = &[(US3, US3), (W1, US4)];
const ROUTE_US3_W1_CA: Routing = &[
    (US3, US3),
    (W1, US4),
    (
        CAC1,
        &["ca-central-1", "us-east-1", "us-east-2", "us-west-2"],
    ),
];
const ROUTE_HAIKU3: Routing = &[(E1, E1W2), (E2, US3), (W2, E1W2)];

const EU3: &[&str] = &["eu-central-1", "eu-west-1", "eu-west-3"];
const EU4: &[&str] = &["eu-central-1", "eu-north-1", "eu-west-1", "eu-west-3"];
const EU6: &[&str] = &[
    "eu-central-1",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-3",
];
const ROUTE_EU_45: Routing = &[
    (EU6, EU6),
    (
        &["eu-central-2"],
        &[
            "eu-central-1",
            "eu-central-2",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-3",
        ],
    ),
    (
        &["eu-west-2"],
        &[
            "eu-central-1",
            "eu-north-1",
            "eu-south-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-2",
            "eu-west-3",
        ],
    ),
];
const ROUTE_EU_NOVA: Routing = &[
    (EU4, EU4),
    (
        &["eu-south-1"],
        &[
            "eu-central-1",
            "eu-north-1",
            "eu-south-1",
            "eu-west-1",
            "eu-west-3",
        ],
    ),
    (
        &["eu-south-2"],
        &[
            "eu-central-1",
            "eu-north-1",
            "eu-south-2",
            "eu-west-1",
            "eu-west-3",
        ],
    ),
    (
        &["il-central-1"],
        &[
            "eu-central-1",
            "eu-north-1",
            "eu-south-1",
            "eu-west-1",
            "eu-west-3",
            "il-central-1",
        ],
    ),
];

const APAC6: &[&str] = &[
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
];
const APAC7: &[&str] = &[
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
];
const APAC_B: &[&str] = &[
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-4",
];
const APAC_B3: &[&str] = &[
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
];
const ROUTE_APAC_S4: Routing = &[
    (APAC_B, APAC_B),
    (&["ap-southeast-3"], APAC_B3),
    (
        &["ap-southeast-5"],
        &[
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-5",
        ],
    ),
    (
        &["ap-southeast-7"],
        &[
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "ap-southeast-7",
        ],
    ),
    (
        &["me-central-1"],
        &[
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
            "me-central-1",
        ],
    ),
    (
        &["ap-east-2"],
        &[
            "ap-east-2",
            "ap-northeast-1",
            "ap-northeast-2",
            "ap-northeast-3",
            "ap-south-1",
            "ap-south-2",
            "ap-southeast-1",
            "ap-southeast-2",
            "ap-southeast-3",
            "ap-southeast-4",
        ],
    ),
];

const JP: &[&str] = &["ap-northeast-1", "ap-northeast-3"];
const AU: &[&str] = &["ap-southeast-2", "ap-southeast-4"];
const CA: &[&str] = &["ca-central-1", "ca-west-1"];
const GOV_E: &[&str] = &["us-gov-east-1"];
const GOV_W: &[&str] = &["us-gov-west-1"];
const GOV_EW: &[&str] = &["us-gov-east-1", "us-gov-west-1"];

/// Global profiles list no destinations: they route to "Commercial AWS Regions".
const GLOBAL_SONNET4_SOURCES: &[&str] = &[
    "ap-northeast-1",
    "eu-west-1",
    "us-east-1",
    "us-east-2",
    "us-west-2",
];
const GLOBAL_SOURCES: &[&str] = &[
    "af-south-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "me-central-1",
    "il-central-1",
];
const GLOBAL: &[&str] = &[];

/// Every system profile of domain.md §3.2 with its routing table.
pub const SYSTEM_PROFILES: &[(&str, Routing)] = &[
    (
        "us.anthropic.claude-3-5-sonnet-20240620-v1:0",
        &[(US3, E1W2)],
    ),
    ("us.anthropic.claude-3-5-sonnet-20241022-v2:0", ROUTE_US3),
    ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", ROUTE_US3),
    ("us.anthropic.claude-sonnet-4-20250514-v1:0", ROUTE_US3_W1),
    (
        "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
        ROUTE_US3_W1_CA,
    ),
    (
        "us.anthropic.claude-haiku-4-5-20251001-v1:0",
        ROUTE_US3_W1_CA,
    ),
    (
        "us.anthropic.claude-opus-4-5-20251101-v1:0",
        ROUTE_US3_W1_CA,
    ),
    ("us.anthropic.claude-opus-4-20250514-v1:0", ROUTE_US3),
    ("us.anthropic.claude-opus-4-1-20250805-v1:0", ROUTE_US3),
    ("us.anthropic.claude-3-haiku-20240307-v1:0", ROUTE_HAIKU3),
    ("us.anthropic.claude-3-5-haiku-20241022-v1:0", ROUTE_US3),
    ("us.amazon.nova-pro-v1:0", ROUTE_US3_W1),
    ("us.amazon.nova-lite-v1:0", ROUTE_US3_W1),
    ("us.amazon.nova-micro-v1:0", ROUTE_US3),
    ("us.amazon.nova-premier-v1:0", ROUTE_US3),
    (
        "us.amazon.nova-2-lite-v1:0",
        &[
            (US3, US3),
            (W1, US4),
            (
                CAC1,
                &["ca-central-1", "us-east-1", "us-east-2", "us-west-2"],
            ),
            (CAW1, &["ca-west-1", "us-east-1", "us-east-2", "us-west-2"]),
        ],
    ),
    ("us.meta.llama3-3-70b-instruct-v1:0", ROUTE_US3),
    ("us.meta.llama3-1-70b-instruct-v1:0", ROUTE_US3),
    ("us.meta.llama3-1-8b-instruct-v1:0", ROUTE_US3),
    ("us.meta.llama3-2-1b-instruct-v1:0", ROUTE_HAIKU3),
    ("us.meta.llama3-2-3b-instruct-v1:0", ROUTE_HAIKU3),
    ("us.meta.llama3-2-11b-instruct-v1:0", ROUTE_HAIKU3),
    ("us.meta.llama3-2-90b-instruct-v1:0", ROUTE_HAIKU3),
    ("us.meta.llama3-1-405b-instruct-v1:0", &[(E2, US3)]),
    ("us.meta.llama4-maverick-17b-instruct-v1:0", ROUTE_US3_W1),
    ("us.meta.llama4-scout-17b-instruct-v1:0", ROUTE_US3_W1),
    (
        "eu.anthropic.claude-3-5-sonnet-20240620-v1:0",
        &[(EU3, EU3)],
    ),
    (
        "eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
        &[(EU4, EU4)],
    ),
    (
        "eu.anthropic.claude-sonnet-4-20250514-v1:0",
        &[
            (EU6, EU6),
            (
                &["il-central-1"],
                &[
                    "eu-central-1",
                    "eu-north-1",
                    "eu-south-1",
                    "eu-south-2",
                    "eu-west-1",
                    "eu-west-3",
                    "il-central-1",
                ],
            ),
        ],
    ),
    ("eu.anthropic.claude-sonnet-4-5-20250929-v1:0", ROUTE_EU_45),
    ("eu.anthropic.claude-haiku-4-5-20251001-v1:0", ROUTE_EU_45),
    ("eu.anthropic.claude-opus-4-5-20251101-v1:0", ROUTE_EU_45),
    ("eu.amazon.nova-pro-v1:0", ROUTE_EU_NOVA),
    ("eu.amazon.nova-lite-v1:0", ROUTE_EU_NOVA),
    ("eu.amazon.nova-micro-v1:0", ROUTE_EU_NOVA),
    (
        "apac.anthropic.claude-3-5-sonnet-20241022-v2:0",
        &[
            (APAC6, APAC6),
            (
                &["ap-south-2"],
                &[
                    "ap-northeast-1",
                    "ap-northeast-2",
                    "ap-northeast-3",
                    "ap-south-1",
                    "ap-south-2",
                    "ap-southeast-1",
                    "ap-southeast-2",
                ],
            ),
        ],
    ),
    (
        "apac.anthropic.claude-3-7-sonnet-20250219-v1:0",
        &[(APAC7, APAC7)],
    ),
    (
        "apac.anthropic.claude-sonnet-4-20250514-v1:0",
        ROUTE_APAC_S4,
    ),
    ("jp.anthropic.claude-sonnet-4-5-20250929-v1:0", &[(JP, JP)]),
    ("jp.anthropic.claude-haiku-4-5-20251001-v1:0", &[(JP, JP)]),
    ("au.anthropic.claude-sonnet-4-5-20250929-v1:0", &[(AU, AU)]),
    ("au.anthropic.claude-haiku-4-5-20251001-v1:0", &[(AU, AU)]),
    ("ca.amazon.nova-lite-v1:0", &[(CA, CA)]),
    (
        "us-gov.anthropic.claude-3-haiku-20240307-v1:0",
        &[(GOV_E, GOV_EW)],
    ),
    (
        "us-gov.anthropic.claude-3-5-sonnet-20240620-v1:0",
        &[(GOV_E, GOV_EW)],
    ),
    (
        "us-gov.anthropic.claude-3-7-sonnet-20250219-v1:0",
        &[(GOV_E, GOV_EW)],
    ),
    (
        "us-gov.anthropic.claude-sonnet-4-5-20250929-v1:0",
        &[(GOV_E, GOV_W), (GOV_W, GOV_W)],
    ),
    (
        "global.anthropic.claude-sonnet-4-20250514-v1:0",
        &[(GLOBAL_SONNET4_SOURCES, GLOBAL)],
    ),
    (
        "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
        &[(GLOBAL_SOURCES, GLOBAL)],
    ),
    (
        "global.anthropic.claude-haiku-4-5-20251001-v1:0",
        &[(GLOBAL_SOURCES, GLOBAL)],
    ),
    (
        "global.anthropic.claude-opus-4-5-20251101-v1:0",
        &[(GLOBAL_SOURCES, GLOBAL)],
    ),
    (
        "global.amazon.nova-2-lite-v1:0",
        &[(GLOBAL_SOURCES, GLOBAL)],
    ),
    ("global.cohere.embed-v4:0", &[(GLOBAL_SOURCES, GLOBAL)]),
    (
        "global.twelvelabs.pegasus-1-2-v1:0",
        &[(GLOBAL_SOURCES, GLOBAL)],
    ),
];

fn partition_of(region: &str) -> &'static str {
    if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// `inferenceProfiles` keyed by source Region, as `ListInferenceProfiles` run in each source
/// Region of the management account would return them.
pub fn inference_profiles(account: &str) -> BTreeMap<String, Vec<InferenceProfile>> {
    let mut by_region: BTreeMap<String, Vec<InferenceProfile>> = BTreeMap::new();
    for (id, routing) in SYSTEM_PROFILES {
        let model = id.split_once('.').map_or(*id, |(_, model)| model);
        let global = id.starts_with("global.");
        for (sources, destinations) in *routing {
            for source in *sources {
                let partition = partition_of(source);
                let fm = |region: &str| InferenceProfileModel {
                    model_arn: format!(
                        "arn:{partition}:bedrock:{region}::foundation-model/{model}"
                    ),
                };
                let models: Vec<InferenceProfileModel> = if global {
                    // The Region-less model (the `unspecified` leg) plus the source's own.
                    vec![fm(""), fm(source)]
                } else {
                    destinations.iter().map(|d| fm(d)).collect()
                };
                by_region
                    .entry((*source).to_string())
                    .or_default()
                    .push(InferenceProfile {
                        inference_profile_id: (*id).to_string(),
                        inference_profile_arn: format!(
                            "arn:{partition}:bedrock:{source}:{account}:inference-profile/{id}"
                        ),
                        profile_type: "SYSTEM_DEFINED".to_string(),
                        status: "ACTIVE".to_string(),
                        models,
                        inference_profile_name: None,
                    });
            }
        }
    }
    by_region
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_and_large_orgs_validate_and_are_deterministic() {
        for accounts in [1, 2, 25, 400, 3_000] {
            for seed in [0, 7, 42] {
                let options = GenerateOptions {
                    accounts,
                    seed,
                    ..GenerateOptions::default()
                };
                let snapshot = organization(&options);
                assert_eq!(snapshot, organization(&options));
                assert_eq!(snapshot.accounts.len(), accounts);
                let valid = crate::snapshot::validate("generated", snapshot).unwrap();
                assert!(valid.snapshot.policies.len() >= 10);
            }
        }
    }

    #[test]
    fn respects_depth_and_scp_limits() {
        for max_depth in 1..=5 {
            let snapshot = organization(&GenerateOptions {
                accounts: 5_000,
                seed: 3,
                max_depth,
                ..GenerateOptions::default()
            });
            let parent: std::collections::HashMap<&str, &str> = snapshot
                .organizational_units
                .iter()
                .map(|o| (o.id.as_str(), o.parent_id.as_str()))
                .collect();
            for ou in &snapshot.organizational_units {
                let mut depth = 1;
                let mut current = ou.parent_id.as_str();
                while let Some(p) = parent.get(current) {
                    depth += 1;
                    current = p;
                }
                assert!(depth <= max_depth, "{} at depth {depth}", ou.id);
            }
            let mut per_target: std::collections::HashMap<&str, usize> = Default::default();
            for policy in &snapshot.policies {
                for target in &policy.targets {
                    *per_target.entry(target).or_default() += 1;
                }
            }
            assert!(per_target.values().all(|&n| n <= 5));
            assert!(snapshot.accounts.iter().any(|a| a.status == "SUSPENDED"));
        }
    }

    #[test]
    fn every_profile_is_listed_with_its_routing() {
        let snapshot = organization(&GenerateOptions::default());
        let ids: std::collections::HashSet<&str> = snapshot
            .inference_profiles
            .values()
            .flatten()
            .map(|p| p.inference_profile_id.as_str())
            .collect();
        assert_eq!(ids.len(), SYSTEM_PROFILES.len());
        let haiku_w2 = snapshot.inference_profiles["us-west-2"]
            .iter()
            .find(|p| p.inference_profile_id == "us.anthropic.claude-3-haiku-20240307-v1:0")
            .unwrap();
        let regions: Vec<&str> = haiku_w2
            .models
            .iter()
            .map(|m| m.model_arn.split(':').nth(3).unwrap())
            .collect();
        assert_eq!(regions, ["us-east-1", "us-west-2"]);
        let global = &snapshot.inference_profiles["sa-east-1"][0];
        assert!(global.inference_profile_id.starts_with("global."));
        assert!(
            global.models[0]
                .model_arn
                .starts_with("arn:aws:bedrock:::foundation-model/")
        );
        let gov = &snapshot.inference_profiles["us-gov-east-1"][0];
        assert!(
            gov.inference_profile_arn
                .starts_with("arn:aws-us-gov:bedrock:us-gov-east-1:")
        );
        let guardrail = snapshot
            .policies
            .iter()
            .find(|p| {
                p.name.starts_with("aws-guardrails-") && p.content.text().contains("GRREGIONDENY")
            })
            .unwrap();
        assert!(guardrail.content.text().len() <= crate::snapshot::MAX_SCP_CHARS);
    }
}
