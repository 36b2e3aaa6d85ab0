//! What every list operation of the live reader shares: the concurrency limit and the call
//! count of one read ([`ReadContext`], reported through [`Progress`]), following `nextToken` to
//! the end ([`collect_pages`]), and the wording of AWS errors and of listings cut short.

use std::sync::atomic::{AtomicUsize, Ordering};

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::snapshot::Gap;

/// Told after every API call (pages included) how many calls are done and what the last was.
pub trait Progress: Send + Sync {
    fn update(&self, done: usize, what: &str);
}

/// Progress that shows nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn update(&self, _done: usize, _what: &str) {}
}

/// Shared by the parts of one read: the concurrency limit and the progress counter.
pub(crate) struct ReadContext<'a> {
    limiter: Semaphore,
    progress: &'a dyn Progress,
    done: &'a AtomicUsize,
}

impl<'a> ReadContext<'a> {
    pub(crate) fn new(
        max_concurrency: usize,
        progress: &'a dyn Progress,
        done: &'a AtomicUsize,
    ) -> Self {
        ReadContext {
            limiter: Semaphore::new(max_concurrency.max(1)),
            progress,
            done,
        }
    }

    /// Waits for a slot; hold the permit for the duration of one request.
    pub(crate) async fn permit(&self) -> Option<SemaphorePermit<'_>> {
        // The semaphore is never closed, so this is always a permit.
        self.limiter.acquire().await.ok()
    }

    /// One request finished.
    pub(crate) fn finished(&self, what: &str) {
        let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
        self.progress.update(done, what);
    }
}

/// One page of a list operation.
pub(crate) struct Page<T> {
    items: Vec<T>,
    next_token: Option<String>,
}

impl<T> Page<T> {
    pub(crate) fn new(items: Vec<T>, next_token: Option<&str>) -> Self {
        Page {
            items,
            next_token: next_token.filter(|t| !t.is_empty()).map(str::to_string),
        }
    }
}

/// All pages, or the pages before a failure with the reason.
pub(crate) enum Paged<T> {
    Complete(Vec<T>),
    Failed {
        items: Vec<T>,
        pages: usize,
        reason: String,
    },
}

impl<T> Paged<T> {
    /// The items, and a gap on `scope` when the listing stopped early (the items read before
    /// the failure are kept: they are facts, and the gap says the list is incomplete).
    pub(crate) fn split(self, scope: &str, operation: &str, noun: &str) -> (Vec<T>, Option<Gap>) {
        match self {
            Paged::Complete(items) => (items, None),
            Paged::Failed {
                items,
                pages,
                reason,
            } => {
                let kept = if items.is_empty() {
                    String::new()
                } else {
                    format!(" ({} {noun} read and kept)", items.len())
                };
                let reason = format!(
                    "{operation} {scope} failed{}{kept}: {reason}",
                    after_pages(pages)
                );
                (
                    items,
                    Some(Gap {
                        scope: scope.to_string(),
                        reason,
                    }),
                )
            }
        }
    }
}

/// Follows `nextToken` to the end, one permit per request. A repeated token ends the listing
/// as a failure rather than looping forever.
pub(crate) async fn collect_pages<T>(
    ctx: &ReadContext<'_>,
    what: &str,
    mut fetch: impl AsyncFnMut(Option<String>) -> Result<Page<T>, String>,
) -> Paged<T> {
    let mut items = Vec::new();
    let mut token: Option<String> = None;
    let mut pages = 0usize;
    loop {
        let result = {
            let _permit = ctx.permit().await;
            fetch(token.clone()).await
        };
        ctx.finished(what);
        match result {
            Err(reason) => {
                return Paged::Failed {
                    items,
                    pages,
                    reason,
                };
            }
            Ok(page) => {
                pages += 1;
                items.extend(page.items);
                match page.next_token {
                    None => return Paged::Complete(items),
                    Some(next) if token.as_deref() == Some(next.as_str()) => {
                        return Paged::Failed {
                            items,
                            pages,
                            reason: format!(
                                "the service returned the same next token twice ({next})"
                            ),
                        };
                    }
                    Some(next) => token = Some(next),
                }
            }
        }
    }
}

/// `AccessDeniedException: You don't have permissions …`; for other failures (an unparsable
/// answer, a timeout, DNS) the HTTP status when there is one and the chain of error messages,
/// without the raw response.
pub(crate) fn error_detail<E>(err: &SdkError<E, HttpResponse>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match err {
        SdkError::ServiceError(service) => {
            let inner = service.err();
            match (inner.code(), inner.message()) {
                (Some(code), Some(message)) => format!("{code}: {message}"),
                (Some(code), None) => code.to_string(),
                _ => format!(
                    "HTTP {}: {}",
                    service.raw().status().as_u16(),
                    error_chain(inner)
                ),
            }
        }
        _ => error_chain(err),
    }
}

/// `outer: cause: root cause`, each message once.
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut current = Some(err);
    while let Some(e) = current {
        let text = e.to_string();
        if parts.last() != Some(&text) {
            parts.push(text);
        }
        current = e.source();
    }
    parts.join(": ")
}

/// ` after 2 pages` (or nothing when the first page failed).
pub(crate) fn after_pages(pages: usize) -> String {
    match pages {
        0 => String::new(),
        1 => " after 1 page".to_string(),
        n => format!(" after {n} pages"),
    }
}
