//! `/healthz` and `/readyz`: is the process alive, and should a load balancer send it clients.
//!
//! Ready means: not draining, and the broker's backing store (SQLite on one node, Redis in a
//! cluster) answered a real write probe. A probe's result is kept for a second, so scraping
//! every second (or many times a second, from several balancers) costs one probe a second.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::broker::Broker;

/// How long a probe's answer is reused.
const PROBE_TTL: Duration = Duration::from_secs(1);

/// Longest a probe may take before the node counts as not ready.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether this node should get new clients.
#[derive(Debug, Default)]
pub struct Readiness {
    draining: AtomicBool,
    last: Mutex<Option<(Instant, Result<(), String>)>>,
    /// One probe at a time; others wait for its answer.
    probing: tokio::sync::Mutex<()>,
}

impl Readiness {
    /// From now on the node is not ready (shutting down: clients should go elsewhere).
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }

    /// Whether the node is shutting down.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }

    /// `Ok` when ready, else why not.
    pub async fn check(&self, broker: &Arc<dyn Broker>) -> Result<(), String> {
        if self.is_draining() {
            return Err("draining: the server is shutting down".into());
        }
        if let Some(fresh) = self.fresh() {
            return fresh;
        }
        let _probing = self.probing.lock().await;
        // Someone else may have probed while we waited.
        if let Some(fresh) = self.fresh() {
            return fresh;
        }
        let result = match tokio::time::timeout(PROBE_TIMEOUT, broker.probe()).await {
            Ok(result) => result,
            Err(_) => Err(format!("the store did not answer within {PROBE_TIMEOUT:?}")),
        };
        *self.last.lock() = Some((Instant::now(), result.clone()));
        result
    }

    fn fresh(&self) -> Option<Result<(), String>> {
        match &*self.last.lock() {
            Some((at, result)) if at.elapsed() < PROBE_TTL => Some(result.clone()),
            _ => None,
        }
    }
}
