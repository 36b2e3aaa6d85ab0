//! The organization tree: roots, OUs and accounts, the SCPs attached to each, and every
//! target's SCP chain, interned so that identical chains are evaluated once.

use rustc_hash::FxHashMap as HashMap;

use crate::policy::Policy;
use crate::request::leg::Caller;
use crate::snapshot::{Account, ValidSnapshot};

/// The AWS-managed policy AWS attaches to every new account.
pub const FULL_AWS_ACCESS_NAME: &str = "FullAWSAccess";
const FULL_AWS_ACCESS_CONTENT: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

/// A target the report speaks about. `Root` stands for a new account created directly in a
/// root; it is used as a baseline and not reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetRef<'a> {
    Root(&'a str),
    OrganizationalUnit(&'a str),
    Account(&'a str),
}

#[derive(Debug)]
struct Node<'a> {
    name: &'a str,
    parent: Option<&'a str>,
    /// Child OUs and accounts, in name order.
    child_ous: Vec<&'a str>,
    accounts: Vec<&'a str>,
}

/// The organization, ready for evaluation.
#[derive(Debug)]
pub struct Org<'a> {
    snapshot: &'a ValidSnapshot,
    /// Roots and OUs by id.
    containers: HashMap<&'a str, Node<'a>>,
    accounts: HashMap<&'a str, &'a Account>,
    root_ids: Vec<&'a str>,
    policies: Vec<Policy>,
    full_aws_access: usize,
    /// Chain id → levels (policy indices per level, root first).
    chains: Vec<Vec<Vec<usize>>>,
    chain_sensitive: Vec<bool>,
    container_chain: HashMap<&'a str, usize>,
    new_account_chain: HashMap<&'a str, usize>,
    account_chain: HashMap<&'a str, usize>,
    target_index: HashMap<&'a str, usize>,
    organization_wide_gap: Option<String>,
    /// A gap on a policy the snapshot has no record of: it may be attached anywhere, so every
    /// target SCPs apply to is unknown (the management account is not).
    unplaced_policy_gap: Option<String>,
    /// Policies nothing may be decided from, by index: uninterpretable documents and policies
    /// a gap names; what is wrong, to be completed with where the policy is attached.
    policy_gaps: HashMap<usize, String>,
    /// Chain id → whether one of its levels holds a policy of `policy_gaps`.
    chain_policy_gap: Vec<bool>,
}

