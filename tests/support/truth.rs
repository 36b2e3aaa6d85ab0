//! SDK mocks (aws-smithy-mocks) answering every read of the live reader from a snapshot, the
//! "truth": Organizations (lists in pages, the policies, and for incremental updates the
//! parent, name and state of one account or OU, "not found" for what is gone) and the system
//! inference profiles of a Region. The truth can be replaced between calls (an organization
//! that changes under the reader).
#![allow(
    dead_code,
    reason = "shared by several test crates, each using part of it"
)]

use std::sync::{Arc, Mutex};

use aws_sdk_bedrock::operation::list_inference_profiles::ListInferenceProfilesOutput;
use aws_sdk_bedrock::types::{
    InferenceProfileModel, InferenceProfileStatus, InferenceProfileSummary, InferenceProfileType,
};
use aws_sdk_organizations::Client as OrgClient;
use aws_sdk_organizations::operation::describe_account::{
    DescribeAccountError, DescribeAccountOutput,
};
use aws_sdk_organizations::operation::describe_organization::DescribeOrganizationOutput;
use aws_sdk_organizations::operation::describe_organizational_unit::{
    DescribeOrganizationalUnitError, DescribeOrganizationalUnitOutput,
};
use aws_sdk_organizations::operation::describe_policy::{
    DescribePolicyError, DescribePolicyOutput,
};
use aws_sdk_organizations::operation::list_accounts_for_parent::ListAccountsForParentOutput;
use aws_sdk_organizations::operation::list_organizational_units_for_parent::ListOrganizationalUnitsForParentOutput;
use aws_sdk_organizations::operation::list_parents::{ListParentsError, ListParentsOutput};
use aws_sdk_organizations::operation::list_policies::ListPoliciesOutput;
use aws_sdk_organizations::operation::list_policies_for_target::{
    ListPoliciesForTargetError, ListPoliciesForTargetOutput,
};
use aws_sdk_organizations::operation::list_roots::ListRootsOutput;
use aws_sdk_organizations::operation::list_targets_for_policy::ListTargetsForPolicyOutput;
use aws_sdk_organizations::types as ot;
use aws_sdk_organizations::types::error::{
    AccountNotFoundException, ChildNotFoundException, OrganizationalUnitNotFoundException,
    PolicyNotFoundException, TargetNotFoundException,
};
use aws_smithy_mocks::{MockResponse, Rule, mock};
use cris_guard::snapshot::Snapshot;

use crate::pages::page;

/// The organization the mocks answer from; clones share it, [`Truth::set`] changes it.
#[derive(Debug, Clone)]
pub struct Truth(Arc<Mutex<Arc<Snapshot>>>);

impl Truth {
    pub fn new(snapshot: Snapshot) -> Self {
        Truth(Arc::new(Mutex::new(Arc::new(snapshot))))
    }

    pub fn get(&self) -> Arc<Snapshot> {
        self.0.lock().unwrap().clone()
    }

    pub fn set(&self, snapshot: Snapshot) {
        *self.0.lock().unwrap() = Arc::new(snapshot);
    }
}

pub fn policy_summary(p: &cris_guard::snapshot::PolicyRecord) -> ot::PolicySummary {
    ot::PolicySummary::builder()
        .id(&p.id)
        .name(&p.name)
        .aws_managed(p.aws_managed)
        .r#type(ot::PolicyType::ServiceControlPolicy)
        .build()
}

pub fn describe_org_output(t: &Snapshot) -> DescribeOrganizationOutput {
    DescribeOrganizationOutput::builder()
        .organization(
            ot::Organization::builder()
                .id(&t.organization.id)
                .master_account_id(&t.organization.management_account_id)
                .feature_set(ot::OrganizationFeatureSet::All)
                .build(),
        )
        .build()
}

pub fn roots_output(t: &Snapshot) -> ListRootsOutput {
    let roots = t
        .roots
        .iter()
        .map(|r| {
            ot::Root::builder()
                .id(&r.id)
                .name(&r.name)
                .policy_types(
                    ot::PolicyTypeSummary::builder()
                        .r#type(ot::PolicyType::ServiceControlPolicy)
                        .status(ot::PolicyTypeStatus::Enabled)
                        .build(),
                )
                .build()
        })
        .collect();
    ListRootsOutput::builder().set_roots(Some(roots)).build()
}

pub fn child_ous(t: &Snapshot, parent: &str) -> Vec<ot::OrganizationalUnit> {
    t.organizational_units
        .iter()
        .filter(|o| o.parent_id == parent)
        .map(|o| {
            ot::OrganizationalUnit::builder()
                .id(&o.id)
                .name(&o.name)
                .build()
        })
        .collect()
}

