//! Incremental updates, the AWS half: re-reads the one part of the organization an event names
//! ([`Reread`]) and returns its current state as [`Fact`]s for the core to apply. A part that is
//! gone answers with the service's "not found" error; any other failure is an `Err` with the
//! reason, and the caller reads everything instead.

use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::PolicyType;

use crate::aws::bedrock::{self, BedrockClients};
use crate::aws::organizations::{PAGE_SIZE, account_status, check_content, list_targets};
use crate::aws::paging::{Page, Paged, ReadContext, collect_pages, error_detail};
use crate::snapshot::incremental::{Fact, Reread};

/// The current state of `part`, at most a few calls (one more per page of targets).
pub(crate) async fn reread(
    org: &Client,
    profiles: &BedrockClients,
    ctx: &ReadContext<'_>,
    part: &Reread,
) -> Result<Vec<Fact>, String> {
    match part {
        Reread::Policy {
            id,
            content,
            targets,
        } => policy(org, ctx, id, *content, *targets).await,
        Reread::Attachments { target } => attachments(org, ctx, target).await,
        Reread::Account { id, details } => account(org, ctx, id, *details).await,
        Reread::OrganizationalUnit { id } => organizational_unit(org, ctx, id).await,
        Reread::Profiles { region } => {
            let read = bedrock::read_profiles(&profiles.only(region), ctx).await;
            if let Some(gap) = read.gaps.first() {
                return Err(gap.reason.clone());
            }
            let profiles = read.by_region.into_values().next().ok_or_else(|| {
                format!("no Bedrock client for {region}, a Region the old snapshot reads")
            })?;
            Ok(vec![Fact::Profiles {
                region: region.clone(),
                profiles,
            }])
        }
    }
}

async fn policy(
    org: &Client,
    ctx: &ReadContext<'_>,
    id: &str,
    content: bool,
    targets: bool,
) -> Result<Vec<Fact>, String> {
    let mut facts = Vec::new();
    if content {
        let described = {
            let _permit = ctx.permit().await;
            org.describe_policy().policy_id(id).send().await
        };
        ctx.finished(&format!("DescribePolicy {id}"));
        let gone = Fact::PolicyGone { id: id.to_string() };
        let described = match described {
            Ok(out) => out,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_policy_not_found_exception()) =>
            {
                return Ok(vec![gone]);
            }
            Err(err) => {
                return Err(format!(
                    "DescribePolicy {id} failed: {}",
                    error_detail(&err)
                ));
            }
        };
        let policy = described
            .policy()
            .ok_or_else(|| format!("DescribePolicy {id} returned no policy"))?;
        let summary = policy.policy_summary();
        // Only SCPs are in a snapshot; AttachPolicy and friends also name other policy types.
        if summary
            .and_then(|s| s.r#type())
            .is_some_and(|t| *t != PolicyType::ServiceControlPolicy)
        {
            return Ok(vec![gone]);
        }
        let name = summary.and_then(|s| s.name()).unwrap_or(id).to_string();
        let text = policy
            .content()
            .ok_or_else(|| format!("DescribePolicy {id} returned no content"))?;
        let text = check_content(id, &name, text.to_string())?;
        facts.push(Fact::PolicyContent {
            id: id.to_string(),
            name,
            aws_managed: summary.is_some_and(|s| s.aws_managed()),
            content: text,
        });
    }
    if targets {
        let what = format!("ListTargetsForPolicy {id}");
        let listed = list_targets(org, ctx, id).await;
        let listed = match listed {
            Paged::Complete(listed) => listed,
            Paged::Failed { reason, .. } => return Err(format!("{what} failed: {reason}")),
        };
        let targets = listed
            .iter()
            .map(|t| t.target_id().map(str::to_string))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(|| format!("{what} returned a target without an id"))?;
        facts.push(Fact::PolicyTargets {
            id: id.to_string(),
            targets,
        });
    }
    Ok(facts)
}

