//! The engine: decides every target × check once per distinct chain (and level content),
//! memoizing verdicts and level results, with checks dealt out to worker threads.

use std::hash::BuildHasher;
use std::rc::Rc;
use std::sync::Arc;

use rustc_hash::{FxBuildHasher, FxHashMap as HashMap, FxHashSet as HashSet};

use crate::evaluation::{self, LevelResult};
use crate::findings::{BlockerKind, Status};
use crate::org::{Org, TargetRef};
use crate::policy::wildcard::Wildcard;
use crate::policy::{ActionMatch, ResourceMatch, Statement};
use crate::request::Request;
use crate::request::leg::{Caller, request_for};

use super::admin::{AdminMemo, admin_patterns};
use super::kinds::checks;
use super::profiles::{Check, Options};
use super::verdict::{AbstractBlocker, Verdict, assemble, same_verdict, unknown_verdict, verdict};

/// An index as stored in [`Decided`]: organizations and check sets are far below `u32::MAX`
/// (AWS caps an organization at a few hundred thousand accounts), so this never saturates.
fn index_u32(index: usize) -> u32 {
    u32::try_from(index).unwrap_or(u32::MAX)
}

/// Worker threads [`Engine::decide`] uses at most (one per core up to this).
const MAX_WORKERS: usize = 8;

/// One reported target × check (16 bytes: a 10,000-account organization has hundreds of
/// thousands, millions with `all_accounts`).
pub(super) struct Decided {
    /// The target's place in report order.
    pub(super) position: u32,
    pub(super) check: u32,
    pub(super) verdict: Arc<Verdict>,
}

/// The per-snapshot evaluation state: compiled checks, interned chains and the result cache.
pub(super) struct Engine<'a> {
    pub(super) org: &'a Org<'a>,
    pub(super) options: &'a Options,
    pub(super) checks: Vec<Check>,
    admins: Vec<Wildcard>,
    /// The distinct actions of each check's legs, lowercased.
    check_actions: Vec<Vec<String>>,
}

/// Statements as (policy, statement) indices.
type Statements = Rc<[(usize, usize)]>;

/// The memo tables of one evaluation run. Work is shared at three grains:
/// - a verdict per chain × check (per caller class, or per target, when the chain is
///   account-sensitive);
/// - a level result per distinct level content (the SCPs attached at one level) × check × leg,
///   shared by every chain that has that level, for levels that cannot depend on the account;
/// - the requests of each check's legs, built once.
///
/// So the policy work grows with distinct level contents × legs, and the per-chain work is
/// combining cached level results.
#[derive(Default)]
struct Memo {
    verdicts: HashMap<(usize, usize, Share), Arc<Verdict>>,
    /// Caller class (see [`caller_class`]) → its id in [`Share::Class`].
    classes: HashMap<String, usize>,
    /// Level content → level-set id.
    level_ids: HashMap<Vec<usize>, usize>,
    /// Level-set id → its policy indices and whether any of them is account-sensitive.
    level_sets: Vec<(Vec<usize>, bool)>,
    /// Chain id → the level-set id of each of its levels.
    chain_sets: HashMap<usize, Rc<[usize]>>,
    /// (level set, check) → the level's result for each leg (account-independent sets only).
    levels: HashMap<(usize, usize), Vec<LevelResult>>,
    /// Check → the requests of its legs, for account-independent levels.
    requests: HashMap<usize, Vec<Request>>,
    admin: AdminMemo,
    /// (level set, check) → whether the level's result for the check can depend on the account.
    set_sensitive: HashMap<(usize, usize), Sensitivity>,
    /// Chain → whether its result for some check can depend on the account.
    chain_sensitive: HashMap<usize, bool>,
    /// (level set, check) → the statements of its account-sensitive policies that the check's
    /// answer can depend on, as (policy, statement) indices: what a caller class reads.
    class_statements: HashMap<(usize, usize), Statements>,
    /// The last target's caller with its id: cells come target by target, and building one
    /// (its OU path) per cell was a tenth of the work.
    caller: Option<(String, Rc<Caller>)>,
    /// (level set, position, check, caller class of the level) → the level's result for each
    /// leg, for account-sensitive sets: targets whose callers its statements cannot tell apart
    /// share it (see [`Engine::level_class`]).
    class_levels: HashMap<(usize, usize, usize, String), Rc<[LevelResult]>>,
    /// Hashes of the `class_levels` keys computed once and not kept.
    class_levels_seen: HashSet<u64>,
}

