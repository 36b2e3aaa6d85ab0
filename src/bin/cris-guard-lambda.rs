//! Lambda entry point: JSON logs, configuration and clients built once, then the guard per
//! invocation (see `cris_guard::lambda`).

use aws_config::BehaviorVersion;
use cris_guard::aws::{sns::SnsSink, state::DynamoStateStore};
use cris_guard::lambda::{Config, Guard, HandlerError, live::ReaderSource};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
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
    let guard = Guard::new(
        ReaderSource::new(&conf, config.source_regions.clone()),
        DynamoStateStore::new(aws_sdk_dynamodb::Client::new(&conf), &config.table_name),
        SnsSink::new(aws_sdk_sns::Client::new(&conf), &config.topic_arn),
        &config,
    );
    let guard = &guard;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        let summary = guard.handle(&event.payload).await.inspect_err(|err: &HandlerError| {
            tracing::error!(code = err.code(), retryable = err.retryable(), error = %err, "invocation failed");
        })?;
        Ok::<Value, HandlerError>(summary.response())
    }))
    .await
}