/// `ListPoliciesForTarget`: nothing attached when the target is gone (a deleted OU, an account
/// that left).
async fn attachments(
    org: &Client,
    ctx: &ReadContext<'_>,
    target: &str,
) -> Result<Vec<Fact>, String> {
    let what = format!("ListPoliciesForTarget {target}");
    let listed = collect_pages(ctx, &what, async |token| {
        let page = org
            .list_policies_for_target()
            .target_id(target)
            .filter(PolicyType::ServiceControlPolicy)
            .max_results(PAGE_SIZE)
            .set_next_token(token)
            .send()
            .await;
        match page {
            Ok(page) => Ok(Page::new(page.policies().to_vec(), page.next_token())),
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_target_not_found_exception()) =>
            {
                Ok(Page::new(Vec::new(), None))
            }
            Err(err) => Err(error_detail(&err)),
        }
    })
    .await;
    let listed = match listed {
        Paged::Complete(listed) => listed,
        Paged::Failed { reason, .. } => return Err(format!("{what} failed: {reason}")),
    };
    let policies = listed
        .iter()
        .map(|p| p.id().map(str::to_string))
        .collect::<Option<Vec<String>>>()
        .ok_or_else(|| format!("{what} returned an SCP without an id"))?;
    Ok(vec![Fact::Attachments {
        target: target.to_string(),
        policies,
    }])
}

/// `ListParents`: `Ok(None)` when the child is not in the organization.
async fn parent(org: &Client, ctx: &ReadContext<'_>, id: &str) -> Result<Option<String>, String> {
    let listed = {
        let _permit = ctx.permit().await;
        org.list_parents().child_id(id).send().await
    };
    ctx.finished(&format!("ListParents {id}"));
    match listed {
        // Every child has exactly one parent.
        Ok(out) => out
            .parents()
            .first()
            .and_then(|p| p.id())
            .map(|p| Some(p.to_string()))
            .ok_or_else(|| format!("ListParents {id} returned no parent")),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_child_not_found_exception()) =>
        {
            Ok(None)
        }
        Err(err) => Err(format!("ListParents {id} failed: {}", error_detail(&err))),
    }
}

async fn account(
    org: &Client,
    ctx: &ReadContext<'_>,
    id: &str,
    details: bool,
) -> Result<Vec<Fact>, String> {
    let gone = vec![Fact::AccountGone { id: id.to_string() }];
    let Some(parent_id) = parent(org, ctx, id).await? else {
        return Ok(gone);
    };
    let (mut name, mut status) = (None, None);
    if details {
        let described = {
            let _permit = ctx.permit().await;
            org.describe_account().account_id(id).send().await
        };
        ctx.finished(&format!("DescribeAccount {id}"));
        let described = match described {
            Ok(out) => out,
            Err(err)
                if err
                    .as_service_error()
                    .is_some_and(|e| e.is_account_not_found_exception()) =>
            {
                return Ok(gone);
            }
            Err(err) => {
                return Err(format!(
                    "DescribeAccount {id} failed: {}",
                    error_detail(&err)
                ));
            }
        };
        let account = described
            .account()
            .ok_or_else(|| format!("DescribeAccount {id} returned no account"))?;
        name = Some(account.name().unwrap_or(id).to_string());
        status = Some(
            account_status(account)
                .ok_or_else(|| format!("DescribeAccount {id} returned no state"))?,
        );
    }
    let mut facts = vec![Fact::Account {
        id: id.to_string(),
        parent_id,
        name,
        status,
    }];
    if details {
        // A new account comes with FullAWSAccess attached, and no AttachPolicy event says so.
        facts.extend(attachments(org, ctx, id).await?);
    }
    Ok(facts)
}

async fn organizational_unit(
    org: &Client,
    ctx: &ReadContext<'_>,
    id: &str,
) -> Result<Vec<Fact>, String> {
    let gone = vec![Fact::OrganizationalUnitGone { id: id.to_string() }];
    let described = {
        let _permit = ctx.permit().await;
        org.describe_organizational_unit()
            .organizational_unit_id(id)
            .send()
            .await
    };
    ctx.finished(&format!("DescribeOrganizationalUnit {id}"));
    let described = match described {
        Ok(out) => out,
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_organizational_unit_not_found_exception()) =>
        {
            return Ok(gone);
        }
        Err(err) => {
            return Err(format!(
                "DescribeOrganizationalUnit {id} failed: {}",
                error_detail(&err)
            ));
        }
    };
    let name = described
        .organizational_unit()
        .and_then(|ou| ou.name())
        .unwrap_or(id)
        .to_string();
    let Some(parent_id) = parent(org, ctx, id).await? else {
        return Ok(gone);
    };
    let mut facts = vec![Fact::OrganizationalUnit {
        id: id.to_string(),
        name,
        parent_id,
    }];
    // A new OU comes with FullAWSAccess attached, and no AttachPolicy event says so.
    facts.extend(attachments(org, ctx, id).await?);
    Ok(facts)
}
