//! Fuzz target: the Lambda event decoder (`lambda::event::decode`, feature `aws`) on arbitrary
//! bytes read as JSON: SQS batches of EventBridge events, direct EventBridge events, anything.
//! The decoder must never panic; what it cannot decode it counts.
#![no_main]

use cris_guard::lambda::event;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(payload) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let decoded = event::decode(&payload);
    assert!(decoded.undecodable + decoded.failed_calls <= decoded.records.max(1));
    if !decoded.from_sqs {
        assert_eq!(decoded.records, 1);
    }
    let _ = event::hint(&payload);
});