impl<'a> Org<'a> {
    pub fn new(snapshot: &'a ValidSnapshot) -> Org<'a> {
        let s = &snapshot.snapshot;
        let mut containers: HashMap<&str, Node> = HashMap::default();
        for root in &s.roots {
            containers.insert(
                &root.id,
                Node {
                    name: &root.name,
                    parent: None,
                    child_ous: Vec::new(),
                    accounts: Vec::new(),
                },
            );
        }
        for ou in &s.organizational_units {
            containers.insert(
                &ou.id,
                Node {
                    name: &ou.name,
                    parent: Some(&ou.parent_id),
                    child_ous: Vec::new(),
                    accounts: Vec::new(),
                },
            );
        }
        let mut ous_sorted: Vec<_> = s.organizational_units.iter().collect();
        ous_sorted.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        for ou in ous_sorted {
            if let Some(parent) = containers.get_mut(ou.parent_id.as_str()) {
                parent.child_ous.push(&ou.id);
            }
        }
        let mut accounts_sorted: Vec<_> = s.accounts.iter().collect();
        accounts_sorted.sort_by(|a, b| a.name.cmp(&b.name).then(a.id.cmp(&b.id)));
        let mut accounts = HashMap::default();
        for account in accounts_sorted {
            accounts.insert(account.id.as_str(), account);
            if let Some(parent) = containers.get_mut(account.parent_id.as_str()) {
                parent.accounts.push(&account.id);
            }
        }
        let mut policies = snapshot.policies.clone();
        let full_aws_access = match s.policies.iter().position(|p| {
            p.name == FULL_AWS_ACCESS_NAME && (p.aws_managed || p.id == "p-FullAWSAccess")
        }) {
            Some(index) => index,
            None => {
                // The snapshot does not carry it (a hand-written fixture): AWS's text is fixed.
                if let Ok(policy) = crate::policy::parse(
                    "p-FullAWSAccess",
                    FULL_AWS_ACCESS_NAME,
                    FULL_AWS_ACCESS_CONTENT,
                ) {
                    policies.push(policy);
                }
                policies.len().saturating_sub(1)
            }
        };
        let mut attached: HashMap<&str, Vec<usize>> = HashMap::default();
        for (index, record) in s.policies.iter().enumerate() {
            for target in &record.targets {
                attached.entry(target.as_str()).or_default().push(index);
            }
        }
        for list in attached.values_mut() {
            list.sort_unstable();
            list.dedup();
        }
        let (organization_wide_gap, unplaced_policy_gap, policy_gaps) = policy_gaps(snapshot);
        let mut org = Org {
            snapshot,
            containers,
            accounts,
            root_ids: s.roots.iter().map(|r| r.id.as_str()).collect(),
            policies,
            full_aws_access,
            chains: Vec::new(),
            chain_sensitive: Vec::new(),
            container_chain: HashMap::default(),
            new_account_chain: HashMap::default(),
            account_chain: HashMap::default(),
            target_index: HashMap::default(),
            organization_wide_gap,
            unplaced_policy_gap,
            policy_gaps,
            chain_policy_gap: Vec::new(),
        };
        org.intern_chains(&attached);
        org.chain_policy_gap = org
            .chains
            .iter()
            .map(|levels| {
                levels
                    .iter()
                    .flatten()
                    .any(|p| org.policy_gaps.contains_key(p))
            })
            .collect();
        org
    }

    fn intern_chains(&mut self, attached: &HashMap<&'a str, Vec<usize>>) {
        let s = &self.snapshot.snapshot;
        let mut interned: HashMap<(Option<usize>, Vec<usize>), usize> = HashMap::default();
        // Chain 0 is the empty chain: the management account, or SCPs not enabled.
        let exempt = 0;
        self.chains.push(Vec::new());
        self.chain_sensitive.push(false);
        let mut order: Vec<&'a str> = Vec::new();
        for root in &s.roots {
            self.collect_containers(&root.id, &mut order);
        }
        for id in order {
            let Some(node) = self.containers.get(id) else {
                continue;
            };
            let root_disabled = self.root_of(id).is_some_and(|root| {
                s.roots
                    .iter()
                    .any(|r| r.id == root && r.scp_enabled == Some(false))
            });
            if root_disabled {
                // SCPs not enabled: nothing restricts anyone under this root.
                self.container_chain.insert(id, exempt);
                self.new_account_chain.insert(id, exempt);
                continue;
            }
            let parent_chain = node
                .parent
                .and_then(|p| self.container_chain.get(p).copied());
            let own = attached.get(id).cloned().unwrap_or_default();
            let chain = self.intern(&mut interned, parent_chain, own);
            self.container_chain.insert(id, chain);
            let new_account = self.intern(&mut interned, Some(chain), vec![self.full_aws_access]);
            self.new_account_chain.insert(id, new_account);
        }
        let management = s.organization.management_account_id.as_str();
        for account in &s.accounts {
            let id = account.id.as_str();
            let parent_chain = self
                .container_chain
                .get(account.parent_id.as_str())
                .copied();
            let chain = if id == management || parent_chain == Some(exempt) {
                exempt
            } else {
                let own = attached.get(id).cloned().unwrap_or_default();
                self.intern(&mut interned, parent_chain, own)
            };
            self.account_chain.insert(id, chain);
        }
        for (i, id) in s
            .roots
            .iter()
            .map(|r| r.id.as_str())
            .chain(s.organizational_units.iter().map(|o| o.id.as_str()))
            .chain(s.accounts.iter().map(|a| a.id.as_str()))
            .enumerate()
        {
            self.target_index.insert(id, i);
        }
    }

    /// Interns the chain "parent chain + one level".
    fn intern(
        &mut self,
        interned: &mut HashMap<(Option<usize>, Vec<usize>), usize>,
        parent: Option<usize>,
        own: Vec<usize>,
    ) -> usize {
        let key = (parent, own);
        if let Some(&id) = interned.get(&key) {
            return id;
        }
        let (parent, own) = &key;
        let mut levels = parent
            .and_then(|p| self.chains.get(p).cloned())
            .unwrap_or_default();
        let sensitive = parent
            .and_then(|p| self.chain_sensitive.get(p).copied())
            .unwrap_or(false)
            || own
                .iter()
                .any(|&p| self.policies.get(p).is_some_and(|p| p.account_sensitive));
        levels.push(own.clone());
        let id = self.chains.len();
        self.chains.push(levels);
        self.chain_sensitive.push(sensitive);
        interned.insert(key, id);
        id
    }

    fn collect_containers(&self, id: &'a str, out: &mut Vec<&'a str>) {
        out.push(id);
        if let Some(node) = self.containers.get(id) {
            for child in &node.child_ous {
                self.collect_containers(child, out);
            }
        }
    }

    fn root_of(&self, id: &'a str) -> Option<&'a str> {
        let mut current = id;
        loop {
            let node = self.containers.get(current)?;
            match node.parent {
                Some(parent) => current = parent,
                None => return Some(current),
            }
        }
    }

    /// OUs and accounts in tree order (each OU, its accounts, then its child OUs), limited to
    /// the subtrees of `ous` when given.
    pub fn targets_in_order(&self, ous: &[String]) -> Vec<TargetRef<'a>> {
        let mut out = Vec::new();
        for root in &self.root_ids {
            self.walk(root, ous.is_empty(), ous, &mut out);
        }
        out
    }

    fn walk(&self, id: &'a str, included: bool, ous: &[String], out: &mut Vec<TargetRef<'a>>) {
        let Some(node) = self.containers.get(id) else {
            return;
        };
        let included = included || ous.iter().any(|o| o == id);
        let is_root = node.parent.is_none();
        if included && !is_root {
            out.push(TargetRef::OrganizationalUnit(id));
        }
        if included {
            for account in &node.accounts {
                out.push(TargetRef::Account(account));
            }
        }
        for child in &node.child_ous {
            self.walk(child, included, ous, out);
        }
    }

    pub fn snapshot(&self) -> &'a ValidSnapshot {
        self.snapshot
    }