/// What a statement's answer for `actions` can depend on beyond the chain: nothing when it
/// applies to none of them, else the caller's account when it names a resource or an
/// account-related condition, or only its OU path (`aws:PrincipalOrgPaths`).
pub fn statement_sensitivity(statement: &Statement, actions: &[String]) -> Sensitivity {
    let applies = actions.iter().any(|action| match &statement.action {
        ActionMatch::Action(set) => set.matches(action),
        ActionMatch::NotAction(set) => !set.matches(action),
    });
    if !applies {
        return Sensitivity::None;
    }
    let patterns = match &statement.resource {
        ResourceMatch::Resource(p) | ResourceMatch::NotResource(p) => p,
    };
    let resource = if patterns.iter().any(|p| p.text != "*") {
        Sensitivity::Account
    } else {
        Sensitivity::None
    };
    statement
        .conditions
        .iter()
        .filter(|c| c.account_sensitive())
        .map(|c| {
            let path_only = c.key_lowercase() == "aws:principalorgpaths"
                && !c.values.iter().any(|v| v.contains("${"));
            if path_only {
                Sensitivity::Path
            } else {
                Sensitivity::Account
            }
        })
        .fold(resource, Ord::max)
}

/// How targets share a verdict of one chain × check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Share {
    /// Every target with the chain.
    Chain,
    /// One target (an account, or an OU with its accounts for a path dependence).
    Target(usize),
    /// The accounts of one caller class ([`Memo::classes`]).
    Class(usize),
}

/// Appends to `class` what `statement`'s account-sensitive conditions can tell of `caller`:
/// how each literal `aws:PrincipalAccount` / `aws:ResourceAccount` value matches the account,
/// and each literal `aws:PrincipalOrgPaths` value the OU path, under the clause's own operator
/// (set qualifiers, `IfExists` and negation included). Callers with the same class answer those
/// conditions alike, so the accounts of every OU outside a path guard's OU share one class.
/// `false` when another condition (a policy variable, an ARN that pins an account) can tell
/// them apart.
pub(crate) fn caller_class(statement: &Statement, caller: &Caller, class: &mut String) -> bool {
    for clause in statement
        .conditions
        .iter()
        .filter(|c| c.account_sensitive())
    {
        // The request's only value of these keys is the caller's account or path.
        let value = match clause.key_lowercase() {
            "aws:principalaccount" | "aws:resourceaccount" => caller.account(),
            "aws:principalorgpaths" => caller.org_path.as_str(),
            _ => return false,
        };
        if !clause.match_class(value, class) {
            return false;
        }
    }
    true
}

/// What, beyond its chain, a level's (or chain's) result for a check can depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Sensitivity {
    /// Nothing: shared by every target with the chain.
    None,
    /// The caller's OU path (`aws:PrincipalOrgPaths`): shared by an OU and its accounts.
    Path,
    /// The caller's account.
    Account,
}