pub fn ous_output(
    t: &Snapshot,
    parent: &str,
    token: Option<&str>,
    size: usize,
) -> ListOrganizationalUnitsForParentOutput {
    let (items, next) = page(&child_ous(t, parent), token, size);
    ListOrganizationalUnitsForParentOutput::builder()
        .set_organizational_units(Some(items))
        .set_next_token(next)
        .build()
}

pub fn child_accounts(t: &Snapshot, parent: &str) -> Vec<ot::Account> {
    t.accounts
        .iter()
        .filter(|a| a.parent_id == parent)
        .map(|a| {
            ot::Account::builder()
                .id(&a.id)
                .name(&a.name)
                .state(ot::AccountState::from(a.status.as_str()))
                .build()
        })
        .collect()
}

pub fn accounts_output(
    t: &Snapshot,
    parent: &str,
    token: Option<&str>,
    size: usize,
) -> ListAccountsForParentOutput {
    let (items, next) = page(&child_accounts(t, parent), token, size);
    ListAccountsForParentOutput::builder()
        .set_accounts(Some(items))
        .set_next_token(next)
        .build()
}

pub fn policies_output(t: &Snapshot, token: Option<&str>, size: usize) -> ListPoliciesOutput {
    let all: Vec<ot::PolicySummary> = t.policies.iter().map(policy_summary).collect();
    let (items, next) = page(&all, token, size);
    ListPoliciesOutput::builder()
        .set_policies(Some(items))
        .set_next_token(next)
        .build()
}

pub fn policy(t: &Snapshot, id: Option<&str>) -> cris_guard::snapshot::PolicyRecord {
    t.policies
        .iter()
        .find(|p| Some(p.id.as_str()) == id)
        .unwrap()
        .clone()
}

pub fn describe_policy_output(t: &Snapshot, id: Option<&str>) -> DescribePolicyOutput {
    let p = policy(t, id);
    DescribePolicyOutput::builder()
        .policy(
            ot::Policy::builder()
                .policy_summary(policy_summary(&p))
                .content(p.content.text())
                .build(),
        )
        .build()
}

pub fn targets_output(
    t: &Snapshot,
    id: Option<&str>,
    token: Option<&str>,
    size: usize,
) -> ListTargetsForPolicyOutput {
    let all: Vec<ot::PolicyTargetSummary> = policy(t, id)
        .targets
        .iter()
        .map(|id| ot::PolicyTargetSummary::builder().target_id(id).build())
        .collect();
    let (items, next) = page(&all, token, size);
    ListTargetsForPolicyOutput::builder()
        .set_targets(Some(items))
        .set_next_token(next)
        .build()
}

pub fn system_profiles_output(t: &Snapshot, region: &str) -> ListInferenceProfilesOutput {
    let summaries: Vec<InferenceProfileSummary> = t.inference_profiles[region]
        .iter()
        .map(|p| {
            InferenceProfileSummary::builder()
                .inference_profile_id(&p.inference_profile_id)
                .inference_profile_name(
                    p.inference_profile_name
                        .clone()
                        .unwrap_or_else(|| p.inference_profile_id.clone()),
                )
                .inference_profile_arn(&p.inference_profile_arn)
                .status(InferenceProfileStatus::Active)
                .r#type(InferenceProfileType::SystemDefined)
                .set_models(Some(
                    p.models
                        .iter()
                        .map(|m| {
                            InferenceProfileModel::builder()
                                .model_arn(&m.model_arn)
                                .build()
                        })
                        .collect(),
                ))
                .build()
                .unwrap()
        })
        .collect();
    ListInferenceProfilesOutput::builder()
        .set_inference_profile_summaries(Some(summaries))
        .build()
}

/// Rules answering every Organizations read from `truth`, lists cut into pages of `size`.
pub fn org_rules(truth: &Truth, size: usize) -> Vec<Rule> {
    let t = truth.clone();
    let describe_org =
        mock!(OrgClient::describe_organization).then_output(move || describe_org_output(&t.get()));
    let t = truth.clone();
    let roots = mock!(OrgClient::list_roots).then_output(move || roots_output(&t.get()));
    let t = truth.clone();
    let ous =
        mock!(OrgClient::list_organizational_units_for_parent).then_compute_output(move |i| {
            ous_output(&t.get(), i.parent_id().unwrap(), i.next_token(), size)
        });
    let t = truth.clone();
    let accounts = mock!(OrgClient::list_accounts_for_parent).then_compute_output(move |i| {
        accounts_output(&t.get(), i.parent_id().unwrap(), i.next_token(), size)
    });
    let t = truth.clone();
    let policies = mock!(OrgClient::list_policies)
        .then_compute_output(move |i| policies_output(&t.get(), i.next_token(), size));
    let t = truth.clone();
    let describe = mock!(OrgClient::describe_policy).then_compute_response(move |i| {
        let t = t.get();
        match t
            .policies
            .iter()
            .any(|p| Some(p.id.as_str()) == i.policy_id())
        {
            true => MockResponse::Output(describe_policy_output(&t, i.policy_id())),
            false => MockResponse::Error(DescribePolicyError::PolicyNotFoundException(
                PolicyNotFoundException::builder().build(),
            )),
        }
    });
    let t = truth.clone();
    let targets = mock!(OrgClient::list_targets_for_policy).then_compute_output(move |i| {
        targets_output(&t.get(), i.policy_id(), i.next_token(), size)
    });
    let mut rules = vec![
        describe_org,
        roots,
        ous,
        accounts,
        policies,
        describe,
        targets,
    ];
    rules.extend(child_rules(truth));
    rules
}

