//! Reading AWS Organizations into snapshot parts: the organization, its roots, the tree of OUs
//! and accounts, and every SCP with its exact content and targets (targets per policy, the
//! fewest calls). A part that cannot be read becomes a [`Gap`], never a silent omission.

use std::collections::HashSet;

use aws_sdk_organizations::Client;
use aws_sdk_organizations::types::{self, PolicyType, PolicyTypeStatus};
use futures_util::future::join_all;

use crate::aws::paging::{Page, Paged, ReadContext, after_pages, collect_pages, error_detail};
use crate::error::AwsError;
use crate::snapshot::{
    Account, Gap, Organization, OrganizationalUnit, PolicyContent, PolicyRecord, Root,
};

/// The largest page Organizations returns for the list operations used here.
pub(crate) const PAGE_SIZE: i32 = 20;

/// The gap scope meaning "anything in the organization may be affected".
pub const ORGANIZATION_SCOPE: &str = "organization";

/// What must be read for a snapshot to be usable at all.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub organization: Organization,
    pub roots: Vec<Root>,
}

/// OUs and accounts under the roots, with the containers whose children could not be listed.
#[derive(Debug, Default)]
pub(crate) struct Tree {
    pub organizational_units: Vec<OrganizationalUnit>,
    pub accounts: Vec<Account>,
    pub gaps: Vec<Gap>,
}

/// Every SCP that could be read completely, and gaps for the rest.
#[derive(Debug, Default)]
pub(crate) struct Policies {
    pub policies: Vec<PolicyRecord>,
    pub gaps: Vec<Gap>,
}

/// `DescribeOrganization` and `ListRoots`: a failure here is an error (nothing usable).
pub(crate) async fn read_header(
    client: &Client,
    ctx: &ReadContext<'_>,
) -> Result<Header, AwsError> {
    let described = {
        let _permit = ctx.permit().await;
        client.describe_organization().send().await
    };
    ctx.finished("DescribeOrganization");
    let described = described.map_err(|err| AwsError::Organizations {
        operation: "DescribeOrganization",
        message: error_detail(&err),
    })?;
    let org = described
        .organization()
        .ok_or_else(|| AwsError::Organizations {
            operation: "DescribeOrganization",
            message: "the response has no organization".into(),
        })?;
    let organization = Organization {
        id: required(org.id(), "DescribeOrganization", "Organization.Id")?,
        management_account_id: required(
            org.master_account_id(),
            "DescribeOrganization",
            "Organization.MasterAccountId",
        )?,
    };

    let roots = collect_pages(ctx, "ListRoots", async |token| {
        client
            .list_roots()
            .max_results(PAGE_SIZE)
            .set_next_token(token)
            .send()
            .await
            .map(|page| Page::new(page.roots().to_vec(), page.next_token()))
            .map_err(|err| error_detail(&err))
    })
    .await;
    let roots = match roots {
        Paged::Complete(roots) => roots,
        Paged::Failed { reason, .. } => {
            return Err(AwsError::Organizations {
                operation: "ListRoots",
                message: reason,
            });
        }
    };
    let mut out = Vec::with_capacity(roots.len());
    for root in &roots {
        let id = required(root.id(), "ListRoots", "Root.Id")?;
        out.push(Root {
            name: root.name().unwrap_or(&id).to_string(),
            scp_enabled: scp_enabled(root),
            id,
        });
    }
    if out.is_empty() {
        return Err(AwsError::Organizations {
            operation: "ListRoots",
            message: "the organization has no root".into(),
        });
    }
    Ok(Header {
        organization,
        roots: out,
    })
}

fn required(value: Option<&str>, operation: &'static str, field: &str) -> Result<String, AwsError> {
    value
        .map(str::to_string)
        .ok_or_else(|| AwsError::Organizations {
            operation,
            message: format!("the response has no {field}"),
        })
}

