//! Lambda entry point: JSON logs, configuration and clients built once, then the guard per
//! invocation (see `cris_guard::lambda` and `cris_guard::guard`).

// The handler's future nests the SDK's read futures (Organizations paging, Bedrock per Region)
// deeper than rustc's default layout depth of 128.
#![recursion_limit = "256"]

use aws_config::BehaviorVersion;
use cris_guard::aws::{
    sns::SnsSink, source::ReaderSource, state::DynamoStateStore, stored::S3Objects,
};
use cris_guard::guard::GuardError;
use cris_guard::lambda::{self, Config};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

// The guard allocates and frees millions of small strings per run (findings, their keys and
// text): with mimalloc one event at 10,000 accounts took about 0.9 s instead of 1.3 s in
// `cargo bench --bench guard`. The template sets `MIMALLOC_PURGE_DELAY` so freed memory goes
// back to the system soon, which keeps the peak below glibc's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    let started = std::time::Instant::now();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .without_time()
        .with_target(false)
        .init();

    // A configuration error stops the cold start with a message naming the variable.
    let config = Config::from_env()
        .inspect_err(|err| tracing::error!(error = %err, "invalid configuration"))?;
    let conf = aws_config::defaults(BehaviorVersion::latest()).load().await;
    let objects = config
        .bucket
        .as_ref()
        .map(|bucket| S3Objects::new(aws_sdk_s3::Client::new(&conf), bucket));
    let mut guard = config
        .guard(
            ReaderSource::new(&conf, config.source_regions.clone())
                .with_other_kinds(config.guardrail_profiles, config.marketplace_models),
            DynamoStateStore::new(aws_sdk_dynamodb::Client::new(&conf), &config.table_name),
            SnsSink::new(aws_sdk_sns::Client::new(&conf), &config.topic_arn),
        )
        .with_snapshots(objects.clone());
    // Expectations that cannot be read or parsed stop the cold start (every invocation fails,
    // the errors alarm fires): never a silent pass.
    if let (Some(objects), Some(key)) = (&objects, &config.expectations_key) {
        let source = format!("s3://{}/{key}", objects.bucket());
        let bytes = objects
            .get(key)
            .await
            .and_then(|found| {
                found.ok_or_else(|| cris_guard::guard::StoreError {
                    message: format!("{source} does not exist"),
                })
            })
            .inspect_err(|err| tracing::error!(error = %err, "reading the expectations failed"))?;
        let file = cris_guard::expectations::parse(&source, &bytes)
            .inspect_err(|err| tracing::error!(error = %err, "invalid expectations"))?;
        tracing::info!(expectations = file.expectations.len(), %source, "alerting on violated expectations only");
        guard = guard.with_expectations(source, file);
    }
    // Timings for cold-start measurements (`scripts/cold-start`); CloudWatch's REPORT line
    // has the platform's own figures.
    tracing::info!(
        init_ms = started.elapsed().as_millis() as u64,
        "initialized"
    );
    let guard = &guard;
    let invocations = &std::sync::atomic::AtomicU64::new(0);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let start = std::time::Instant::now();
        let invocation = invocations.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        let result = lambda::handle(guard, &event.payload).await;
        tracing::info!(
            invocation,
            duration_ms = start.elapsed().as_millis() as u64,
            since_start_ms = started.elapsed().as_millis() as u64,
            "invocation done"
        );
        let summary = result.inspect_err(|err: &GuardError| {
            tracing::error!(code = err.code(), retryable = err.retryable(), error = %err, "invocation failed");
        })?;
        // Time per phase (read, evaluate, messages, ...): what sizing the function goes by.
        tracing::info!(
            phases_ms = %serde_json::to_string(&summary.run.phases_ms).unwrap_or_default(),
            findings = summary.run.findings,
            changes = summary.run.changes,
            "run summary"
        );
        Ok::<Value, GuardError>(summary.response())
    }))
    .await
}