    pub fn policies(&self) -> &[Policy] {
        &self.policies
    }

    pub fn chain_levels(&self, chain: usize) -> &[Vec<usize>] {
        self.chains.get(chain).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn chain_is_sensitive(&self, chain: usize) -> bool {
        self.chain_sensitive.get(chain).copied().unwrap_or(false)
    }

    /// The chain of a new account created directly in a root or OU.
    pub fn new_account_chain(&self, container: &str) -> usize {
        self.new_account_chain.get(container).copied().unwrap_or(0)
    }

    pub fn account_chain(&self, account: &str) -> usize {
        self.account_chain.get(account).copied().unwrap_or(0)
    }

    /// The chain of a new account in the account's parent.
    pub fn parent_new_account_chain(&self, account: &str) -> Option<usize> {
        let parent = self.accounts.get(account)?.parent_id.as_str();
        self.new_account_chain.get(parent).copied()
    }

    /// The account's parent as a target (an OU, or a root).
    pub fn parent_target(&self, account: &str) -> TargetRef<'a> {
        match self.accounts.get(account) {
            Some(record) => {
                let parent = record.parent_id.as_str();
                if self.root_ids.contains(&parent) {
                    TargetRef::Root(parent)
                } else {
                    TargetRef::OrganizationalUnit(parent)
                }
            }
            None => TargetRef::Account(""),
        }
    }

