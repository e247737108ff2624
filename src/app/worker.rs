//! Background jobs for the app: a closure on its own thread behind a promise, with progress
//! and cancellation the core's long work understands, and panics caught and reported.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use poll_promise::Promise;

use crate::pipeline::Progress;

/// Shared progress of a job: units done of a total, and a cancel flag.
#[derive(Debug, Default)]
pub struct JobProgress {
    done: AtomicUsize,
    total: AtomicUsize,
    cancel: AtomicBool,
}

impl JobProgress {
    /// Fraction done in [0, 1], when the job has said how much there is.
    pub fn fraction(&self) -> Option<f32> {
        let total = self.total.load(Ordering::Relaxed);
        (total > 0).then(|| self.done.load(Ordering::Relaxed) as f32 / total as f32)
    }

    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

/// The handle a job's closure reports through.
pub struct Reporter(Arc<JobProgress>);

impl Progress for Reporter {
    fn advance(&mut self, done: usize, total: usize) {
        self.0.done.store(done, Ordering::Relaxed);
        self.0.total.store(total, Ordering::Relaxed);
    }

    fn cancelled(&self) -> bool {
        self.0.cancel.load(Ordering::Relaxed)
    }
}

/// A running job that yields `T` or an error message.
pub struct Job<T: Send + 'static> {
    /// What the job does, for the status line ("Embedding", ...).
    pub label: String,
    promise: Promise<Result<T, String>>,
    pub progress: Arc<JobProgress>,
}

impl<T: Send + 'static> Job<T> {
    /// Runs `work` on a new thread. A panic inside becomes an error message.
    pub fn spawn(
        label: impl Into<String>,
        work: impl FnOnce(&mut Reporter) -> anyhow::Result<T> + Send + 'static,
    ) -> Self {
        let label = label.into();
        let progress = Arc::new(JobProgress::default());
        let mut reporter = Reporter(progress.clone());
        let promise =
            Promise::spawn_thread(
                format!("stegnet-{label}"),
                move || match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    work(&mut reporter)
                })) {
                    Ok(Ok(value)) => Ok(value),
                    Ok(Err(error)) => Err(format!("{error:#}")),
                    Err(panic) => Err(format!(
                        "internal error: {}",
                        panic
                            .downcast_ref::<String>()
                            .map(String::as_str)
                            .or_else(|| panic.downcast_ref::<&str>().copied())
                            .unwrap_or("the worker stopped unexpectedly")
                    )),
                },
            );
        Self {
            label,
            promise,
            progress,
        }
    }

    /// The result once the job is done (taking it), or the job back if it is still running.
    pub fn poll(self) -> Result<Result<T, String>, Self> {
        let Self {
            label,
            promise,
            progress,
        } = self;
        promise.try_take().map_err(|promise| Self {
            label,
            promise,
            progress,
        })
    }
}

/// Polls an optional job: returns the finished result and clears the slot.
pub fn take_finished<T: Send + 'static>(slot: &mut Option<Job<T>>) -> Option<Result<T, String>> {
    let job = slot.take()?;
    match job.poll() {
        Ok(result) => Some(result),
        Err(job) => {
            *slot = Some(job);
            None
        }
    }
}