/// `Some(true)` when SCPs are enabled on the root, `Some(false)` when the type is absent, and
/// `None` (read as enabled: SCPs are evaluated) while it is pending either way.
fn scp_enabled(root: &types::Root) -> Option<bool> {
    let scp = root
        .policy_types()
        .iter()
        .find(|summary| summary.r#type() == Some(&PolicyType::ServiceControlPolicy));
    match scp.map(types::PolicyTypeSummary::status) {
        None => Some(false),
        Some(Some(PolicyTypeStatus::Enabled)) => Some(true),
        Some(_) => None,
    }
}

/// Walks `ListOrganizationalUnitsForParent` + `ListAccountsForParent` breadth-first from the
/// roots, one level at a time, every container of a level concurrently (bounded by `ctx`).
pub(crate) async fn read_tree(client: &Client, ctx: &ReadContext<'_>, root_ids: &[String]) -> Tree {
    let mut tree = Tree::default();
    let mut seen: HashSet<String> = root_ids.iter().cloned().collect();
    let mut frontier: Vec<String> = root_ids.to_vec();
    while !frontier.is_empty() {
        let levels = join_all(
            frontier
                .iter()
                .map(|parent| list_children(client, ctx, parent)),
        )
        .await;
        frontier = Vec::new();
        for children in levels {
            tree.gaps.extend(children.gaps);
            for ou in children.organizational_units {
                if seen.insert(ou.id.clone()) {
                    frontier.push(ou.id.clone());
                    tree.organizational_units.push(ou);
                } else {
                    tree.gaps.push(Gap {
                        scope: ou.id.clone(),
                        reason: format!(
                            "OU {} was listed under more than one parent (moved during the read?)",
                            ou.id
                        ),
                    });
                }
            }
            for account in children.accounts {
                if seen.insert(account.id.clone()) {
                    tree.accounts.push(account);
                } else {
                    tree.gaps.push(Gap {
                        scope: account.id.clone(),
                        reason: format!(
                            "account {} was listed under more than one parent (moved during the read?)",
                            account.id
                        ),
                    });
                }
            }
        }
    }
    tree
}

async fn list_children(client: &Client, ctx: &ReadContext<'_>, parent: &str) -> Tree {
    let ous_what = format!("ListOrganizationalUnitsForParent {parent}");
    let accounts_what = format!("ListAccountsForParent {parent}");
    let (ous, accounts) = tokio::join!(
        collect_pages(ctx, &ous_what, async |token| {
            client
                .list_organizational_units_for_parent()
                .parent_id(parent)
                .max_results(PAGE_SIZE)
                .set_next_token(token)
                .send()
                .await
                .map(|page| Page::new(page.organizational_units().to_vec(), page.next_token()))
                .map_err(|err| error_detail(&err))
        }),
        collect_pages(ctx, &accounts_what, async |token| {
            client
                .list_accounts_for_parent()
                .parent_id(parent)
                .max_results(PAGE_SIZE)
                .set_next_token(token)
                .send()
                .await
                .map(|page| Page::new(page.accounts().to_vec(), page.next_token()))
                .map_err(|err| error_detail(&err))
        }),
    );
    let mut tree = Tree::default();
    let (ous, ou_gap) = ous.split(parent, "ListOrganizationalUnitsForParent", "OUs");
    let (accounts, account_gap) = accounts.split(parent, "ListAccountsForParent", "accounts");
    tree.gaps.extend(ou_gap);
    tree.gaps.extend(account_gap);
    for ou in ous {
        let Some(id) = ou.id() else {
            tree.gaps.push(Gap {
                scope: parent.to_string(),
                reason: "ListOrganizationalUnitsForParent returned an OU without an id".into(),
            });
            continue;
        };
        tree.organizational_units.push(OrganizationalUnit {
            id: id.to_string(),
            name: ou.name().unwrap_or(id).to_string(),
            parent_id: parent.to_string(),
        });
    }
    for account in accounts {
        let Some(id) = account.id() else {
            tree.gaps.push(Gap {
                scope: parent.to_string(),
                reason: "ListAccountsForParent returned an account without an id".into(),
            });
            continue;
        };
        let status = match account_status(&account) {
            Some(status) => status,
            None => {
                tree.gaps.push(Gap {
                    scope: id.to_string(),
                    reason: format!("ListAccountsForParent returned account {id} without a state"),
                });
                "UNKNOWN".to_string()
            }
        };
        tree.accounts.push(Account {
            id: id.to_string(),
            name: account.name().unwrap_or(id).to_string(),
            parent_id: parent.to_string(),
            status,
        });
    }
    tree
}

/// `State` replaces the deprecated `Status`; both spell ACTIVE the same way.
pub(crate) fn account_status(account: &types::Account) -> Option<String> {
    account
        .state()
        .map(|state| state.as_str().to_string())
        .or_else(|| account.status().map(|status| status.as_str().to_string()))
}

/// `ListPolicies(SERVICE_CONTROL_POLICY)`, then per policy `DescribePolicy` and
/// `ListTargetsForPolicy`, policies concurrently (bounded by `ctx`).
pub(crate) async fn read_policies(client: &Client, ctx: &ReadContext<'_>) -> Policies {
    let listed = collect_pages(ctx, "ListPolicies", async |token| {
        client
            .list_policies()
            .filter(PolicyType::ServiceControlPolicy)
            .max_results(PAGE_SIZE)
            .set_next_token(token)
            .send()
            .await
            .map(|page| Page::new(page.policies().to_vec(), page.next_token()))
            .map_err(|err| error_detail(&err))
    })
    .await;
    let mut out = Policies::default();
    let (summaries, gap) = listed.split(ORGANIZATION_SCOPE, "ListPolicies", "SCPs");
    out.gaps.extend(gap.map(|gap| Gap {
        reason: format!(
            "the list of SCPs is incomplete, so any target may have an unread SCP: {}",
            gap.reason
        ),
        ..gap
    }));
    let read = join_all(
        summaries
            .iter()
            .map(|summary| read_policy(client, ctx, summary)),
    )
    .await;
    for (record, gaps) in read {
        out.policies.extend(record);
        out.gaps.extend(gaps);
    }
    out
}

async fn read_policy(
    client: &Client,
    ctx: &ReadContext<'_>,
    summary: &types::PolicySummary,
) -> (Option<PolicyRecord>, Vec<Gap>) {
    let Some(id) = summary.id() else {
        return (
            None,
            vec![Gap {
                scope: ORGANIZATION_SCOPE.into(),
                reason: "ListPolicies returned an SCP without an id; its targets are unknown"
                    .into(),
            }],
        );
    };
    let describe = async {
        let described = {
            let _permit = ctx.permit().await;
            client.describe_policy().policy_id(id).send().await
        };
        ctx.finished(&format!("DescribePolicy {id}"));
        match described {
            Ok(out) => out
                .policy()
                .and_then(types::Policy::content)
                .map(str::to_string)
                .ok_or_else(|| "DescribePolicy returned no content".to_string()),
            Err(err) => Err(format!("DescribePolicy failed: {}", error_detail(&err))),
        }
    };
    let (content, targets) = tokio::join!(describe, list_targets(client, ctx, id));
    let name = summary.name().unwrap_or(id).to_string();
    let content = content.and_then(|text| check_content(id, &name, text));

    let mut gaps = Vec::new();
    let targets = match targets {
        Paged::Complete(targets) => {
            let ids: Vec<String> = targets
                .iter()
                .filter_map(|t| t.target_id())
                .map(str::to_string)
                .collect();
            if targets.len() != ids.len() {
                gaps.push(Gap {
                    scope: ORGANIZATION_SCOPE.into(),
                    reason: format!("ListTargetsForPolicy {id} returned a target without an id"),
                });
            }
            Some(ids)
        }
        Paged::Failed { reason, pages, .. } => {
            let reason = format!(
                "ListTargetsForPolicy failed{}: {reason}",
                after_pages(pages)
            );
            gaps.push(Gap {
                scope: id.to_string(),
                reason: reason.clone(),
            });
            gaps.push(Gap {
                scope: ORGANIZATION_SCOPE.into(),
                reason: format!("the targets of SCP {id} ({name}) are unknown: {reason}"),
            });
            None
        }
    };
    match (content, targets) {
        (Ok(content), Some(targets)) => {
            let record = PolicyRecord {
                id: id.to_string(),
                name,
                aws_managed: summary.aws_managed(),
                policy_type: "SERVICE_CONTROL_POLICY".into(),
                content: PolicyContent::Text(content),
                targets,
            };
            (Some(record), gaps)
        }
        (Ok(_), None) => (None, gaps),
        (Err(reason), targets) => {
            gaps.push(Gap {
                scope: id.to_string(),
                reason: reason.clone(),
            });
            for target in targets.unwrap_or_default() {
                gaps.push(Gap {
                    scope: target,
                    reason: format!(
                        "SCP {id} ({name}) is attached here but could not be read: {reason}"
                    ),
                });
            }
            (None, gaps)
        }
    }
}

/// Every page of `ListTargetsForPolicy`.
pub(crate) async fn list_targets(
    client: &Client,
    ctx: &ReadContext<'_>,
    id: &str,
) -> Paged<types::PolicyTargetSummary> {
    collect_pages(ctx, &format!("ListTargetsForPolicy {id}"), async |token| {
        client
            .list_targets_for_policy()
            .policy_id(id)
            .max_results(PAGE_SIZE)
            .set_next_token(token)
            .send()
            .await
            .map(|page| Page::new(page.targets().to_vec(), page.next_token()))
            .map_err(|err| error_detail(&err))
    })
    .await
}

/// The checks the snapshot loader makes on a policy body, so one malformed policy becomes a gap
/// instead of making the whole live snapshot invalid. A well-formed body the engine cannot
/// interpret is kept: the loader marks it, and only the targets under it become `unknown`.
pub(crate) fn check_content(id: &str, name: &str, text: String) -> Result<String, String> {
    let content = PolicyContent::Text(text);
    match crate::snapshot::load_policy(id, name, &content) {
        Ok(_) => Ok(content.text()),
        Err(err) => Err(format!(
            "the content is malformed at ${}: {}",
            err.path, err.message
        )),
    }
}