/// Rules answering `ListInferenceProfiles` in `region` from `truth` (no application profiles).
pub fn bedrock_rules(truth: &Truth, region: &str) -> Vec<Rule> {
    let t = truth.clone();
    let r = region.to_string();
    let system = mock!(aws_sdk_bedrock::Client::list_inference_profiles)
        .match_requests(|i| i.type_equals() == Some(&InferenceProfileType::SystemDefined))
        .then_output(move || system_profiles_output(&t.get(), &r));
    let application = mock!(aws_sdk_bedrock::Client::list_inference_profiles)
        .match_requests(|i| i.type_equals() == Some(&InferenceProfileType::Application))
        .then_output(|| ListInferenceProfilesOutput::builder().build());
    vec![system, application]
}

/// `ListParents`, `DescribeAccount` and `DescribeOrganizationalUnit` (what an incremental
/// update re-reads), with the service's "not found" errors for what the truth lacks.
fn child_rules(truth: &Truth) -> Vec<Rule> {
    let t = truth.clone();
    let parents = mock!(OrgClient::list_parents).then_compute_response(move |i| {
        let t = t.get();
        let id = i.child_id().unwrap();
        let parent = t
            .accounts
            .iter()
            .find(|a| a.id == id)
            .map(|a| a.parent_id.clone())
            .or_else(|| {
                t.organizational_units
                    .iter()
                    .find(|o| o.id == id)
                    .map(|o| o.parent_id.clone())
            });
        match parent {
            Some(parent) => MockResponse::Output(
                ListParentsOutput::builder()
                    .parents(ot::Parent::builder().id(parent).build())
                    .build(),
            ),
            None => MockResponse::Error(ListParentsError::ChildNotFoundException(
                ChildNotFoundException::builder().build(),
            )),
        }
    });
    let t = truth.clone();
    let account = mock!(OrgClient::describe_account).then_compute_response(move |i| {
        let t = t.get();
        match t
            .accounts
            .iter()
            .find(|a| Some(a.id.as_str()) == i.account_id())
        {
            Some(a) => MockResponse::Output(
                DescribeAccountOutput::builder()
                    .account(
                        ot::Account::builder()
                            .id(&a.id)
                            .name(&a.name)
                            .state(ot::AccountState::from(a.status.as_str()))
                            .build(),
                    )
                    .build(),
            ),
            None => MockResponse::Error(DescribeAccountError::AccountNotFoundException(
                AccountNotFoundException::builder().build(),
            )),
        }
    });
    let t = truth.clone();
    let ou = mock!(OrgClient::describe_organizational_unit).then_compute_response(move |i| {
        let t = t.get();
        match t
            .organizational_units
            .iter()
            .find(|o| Some(o.id.as_str()) == i.organizational_unit_id())
        {
            Some(o) => MockResponse::Output(
                DescribeOrganizationalUnitOutput::builder()
                    .organizational_unit(
                        ot::OrganizationalUnit::builder()
                            .id(&o.id)
                            .name(&o.name)
                            .build(),
                    )
                    .build(),
            ),
            None => MockResponse::Error(
                DescribeOrganizationalUnitError::OrganizationalUnitNotFoundException(
                    OrganizationalUnitNotFoundException::builder().build(),
                ),
            ),
        }
    });
    let t = truth.clone();
    let attached = mock!(OrgClient::list_policies_for_target).then_compute_response(move |i| {
        let t = t.get();
        let target = i.target_id().unwrap();
        let known = t.roots.iter().any(|r| r.id == target)
            || t.organizational_units.iter().any(|o| o.id == target)
            || t.accounts.iter().any(|a| a.id == target);
        if !known {
            return MockResponse::Error(ListPoliciesForTargetError::TargetNotFoundException(
                TargetNotFoundException::builder().build(),
            ));
        }
        let all: Vec<ot::PolicySummary> = t
            .policies
            .iter()
            .filter(|p| p.targets.iter().any(|x| x == target))
            .map(policy_summary)
            .collect();
        let (items, next) = page(&all, i.next_token(), 20);
        MockResponse::Output(
            ListPoliciesForTargetOutput::builder()
                .set_policies(Some(items))
                .set_next_token(next)
                .build(),
        )
    });
    vec![parents, account, ou, attached]
}