impl<'a> Engine<'a> {
    pub(super) fn new(org: &'a Org<'a>, options: &'a Options) -> Engine<'a> {
        let checks = checks(org.snapshot(), options);
        let check_actions = checks
            .iter()
            .map(|check| {
                let mut actions: Vec<String> = check
                    .legs
                    .iter()
                    .map(|leg| leg.action.to_ascii_lowercase())
                    .collect();
                actions.sort_unstable();
                actions.dedup();
                actions
            })
            .collect();
        Engine {
            org,
            options,
            checks,
            admins: admin_patterns(&options.admin_principals),
            check_actions,
        }
    }

    /// Whether a level's result for a check can depend on the caller's account or OU path:
    /// some account-sensitive policy there has a statement that can match one of the check's
    /// actions (actions are fixed per leg, so other statements never apply whatever the account)
    /// and that names a resource or an account- or path-related condition. Finer than
    /// [`crate::policy::Policy::account_sensitive`]: the Control Tower guardrail is account-sensitive through
    /// an S3 statement that never applies to Bedrock.
    fn set_sensitive_for(&self, memo: &mut Memo, set: usize, check_index: usize) -> Sensitivity {
        let Some((content, true)) = memo.level_sets.get(set) else {
            return Sensitivity::None;
        };
        if let Some(&known) = memo.set_sensitive.get(&(set, check_index)) {
            return known;
        }
        let actions = self
            .check_actions
            .get(check_index)
            .map_or(&[][..], Vec::as_slice);
        let policies = self.org.policies();
        let sensitive = content
            .iter()
            .filter_map(|&p| policies.get(p))
            .filter(|p| p.account_sensitive)
            .flat_map(|p| &p.statements)
            .map(|statement| statement_sensitivity(statement, actions))
            .fold(Sensitivity::None, Ord::max);
        memo.set_sensitive.insert((set, check_index), sensitive);
        sensitive
    }

    /// What a chain's result for this check can depend on beyond the chain.
    fn chain_sensitive_for(
        &self,
        memo: &mut Memo,
        chain: usize,
        check_index: usize,
    ) -> Sensitivity {
        if !self.org.chain_is_sensitive(chain) {
            return Sensitivity::None;
        }
        let sets = self.chain_sets(memo, chain);
        sets.iter()
            .map(|&set| self.set_sensitive_for(memo, set, check_index))
            .fold(Sensitivity::None, Ord::max)
    }

    /// Whether a chain's result for some check can depend on the caller's account (a path
    /// dependence is shared with the account's OU).
    fn chain_sensitive_any(&self, memo: &mut Memo, chain: usize) -> bool {
        if !self.org.chain_is_sensitive(chain) {
            return false;
        }
        if let Some(&known) = memo.chain_sensitive.get(&chain) {
            return known;
        }
        let sensitive = (0..self.checks.len())
            .any(|c| self.chain_sensitive_for(memo, chain, c) == Sensitivity::Account);
        memo.chain_sensitive.insert(chain, sensitive);
        sensitive
    }

    /// The verdict of every reported target × check, in report order (reachable ones dropped
    /// under `only_problems`). Checks are dealt out to one worker thread per core, each with
    /// its own memo: checks share no verdicts, so the split costs only the level results both
    /// workers compute, and the result does not depend on the number of workers.
    pub(super) fn decide(&self, targets: &[TargetRef<'a>]) -> Vec<Decided> {
        let workers = self.workers();
        if workers == 1 {
            return self.decide_share(targets, 0, 1);
        }
        // Share 0 is decided on this thread: its memory comes back to the allocator the
        // findings are built from afterwards, instead of staying in a finished thread's arena.
        let shares: Vec<Vec<Decided>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (1..workers)
                .map(|worker| {
                    (
                        worker,
                        scope.spawn(move || self.decide_share(targets, worker, workers)),
                    )
                })
                .collect();
            let mut shares = vec![self.decide_share(targets, 0, workers)];
            // A worker that died is redone here: same inputs, same answer.
            shares.extend(handles.into_iter().map(|(worker, handle)| {
                handle
                    .join()
                    .unwrap_or_else(|_| self.decide_share(targets, worker, workers))
            }));
            shares
        });
        let mut items = Vec::with_capacity(shares.iter().map(Vec::len).sum());
        for share in shares {
            items.extend(share);
        }
        items.sort_unstable_by_key(|item| (item.position, item.check));
        items
    }

    /// Worker threads: one per core up to [`MAX_WORKERS`], no more than there are checks.
    fn workers(&self) -> usize {
        std::thread::available_parallelism()
            .map_or(1, usize::from)
            .clamp(1, MAX_WORKERS)
            .min(self.checks.len().max(1))
    }

