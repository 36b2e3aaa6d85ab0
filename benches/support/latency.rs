//! An HTTP client for mocked SDK clients that takes a fixed time per call (tokio time, so a
//! test on a paused clock measures simulated seconds) and records the most calls in flight.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aws_smithy_mocks::create_mock_http_client;
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, SharedHttpClient, SharedHttpConnector,
    http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;

/// Calls in flight now and at most, shared by every client built with one [`InFlight`].
#[derive(Debug, Default)]
pub struct InFlight {
    now: AtomicUsize,
    pub max: AtomicUsize,
    pub calls: AtomicUsize,
}

/// The mocks' HTTP client, each call taking `delay` first.
pub fn slow_mock_http_client(delay: Duration, in_flight: Arc<InFlight>) -> SharedHttpClient {
    let base = create_mock_http_client();
    http_client_fn(move |settings, components| {
        SharedHttpConnector::new(Slow {
            inner: base.http_connector(settings, components),
            delay,
            in_flight: in_flight.clone(),
        })
    })
}

#[derive(Debug)]
struct Slow {
    inner: SharedHttpConnector,
    delay: Duration,
    in_flight: Arc<InFlight>,
}

impl HttpConnector for Slow {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (inner, delay, in_flight) = (self.inner.clone(), self.delay, self.in_flight.clone());
        HttpConnectorFuture::new(async move {
            let now = in_flight.now.fetch_add(1, Ordering::SeqCst) + 1;
            in_flight.max.fetch_max(now, Ordering::SeqCst);
            in_flight.calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(delay).await;
            let response = inner.call(request).await;
            in_flight.now.fetch_sub(1, Ordering::SeqCst);
            response
        })
    }
}
