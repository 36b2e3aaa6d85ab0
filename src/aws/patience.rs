//! How long the live reader waits for AWS: the SDK timeouts (connect, per attempt, per
//! operation) and a retry classifier that gives up early on failures that are not throttling,
//! so an unreachable or silent endpoint fails in bounded time instead of hanging.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use aws_config::timeout::TimeoutConfig;
use aws_smithy_runtime_api::client::interceptors::context::InterceptorContext;
use aws_smithy_runtime_api::client::retries::classifiers::{
    ClassifyRetry, RetryAction, RetryClassifierPriority, RetryReason,
};
use aws_smithy_types::retry::ErrorKind;

/// Waiting limits of every AWS call the reader makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Patience {
    /// Establishing the TCP (and TLS) connection.
    pub connect: Duration,
    /// One HTTP attempt, from sending the request to the end of the response.
    pub attempt: Duration,
    /// One operation, all its retries and backoff included.
    pub operation: Duration,
    /// Attempts in a row that may fail for a reason other than throttling (timeouts, refused
    /// connections, server errors) before an endpoint is given up; at least 1.
    pub attempts: u32,
}

impl Patience {
    /// Organizations and Bedrock answer list calls in well under a second; 15 s per attempt is
    /// generous, and two silent attempts end a call in about 30 s. Throttled calls keep their
    /// backoff (up to eight attempts, [`crate::aws::reader::default_retry_config`]) within two
    /// minutes.
    pub const DEFAULT: Patience = Patience {
        connect: Duration::from_secs(5),
        attempt: Duration::from_secs(15),
        operation: Duration::from_secs(120),
        attempts: 2,
    };

    /// The SDK's form of the three timeouts.
    pub fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.operation)
            .build()
    }

    /// A fresh classifier for one client (one endpoint): clients do not share failure counts.
    pub fn classifier(&self) -> GiveUpOnFailures {
        GiveUpOnFailures {
            budget: self.attempts.max(1),
            failures: Arc::new(AtomicU32::new(0)),
        }
    }
}

impl Default for Patience {
    fn default() -> Self {
        Patience::DEFAULT
    }
}

/// Forbids retrying once an endpoint has failed `budget` attempts in a row for reasons other
/// than throttling. The SDK's retry configuration has one attempt limit for every error; this
/// keeps the long adaptive backoff for throttling (Organizations throttles hard, domain.md §8)
/// while a refused connection or a silent endpoint ends after a couple of attempts. It runs
/// after the SDK's classifiers and sees their verdict. A classifier cannot see which operation
/// an attempt belongs to, so the count is per endpoint: a success resets it.
#[derive(Debug, Clone)]
pub struct GiveUpOnFailures {
    budget: u32,
    failures: Arc<AtomicU32>,
}

impl ClassifyRetry for GiveUpOnFailures {
    fn classify_retry(&self, ctx: &InterceptorContext) -> RetryAction {
        self.classify_retry_v2(ctx, &RetryAction::NoActionIndicated)
    }

    fn classify_retry_v2(&self, ctx: &InterceptorContext, previous: &RetryAction) -> RetryAction {
        if !ctx.is_failed() {
            self.failures.store(0, Ordering::Relaxed);
            return RetryAction::NoActionIndicated;
        }
        let throttled = matches!(
            previous,
            RetryAction::RetryIndicated(RetryReason::RetryableError {
                kind: ErrorKind::ThrottlingError,
                ..
            })
        );
        if throttled || !previous.should_retry() {
            return RetryAction::NoActionIndicated;
        }
        let failed = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
        if failed >= self.budget {
            RetryAction::RetryForbidden
        } else {
            RetryAction::NoActionIndicated
        }
    }

    fn name(&self) -> &'static str {
        "CrisGuardGiveUpOnFailures"
    }

    fn priority(&self) -> RetryClassifierPriority {
        RetryClassifierPriority::run_after(RetryClassifierPriority::transient_error_classifier())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::client::interceptors::context::{Error, Input, Output};
    use aws_smithy_runtime_api::client::orchestrator::OrchestratorError;

    fn failed() -> InterceptorContext {
        let mut ctx = InterceptorContext::new(Input::doesnt_matter());
        ctx.set_output_or_error(Err(OrchestratorError::operation(Error::doesnt_matter())));
        ctx
    }

    fn succeeded() -> InterceptorContext {
        let mut ctx = InterceptorContext::new(Input::doesnt_matter());
        ctx.set_output_or_error(Ok(Output::doesnt_matter()));
        ctx
    }

    #[test]
    fn non_throttling_failures_stop_after_the_budget_and_a_success_resets_it() {
        let classifier = Patience::DEFAULT.classifier();
        let transient = RetryAction::transient_error();
        assert_eq!(
            classifier.classify_retry_v2(&failed(), &transient),
            RetryAction::NoActionIndicated
        );
        assert_eq!(
            classifier.classify_retry_v2(&failed(), &transient),
            RetryAction::RetryForbidden
        );
        classifier.classify_retry_v2(&succeeded(), &RetryAction::NoActionIndicated);
        assert_eq!(
            classifier.classify_retry_v2(&failed(), &RetryAction::server_error()),
            RetryAction::NoActionIndicated
        );
    }

    #[test]
    fn throttling_is_left_to_the_retry_configuration() {
        let classifier = Patience::DEFAULT.classifier();
        for _ in 0..10 {
            assert_eq!(
                classifier.classify_retry_v2(&failed(), &RetryAction::throttling_error()),
                RetryAction::NoActionIndicated
            );
        }
    }
}