    /// Lists a decision unless `only_problems` drops it.
    fn keep(&self, items: &mut Vec<Decided>, position: usize, check: usize, verdict: Arc<Verdict>) {
        if !(self.options.only_problems && verdict.status == Status::Reachable) {
            items.push(Decided {
                position: index_u32(position),
                check: index_u32(check),
                verdict,
            });
        }
    }

    /// [`Engine::decide`] for the checks whose index is `worker` modulo `workers`.
    fn decide_share(
        &self,
        targets: &[TargetRef<'a>],
        worker: usize,
        workers: usize,
    ) -> Vec<Decided> {
        let mut memo = Memo::default();
        let mut items = Vec::new();
        let mine = |&(c, _): &(usize, &Check)| c % workers == worker;
        for (position, &target) in targets.iter().enumerate() {
            match target {
                TargetRef::Root(_) => {}
                TargetRef::OrganizationalUnit(ou) => {
                    let chain = self.org.new_account_chain(ou);
                    for (c, check) in self.checks.iter().enumerate().filter(mine) {
                        let verdict = self.cached(&mut memo, chain, c, check, target);
                        self.keep(&mut items, position, c, verdict);
                    }
                }
                TargetRef::Account(account) => {
                    let record = self.org.account(account);
                    let active = record.is_some_and(|a| a.status == "ACTIVE");
                    let chain = self.org.account_chain(account);
                    let baseline = self.org.parent_new_account_chain(account);
                    let same_chain = baseline == Some(chain)
                        && !self.org.is_management(account)
                        && !self.chain_sensitive_any(&mut memo, chain);
                    if !self.options.all_accounts
                        && active
                        && same_chain
                        && self.org.gap_for(target).is_none()
                    {
                        continue;
                    }
                    for (c, check) in self.checks.iter().enumerate().filter(mine) {
                        let verdict = if active {
                            self.cached(&mut memo, chain, c, check, target)
                        } else {
                            inactive_verdict(check)
                        };
                        if !self.options.all_accounts && active && !self.org.is_management(account)
                        {
                            // Listed only where the result differs from a new account's in the OU.
                            if let Some(base) = baseline {
                                let parent = self.org.parent_target(account);
                                let base_verdict = self.cached(&mut memo, base, c, check, parent);
                                if Arc::ptr_eq(&base_verdict, &verdict)
                                    || same_verdict(&base_verdict, &verdict)
                                {
                                    continue;
                                }
                            }
                        }
                        self.keep(&mut items, position, c, verdict);
                    }
                }
            }
        }
        items
    }

    /// The verdicts of arbitrary target × check cells (targets the report does not list, for
    /// expectations; the cells a proof reads), in order; a check index out of range gives
    /// `None`. Dealt out to workers by check, as [`Engine::decide`] does.
    pub(super) fn verdicts_for(
        &self,
        cells: &[(TargetRef<'a>, usize)],
    ) -> Vec<Option<Arc<Verdict>>> {
        let workers = self.workers();
        let mut out: Vec<Option<Arc<Verdict>>> = vec![None; cells.len()];
        let shares: Vec<Vec<(usize, Arc<Verdict>)>> = if workers == 1 {
            vec![self.verdicts_share(cells, 0, 1)]
        } else {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (1..workers)
                    .map(|worker| {
                        (
                            worker,
                            scope.spawn(move || self.verdicts_share(cells, worker, workers)),
                        )
                    })
                    .collect();
                let mut shares = vec![self.verdicts_share(cells, 0, workers)];
                // A worker that died is redone here: same inputs, same answer.
                shares.extend(handles.into_iter().map(|(worker, handle)| {
                    handle
                        .join()
                        .unwrap_or_else(|_| self.verdicts_share(cells, worker, workers))
                }));
                shares
            })
        };
        for (index, verdict) in shares.into_iter().flatten() {
            if let Some(slot) = out.get_mut(index) {
                *slot = Some(verdict);
            }
        }
        out
    }

    /// [`Engine::verdicts_for`] for the cells whose check index is `worker` modulo `workers`.
    fn verdicts_share(
        &self,
        cells: &[(TargetRef<'a>, usize)],
        worker: usize,
        workers: usize,
    ) -> Vec<(usize, Arc<Verdict>)> {
        let mut memo = Memo::default();
        cells
            .iter()
            .enumerate()
            .filter(|&(_, &(_, c))| c % workers == worker)
            .filter_map(|(index, &(target, c))| {
                let check = self.checks.get(c)?;
                let verdict = match target {
                    TargetRef::Root(id) | TargetRef::OrganizationalUnit(id) => {
                        self.cached(&mut memo, self.org.new_account_chain(id), c, check, target)
                    }
                    TargetRef::Account(account) => {
                        if self
                            .org
                            .account(account)
                            .is_some_and(|a| a.status == "ACTIVE")
                        {
                            let chain = self.org.account_chain(account);
                            self.cached(&mut memo, chain, c, check, target)
                        } else {
                            inactive_verdict(check)
                        }
                    }
                };
                Some((index, verdict))
            })
            .collect()
    }

    fn cached(
        &self,
        memo: &mut Memo,
        chain: usize,
        check_index: usize,
        check: &Check,
        target: TargetRef<'a>,
    ) -> Arc<Verdict> {
        if let Some(gap) = self.org.gap_for(target) {
            return Arc::new(unknown_verdict(gap));
        }
        let share = match self.chain_sensitive_for(memo, chain, check_index) {
            Sensitivity::None => Share::Chain,
            // Every account directly in an OU has the OU's path: keyed by the container.
            Sensitivity::Path => Share::Target(match target {
                TargetRef::Account(account) => {
                    self.org.target_index(self.org.parent_target(account))
                }
                TargetRef::Root(_) | TargetRef::OrganizationalUnit(_) => {
                    self.org.target_index(target)
                }
            }),
            Sensitivity::Account => match self.caller_class(memo, chain, check_index, target) {
                Some(class) => {
                    let next = memo.classes.len();
                    Share::Class(*memo.classes.entry(class).or_insert(next))
                }
                None => Share::Target(self.org.target_index(target)),
            },
        };
        let key = (chain, check_index, share);
        if let Some(verdict) = memo.verdicts.get(&key) {
            return Arc::clone(verdict);
        }
        let verdict = Arc::new(self.compute(memo, chain, check_index, check, target));
        memo.verdicts.insert(key, Arc::clone(&verdict));
        verdict
    }

    /// For an account on an account-sensitive chain: what its account-sensitive statements for
    /// this check can tell of it, so accounts of one class share a verdict (computed for the
    /// first of them). 10,000 accounts under an `aws:PrincipalAccount` list fall into a class per
    /// listed account and one for the rest (and per OU path where paths matter), not one
    /// evaluation each. `None`: per target (an OU's new-account row, a statement whose resource
    /// or condition pins accounts another way).
    fn caller_class(
        &self,
        memo: &mut Memo,
        chain: usize,
        check_index: usize,
        target: TargetRef<'a>,
    ) -> Option<String> {
        let TargetRef::Account(_) = target else {
            return None;
        };
        let caller = self.caller(memo, target);
        let mut class = String::new();
        for &set in self.chain_sets(memo, chain).iter() {
            if !self.level_class(memo, set, check_index, &caller, &mut class) {
                return None;
            }
        }
        Some(class)
    }

    /// Appends to `class` what a level's account-sensitive statements for a check can tell of
    /// `caller` (see [`caller_class`]): callers of one class get the same level result. `false`
    /// when a statement pins accounts another way (its resource, a variable, an ARN key).
    fn level_class(
        &self,
        memo: &mut Memo,
        set: usize,
        check_index: usize,
        caller: &Caller,
        class: &mut String,
    ) -> bool {
        let policies = self.org.policies();
        let found = self.class_statements(memo, set, check_index);
        found
            .iter()
            .filter_map(|&(p, s)| policies.get(p)?.statements.get(s))
            .all(|statement| {
                !statement.resource_pins_accounts() && caller_class(statement, caller, class)
            })
    }

    /// The statements of a level set's account-sensitive policies a check's answer can depend
    /// on (none for a set without such policies), found once per set × check.
    fn class_statements(&self, memo: &mut Memo, set: usize, check_index: usize) -> Statements {
        if let Some(found) = memo.class_statements.get(&(set, check_index)) {
            return Rc::clone(found);
        }
        let actions = self
            .check_actions
            .get(check_index)
            .map_or(&[][..], Vec::as_slice);
        let policies = self.org.policies();
        let found: Statements = match memo.level_sets.get(set) {
            Some((content, true)) => content
                .iter()
                .filter_map(|&p| Some((p, policies.get(p)?)))
                .filter(|(_, policy)| policy.account_sensitive)
                .flat_map(|(p, policy)| {
                    policy
                        .statements
                        .iter()
                        .enumerate()
                        .filter(|(_, s)| statement_sensitivity(s, actions) != Sensitivity::None)
                        .map(move |(s, _)| (p, s))
                })
                .collect(),
            _ => Rc::from([]),
        };
        memo.class_statements
            .insert((set, check_index), Rc::clone(&found));
        found
    }

    /// The caller `target` stands for, built once per run of cells of the same target.
    fn caller(&self, memo: &mut Memo, target: TargetRef<'a>) -> Rc<Caller> {
        let id = self.org.target_id(target);
        match &memo.caller {
            Some((last, caller)) if last == id => Rc::clone(caller),
            _ => {
                let caller = Rc::new(self.org.caller(target));
                memo.caller = Some((id.to_string(), Rc::clone(&caller)));
                caller
            }
        }
    }

    /// The same as [`verdict`] for the target's caller, from memoized level results where a
    /// level cannot depend on the account.
    fn compute(
        &self,
        memo: &mut Memo,
        chain: usize,
        check_index: usize,
        check: &Check,
        target: TargetRef<'a>,
    ) -> Verdict {
        if let Some(reason) = &check.missing {
            return unknown_verdict(reason.clone());
        }
        let policies = self.org.policies();
        let sets = self.chain_sets(memo, chain);
        let mut caller: Option<Rc<Caller>> = None;
        // Account-independent levels: computed once per level content × check.
        let sensitive: Vec<usize> = sets
            .iter()
            .enumerate()
            .filter(|&(_, &set)| {
                self.set_sensitive_for(memo, set, check_index) != Sensitivity::None
            })
            .map(|(position, _)| position)
            .collect();
        for (position, &set) in sets.iter().enumerate() {
            if sensitive.contains(&position) || memo.levels.contains_key(&(set, check_index)) {
                continue;
            }
            if !memo.requests.contains_key(&check_index) {
                let caller = caller.get_or_insert_with(|| self.caller(memo, target));
                let built = check
                    .legs
                    .iter()
                    .map(|leg| request_for(leg, caller))
                    .collect();
                memo.requests.insert(check_index, built);
            }
            let (Some((content, _)), Some(requests)) =
                (memo.level_sets.get(set), memo.requests.get(&check_index))
            else {
                continue;
            };
            let results = requests
                .iter()
                .map(|request| {
                    let mut result = evaluation::evaluate_level(0, content, policies, request);
                    // Kept for the whole run: no spare capacity.
                    result.matched.shrink_to_fit();
                    result
                })
                .collect();
            memo.levels.insert((set, check_index), results);
        }
        // Account-sensitive levels: per caller class of the level where its statements tell
        // one (the OUs under a path guard fall into two), else for this target's own requests.
        let mut own: Vec<Rc<[LevelResult]>> = Vec::with_capacity(sensitive.len());
        if !sensitive.is_empty() {
            let caller = Rc::clone(caller.get_or_insert_with(|| self.caller(memo, target)));
            let mut requests: Option<Vec<Request>> = None;
            for &position in &sensitive {
                let Some(&set) = sets.get(position) else {
                    continue;
                };
                let mut class = String::new();
                let key = self
                    .level_class(memo, set, check_index, &caller, &mut class)
                    .then_some((set, position, check_index, class));
                if let Some(results) = key.as_ref().and_then(|k| memo.class_levels.get(k)) {
                    own.push(Rc::clone(results));
                    continue;
                }
                // Kept from the second time a key comes up: most OUs' own levels come up once
                // per check, and keeping those cost 20 MB at 10,000 accounts.
                let keep = key
                    .as_ref()
                    .is_some_and(|k| !memo.class_levels_seen.insert(FxBuildHasher.hash_one(k)));
                let requests = requests.get_or_insert_with(|| {
                    check
                        .legs
                        .iter()
                        .map(|leg| request_for(leg, &caller))
                        .collect()
                });
                let content = memo
                    .level_sets
                    .get(set)
                    .map_or(&[][..], |(content, _)| content.as_slice());
                let results: Rc<[LevelResult]> = requests
                    .iter()
                    .map(|request| {
                        let mut result =
                            evaluation::evaluate_level(position, content, policies, request);
                        if keep {
                            // Kept for the whole run: no spare capacity.
                            result.matched.shrink_to_fit();
                        }
                        result
                    })
                    .collect();
                if let Some(key) = key.filter(|_| keep) {
                    memo.class_levels.insert(key, Rc::clone(&results));
                }
                own.push(results);
            }
        }
        let caller = match caller {
            Some(caller) => caller,
            None => self.caller(memo, target),
        };
        let Memo { levels, admin, .. } = memo;
        let mut legs: Vec<Vec<&LevelResult>> = Vec::with_capacity(check.legs.len());
        for leg in 0..check.legs.len() {
            let mut row = Vec::with_capacity(sets.len());
            let mut own_levels = own.iter();
            for (position, &set) in sets.iter().enumerate() {
                let result = if sensitive.contains(&position) {
                    own_levels.next().and_then(|results| results.get(leg))
                } else {
                    levels.get(&(set, check_index)).and_then(|r| r.get(leg))
                };
                match result {
                    Some(result) => row.push(result),
                    // Unreachable by construction; the plain computation is always right.
                    None => {
                        return verdict(
                            check,
                            self.org.chain_levels(chain),
                            policies,
                            &self.org.caller(target),
                            &self.admins,
                        );
                    }
                }
            }
            legs.push(row);
        }
        assemble(check, &legs, policies, &self.admins, &caller, admin)
    }

    /// The level-set ids of a chain's levels.
    fn chain_sets(&self, memo: &mut Memo, chain: usize) -> Rc<[usize]> {
        if let Some(sets) = memo.chain_sets.get(&chain) {
            return Rc::clone(sets);
        }
        let policies = self.org.policies();
        let sets: Rc<[usize]> = self
            .org
            .chain_levels(chain)
            .iter()
            .map(|level| {
                if let Some(&id) = memo.level_ids.get(level) {
                    return id;
                }
                let id = memo.level_sets.len();
                let sensitive = level
                    .iter()
                    .any(|&p| policies.get(p).is_some_and(|p| p.account_sensitive));
                memo.level_sets.push((level.clone(), sensitive));
                memo.level_ids.insert(level.clone(), id);
                id
            })
            .collect();
        memo.chain_sets.insert(chain, Rc::clone(&sets));
        sets
    }
}

/// An account that is not `ACTIVE` cannot call anything.
fn inactive_verdict(check: &Check) -> Arc<Verdict> {
    Arc::new(Verdict {
        status: Status::Blocked,
        blockers: vec![AbstractBlocker {
            leg: 0,
            level: None,
            policy: None,
            statement: None,
            kind: BlockerKind::AccountNotActive,
        }],
        conditions: Vec::new(),
        reason: None,
        requests: check.legs.len(),
    })
}
