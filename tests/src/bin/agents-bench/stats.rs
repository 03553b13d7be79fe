//! Recorded latencies, percentiles, a bounded closed-loop load driver, and
//! the table rows the benchmarks print.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// One request of a run, identified by a number unique within the run.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// `worker * 1_000_000_000 + sequence`: unique, and says which client sent it.
    pub id: u64,
    /// When the request was sent.
    pub start: Instant,
    /// When the whole answer was read.
    pub end: Instant,
}

impl Sample {
    /// The request's latency.
    pub fn latency(&self) -> Duration {
        self.end - self.start
    }
}

/// What a run recorded.
#[derive(Debug, Default)]
pub struct Run {
    /// Successful requests started within the measured window.
    pub samples: Vec<Sample>,
    /// Failed requests, with the first failure's message.
    pub errors: u64,
    /// The first failure.
    pub first_error: Option<String>,
    /// The measured window.
    pub window: Duration,
}

impl Run {
    /// Successful requests per second over the window.
    pub fn per_second(&self) -> f64 {
        self.samples.len() as f64 / self.window.as_secs_f64().max(1e-9)
    }

    /// Latencies, sorted.
    pub fn latencies(&self) -> Vec<Duration> {
        sorted(self.samples.iter().map(Sample::latency).collect())
    }

    /// Fails when any request failed (a benchmark of errors is no benchmark).
    pub fn check(&self, what: &str) -> Result<(), String> {
        if self.errors > 0 {
            return Err(format!(
                "{what}: {} of {} requests failed; first: {}",
                self.errors,
                self.errors + self.samples.len() as u64,
                self.first_error.as_deref().unwrap_or("?")
            ));
        }
        if self.samples.is_empty() {
            return Err(format!("{what}: no request completed"));
        }
        Ok(())
    }
}

/// Sorts durations.
pub fn sorted(mut values: Vec<Duration>) -> Vec<Duration> {
    values.sort_unstable();
    values
}

/// The `q` quantile (0 < q <= 1) of sorted values, nearest rank.
pub fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// Closed loop: `concurrency` clients each send one request after the
/// other for `window` (at most `max_requests` in all); only requests that
/// started inside the window and succeeded are samples. `op(worker, id)`
/// performs one request.
pub async fn drive<F, Fut>(concurrency: usize, window: Duration, max_requests: u64, op: F) -> Run
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let op = Arc::new(op);
    let issued = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + window;
    let mut tasks = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let op = op.clone();
        let issued = issued.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut errors = 0u64;
            let mut first_error = None;
            for sequence in 0u64.. {
                let start = Instant::now();
                if start >= deadline || issued.fetch_add(1, Ordering::Relaxed) >= max_requests {
                    break;
                }
                let id = worker as u64 * 1_000_000_000 + sequence;
                match op(worker, id).await {
                    Ok(()) => samples.push(Sample {
                        id,
                        start,
                        end: Instant::now(),
                    }),
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e);
                    }
                }
            }
            (samples, errors, first_error)
        }));
    }
    let mut run = Run::default();
    for task in tasks {
        match task.await {
            Ok((samples, errors, first_error)) => {
                run.samples.extend(samples);
                run.errors += errors;
                if run.first_error.is_none() {
                    run.first_error = first_error;
                }
            }
            Err(e) => {
                run.errors += 1;
                run.first_error
                    .get_or_insert(format!("client task failed: {e}"));
            }
        }
    }
    run.window = window.min(started.elapsed());
    run
}

/// A duration for the table: `0.42 ms`, `12.3 ms`, `1.20 s`.
pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms >= 1000.0 {
        format!("{:.2} s", ms / 1000.0)
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

/// A signed difference for the table (overheads can come out negative by
/// clock noise on a tiny value).
pub fn ms_signed(us: i64) -> String {
    if us < 0 {
        format!("-{}", ms(Duration::from_micros(us.unsigned_abs())))
    } else {
        ms(Duration::from_micros(us.unsigned_abs()))
    }
}

/// Prints one row of the benchmark table (the format `scripts/bench.sh` collects).
pub fn row(scenario: &str, throughput: &str, p50: &str, p99: &str) {
    println!("| {scenario:<56} | {throughput:>14} | {p50:>13} | {p99:>9} |");
}

/// `1234.5` as `1234/s`.
pub fn rate(per_second: f64) -> String {
    if per_second >= 100.0 {
        format!("{per_second:.0}/s")
    } else {
        format!("{per_second:.1}/s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(quantile(&values, 0.5), Duration::from_millis(50));
        assert_eq!(quantile(&values, 0.99), Duration::from_millis(99));
        assert_eq!(quantile(&values, 1.0), Duration::from_millis(100));
        assert_eq!(quantile(&[], 0.5), Duration::ZERO);
        assert_eq!(
            quantile(&[Duration::from_millis(7)], 0.99),
            Duration::from_millis(7)
        );
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(ms(Duration::from_micros(420)), "0.42 ms");
        assert_eq!(ms(Duration::from_micros(12_340)), "12.3 ms");
        assert_eq!(ms(Duration::from_millis(1200)), "1.20 s");
        assert_eq!(ms_signed(-250), "-0.25 ms");
        assert_eq!(rate(1234.4), "1234/s");
        assert_eq!(rate(42.04), "42.0/s");
    }
}