    /// The parent (root or OU) of an OU or account.
    pub fn parent_of(&self, id: &str) -> Option<&'a str> {
        match self.accounts.get(id) {
            Some(account) => Some(account.parent_id.as_str()),
            None => self.containers.get(id).and_then(|node| node.parent),
        }
    }

    pub fn is_root(&self, id: &str) -> bool {
        self.root_ids.contains(&id)
    }

    /// The OUs directly under a root or OU, in name order.
    pub fn child_ous(&self, id: &str) -> &[&'a str] {
        self.containers
            .get(id)
            .map_or(&[], |node| node.child_ous.as_slice())
    }

    pub fn account(&self, id: &str) -> Option<&'a Account> {
        self.accounts.get(id).copied()
    }

    pub fn is_management(&self, account: &str) -> bool {
        self.snapshot.snapshot.organization.management_account_id == account
    }

    pub fn target_id(&self, target: TargetRef<'a>) -> &'a str {
        match target {
            TargetRef::Root(id) | TargetRef::OrganizationalUnit(id) | TargetRef::Account(id) => id,
        }
    }

    pub fn target_index(&self, target: TargetRef<'a>) -> usize {
        self.target_index
            .get(self.target_id(target))
            .copied()
            .unwrap_or(usize::MAX)
    }

    /// The display name of a root, OU or account id (the id itself when unknown).
    pub fn name_of(&self, id: &str) -> String {
        if let Some(node) = self.containers.get(id) {
            return node.name.to_string();
        }
        match self.accounts.get(id) {
            Some(account) => account.name.clone(),
            None => id.to_string(),
        }
    }

    /// Ids from the root down to the target's container (the target itself for OUs).
    fn container_path(&self, target: TargetRef<'a>) -> Vec<&'a str> {
        let start = match target {
            TargetRef::Root(id) | TargetRef::OrganizationalUnit(id) => Some(id),
            TargetRef::Account(id) => self.accounts.get(id).map(|a| a.parent_id.as_str()),
        };
        let mut path = Vec::new();
        let mut current = start;
        while let Some(id) = current {
            path.push(id);
            current = self.containers.get(id).and_then(|n| n.parent);
            if path.len() > self.containers.len() {
                break;
            }
        }
        path.reverse();
        path
    }

    /// `Root/Sandbox/dev-account`.
    pub fn path(&self, target: TargetRef<'a>) -> String {
        let mut names: Vec<String> = self
            .container_path(target)
            .iter()
            .map(|id| self.name_of(id))
            .collect();
        if let TargetRef::Account(id) = target {
            names.push(self.name_of(id));
        }
        names.join("/")
    }

    /// The target id each level of the target's chain is attached to.
    pub fn level_targets(&self, target: TargetRef<'a>) -> Vec<String> {
        let mut ids: Vec<String> = self
            .container_path(target)
            .iter()
            .map(|s| (*s).to_string())
            .collect();
        match target {
            TargetRef::Account(id) => ids.push(id.to_string()),
            // A new account's own level carries FullAWSAccess; name it by its OU.
            TargetRef::OrganizationalUnit(id) | TargetRef::Root(id) => ids.push(id.to_string()),
        }
        ids
    }

    /// The caller facts of a target.
    pub fn caller(&self, target: TargetRef<'a>) -> Caller {
        let org_id = &self.snapshot.snapshot.organization.id;
        let path: Vec<&str> = self.container_path(target);
        let org_path = format!("{org_id}/{}/", path.join("/"));
        Caller {
            account_id: match target {
                TargetRef::Account(id) => Some(id.to_string()),
                _ => None,
            },
            organization_id: org_id.clone(),
            org_path,
        }
    }

    /// Why the target's findings are unknown: a part of the organization above or at it could
    /// not be read, or its SCP chain holds a policy that could not be read or interpreted.
    pub fn gap_for(&self, target: TargetRef<'a>) -> Option<String> {
        if let Some(gap) = &self.organization_wide_gap {
            return Some(gap.clone());
        }
        let gaps = &self.snapshot.snapshot.gaps;
        if !gaps.is_empty() {
            let mut scopes = self.container_path(target);
            let own = self.target_id(target);
            if !scopes.contains(&own) {
                scopes.push(own);
            }
            if let Some(gap) = gaps.iter().find(|g| scopes.contains(&g.scope.as_str())) {
                return Some(format!(
                    "{} ({}) could not be read: {}",
                    self.name_of(&gap.scope),
                    gap.scope,
                    gap.reason
                ));
            }
        }
        self.chain_gap(target)
    }

    /// The policies of the target's chain nothing may be decided from, with where each is
    /// attached (root first).
    fn chain_gap(&self, target: TargetRef<'a>) -> Option<String> {
        let chain = match target {
            TargetRef::Root(id) | TargetRef::OrganizationalUnit(id) => self.new_account_chain(id),
            TargetRef::Account(id) => self.account_chain(id),
        };
        if let Some(gap) = &self.unplaced_policy_gap
            && !self.chain_levels(chain).is_empty()
        {
            return Some(gap.clone());
        }
        if !self.chain_policy_gap.get(chain).copied().unwrap_or(false) {
            return None;
        }
        let level_targets = self.level_targets(target);
        let mut reasons = Vec::new();
        for (level, policies) in self.chain_levels(chain).iter().enumerate() {
            for index in policies {
                if let Some(reason) = self.policy_gaps.get(index) {
                    let attached = level_targets.get(level).map_or_else(String::new, |id| {
                        format!(", attached to {} ({id}),", self.name_of(id))
                    });
                    reasons.push(reason.replacen("{attached}", &attached, 1));
                }
            }
        }
        (!reasons.is_empty()).then(|| reasons.join("; "))
    }
}

/// The gaps that concern policies: a policy-scoped gap whose policy the snapshot holds (its
/// targets are known), and every uninterpretable document, make only the targets whose chain
/// holds that policy unknown (by policy index; `{attached}` marks where the attachment is
/// named). A gap scoped to a policy the snapshot has no record of (nobody knows where it is
/// attached) makes every target SCPs apply to unknown; one scoped to the organization, every
/// target.
fn policy_gaps(
    snapshot: &ValidSnapshot,
) -> (Option<String>, Option<String>, HashMap<usize, String>) {
    let s = &snapshot.snapshot;
    let mut organization_wide = None;
    let mut unplaced = None;
    let mut by_policy = HashMap::default();
    for gap in &s.gaps {
        if gap.scope == "organization" {
            organization_wide
                .get_or_insert_with(|| format!("{} could not be read: {}", gap.scope, gap.reason));
        } else if crate::ids::is_policy_id(&gap.scope) {
            match s.policies.iter().position(|p| p.id == gap.scope) {
                Some(index) => {
                    let name = s.policies.get(index).map_or("", |p| p.name.as_str());
                    by_policy.entry(index).or_insert_with(|| {
                        format!(
                            "SCP {} ({name}){{attached}} could not be read: {}",
                            gap.scope, gap.reason
                        )
                    });
                }
                None => {
                    unplaced.get_or_insert_with(|| {
                        format!(
                            "SCP {} could not be read ({}) and the snapshot does not say where it is attached, so it may apply to any target",
                            gap.scope, gap.reason
                        )
                    });
                }
            }
        }
    }
    for bad in &snapshot.uninterpretable {
        let name = s.policies.get(bad.index).map_or("", |p| p.name.as_str());
        by_policy.entry(bad.index).or_insert_with(|| {
            format!(
                "cris-guard cannot interpret SCP {} ({name}){{attached}} which AWS accepted: at ${}: {}",
                bad.error.policy_id, bad.error.path, bad.error.message
            )
        });
    }
    (organization_wide, unplaced, by_policy)
}
