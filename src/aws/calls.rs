//! Counting AWS API calls and retry attempts per operation, with an SDK interceptor shared by
//! every client the live reader builds.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Calls and attempts of one API operation (`attempts - calls` are retries).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OperationStats {
    /// Operations started (one per request the reader made, pages included).
    pub calls: u64,
    /// HTTP attempts, retries included.
    pub attempts: u64,
}

impl OperationStats {
    pub fn retries(&self) -> u64 {
        self.attempts.saturating_sub(self.calls)
    }
}

/// What a read cost, keyed by operation name (`ListRoots`, `ListInferenceProfiles`, …).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallStats {
    pub operations: BTreeMap<String, OperationStats>,
}

impl CallStats {
    pub fn total_calls(&self) -> u64 {
        self.operations.values().map(|s| s.calls).sum()
    }

    pub fn total_retries(&self) -> u64 {
        self.operations.values().map(OperationStats::retries).sum()
    }

    /// Calls of one operation (0 when it was never called).
    pub fn calls(&self, operation: &str) -> u64 {
        self.operations.get(operation).map_or(0, |s| s.calls)
    }

    /// Retries of one operation (0 when it was never called).
    pub fn retries(&self, operation: &str) -> u64 {
        self.operations
            .get(operation)
            .map_or(0, OperationStats::retries)
    }
}

impl fmt::Display for CallStats {
    /// `12 API calls, 1 retry (DescribeOrganization 1, ListRoots 1 (+1 retry), …)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let retries = self.total_retries();
        write!(
            f,
            "{} API calls, {} {}",
            self.total_calls(),
            retries,
            if retries == 1 { "retry" } else { "retries" }
        )?;
        let mut first = true;
        for (name, stats) in &self.operations {
            f.write_str(if first { " (" } else { ", " })?;
            first = false;
            write!(f, "{name} {}", stats.calls)?;
            if stats.retries() > 0 {
                write!(f, " (+{} retried)", stats.retries())?;
            }
        }
        if !first {
            f.write_str(")")?;
        }
        Ok(())
    }
}

/// An interceptor counting executions and attempts per operation; clones share the counts.
#[derive(Debug, Clone, Default)]
pub struct CallCounter {
    counts: Arc<Mutex<BTreeMap<String, OperationStats>>>,
}

impl CallCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// The counts so far.
    pub fn snapshot(&self) -> CallStats {
        CallStats {
            operations: self.lock().clone(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, OperationStats>> {
        // A panic while holding this lock cannot leave the counts inconsistent: keep counting.
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn bump(&self, cfg: &ConfigBag, attempt: bool) {
        let name = cfg
            .load::<Metadata>()
            .map_or("unknown", Metadata::name)
            .to_string();
        let mut counts = self.lock();
        let entry = counts.entry(name).or_default();
        if attempt {
            entry.attempts += 1;
        } else {
            entry.calls += 1;
        }
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CrisGuardCallCounter"
    }

    // Once per execution, and (unlike `read_before_execution` for client interceptors) after
    // the operation's configuration, which holds its name, is in the bag.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.bump(cfg, false);
        Ok(())
    }

    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.bump(cfg, true);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_lists_operations_and_retries() {
        let mut stats = CallStats::default();
        stats.operations.insert(
            "ListRoots".into(),
            OperationStats {
                calls: 1,
                attempts: 2,
            },
        );
        stats.operations.insert(
            "DescribeOrganization".into(),
            OperationStats {
                calls: 1,
                attempts: 1,
            },
        );
        assert_eq!(stats.total_calls(), 2);
        assert_eq!(stats.total_retries(), 1);
        assert_eq!(
            stats.to_string(),
            "2 API calls, 1 retry (DescribeOrganization 1, ListRoots 1 (+1 retried))"
        );
    }
}
