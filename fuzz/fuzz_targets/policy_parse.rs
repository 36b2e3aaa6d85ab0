//! Fuzz target: `policy::parse` on arbitrary bytes (UTF-8 lossy), then every parsed statement
//! matched against a few requests, so the compiled matchers (wildcards, ARN parts, condition
//! operators, policy variables) run on whatever the parser accepted.
#![no_main]

use cris_guard::policy;
use cris_guard::request::{Context, MissingKeys, Request};
use libfuzzer_sys::fuzz_target;

fn requests() -> Vec<Request> {
    let mut known = Context::new(MissingKeys::Absent);
    known.set("aws:RequestedRegion", vec!["us-east-2".to_string()]);
    known.set(
        "aws:PrincipalArn",
        vec!["arn:aws:iam::222222222222:role/app".to_string()],
    );
    known.set("aws:PrincipalAccount", vec!["222222222222".to_string()]);
    known.set("aws:TagKeys", vec!["a".to_string(), "b".to_string()]);
    let mut unknown = Context::new(MissingKeys::UnknownCaller);
    unknown.set("aws:RequestedRegion", vec!["unspecified".to_string()]);
    vec![
        Request::new(
            "bedrock:InvokeModel",
            "arn:aws:bedrock:us-east-2::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0",
            known,
        ),
        Request::new(
            "bedrock:InvokeModelWithResponseStream",
            "arn:aws:bedrock:us-east-1:{account}:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0",
            unknown,
        ),
    ]
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = policy::PolicySize::of(&text);
    match policy::parse("p-fuzz0000", "fuzz", &text) {
        Ok(parsed) => {
            for request in requests() {
                for statement in &parsed.statements {
                    let _ = statement.applies(&request);
                    let _ = statement.label();
                }
            }
        }
        Err(err) => {
            // Every error names a JSON path inside the document.
            assert!(err.path.starts_with('$'), "error path {:?}", err.path);
            assert!(!err.message.is_empty());
        }
    }
});
