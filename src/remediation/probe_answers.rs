//! Probe answers of the unchanged organization, computed once and shared by every plan's
//! proof (kept apart from `verify` so the shared context can hold them without a cycle).

use std::collections::HashMap;

use crate::findings::Status;

/// The answers of the organization before any change, shared by every verification.
#[derive(Default)]
pub(crate) struct BeforeProbes {
    pub(super) ids: HashMap<String, usize>,
    pub(super) cache: ProbeCache,
}

impl BeforeProbes {
    pub(super) fn id_of(&mut self, label: &str) -> usize {
        let next = self.ids.len();
        *self.ids.entry(label.to_string()).or_insert(next)
    }
}

/// Probe answers of one organization per chain × probe where the chain cannot tell callers
/// apart for that probe, and which chain × probe pairs can.
#[derive(Default)]
pub(super) struct ProbeCache {
    pub(super) status: HashMap<(usize, usize), Status>,
    pub(super) sensitive: HashMap<(usize, usize), bool>,
}
