//! Password hashing on its own two threads. Argon2 works in 19 MiB for each hash, which each
//! hashing thread keeps and reuses (`password.rs`): on a fixed pair of threads that is 38 MiB
//! at most, where tokio's blocking pool would have had a copy on every thread it ever ran a
//! hash on; and hashes wait their turn instead of taking every core.

use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

/// Threads that hash: at most this many hashes (and their memory) at once.
const THREADS: usize = 2;

/// Hashes waiting beyond those running; past it a sign-in is refused as "busy" at once.
const QUEUE: usize = 64;

type Job = Box<dyn FnOnce() + Send>;

/// The hashing threads; they end when this is dropped.
#[derive(Debug)]
pub struct Hashing {
    jobs: SyncSender<Job>,
}

impl Hashing {
    /// Starts the threads.
    pub fn start() -> std::io::Result<Self> {
        let (jobs, queue) = sync_channel::<Job>(QUEUE);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..THREADS {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || work(&queue))?;
        }
        Ok(Hashing { jobs })
    }

    /// Runs `hash` on a hashing thread; `None` if the queue is full or the threads are gone.
    pub async fn run<T: Send + 'static>(
        &self,
        hash: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(hash());
        });
        match self.jobs.try_send(job) {
            Ok(()) => answered.await.ok(),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => None,
        }
    }
}

fn work(queue: &Mutex<Receiver<Job>>) {
    loop {
        // The lock is held only while waiting for the next job, never while hashing.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_on_the_hashing_threads() {
        let hashing = Hashing::start().unwrap();
        let name = hashing
            .run(|| std::thread::current().name().map(str::to_string))
            .await
            .flatten()
            .unwrap();
        assert!(name.starts_with("password-hash-"), "{name}");
    }
}
