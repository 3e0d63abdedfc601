//! Retrying Kubernetes API calls that failed for a passing reason (the API server restarting,
//! a refused or reset connection, 429/5xx answers), with exponential backoff bounded in time.
//!
//! The decisions are pure functions ([`transient`], [`Backoff::next_pause`]) tested apart
//! from any API call; the caller sleeps and reports each retry (the library never prints).

use std::time::Duration;

/// How long and how often a failing call is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Give up once this much time has passed since the first failure (and no retry starts
    /// that would end after it).
    pub budget: Duration,
    /// The pause before the first retry; it doubles after each retry.
    pub first_pause: Duration,
    /// The longest pause between two attempts.
    pub max_pause: Duration,
    /// One attempt that has not answered after this long counts as a failed attempt.
    pub attempt_timeout: Duration,
}

impl Default for RetryPolicy {
    /// Two minutes of retries, 250 ms doubling up to 5 s, 30 s per attempt.
    fn default() -> Self {
        RetryPolicy {
            budget: Duration::from_secs(120),
            first_pause: Duration::from_millis(250),
            max_pause: Duration::from_secs(5),
            attempt_timeout: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// The default policy with another time budget (`0` turns retries off).
    pub fn with_budget(budget: Duration) -> Self {
        RetryPolicy {
            budget,
            ..RetryPolicy::default()
        }
    }
}

/// The retry schedule of one call: which pause comes next, if any.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: RetryPolicy,
    retries: u32,
}

impl Backoff {
    /// A fresh schedule.
    pub fn new(policy: RetryPolicy) -> Self {
        Backoff { policy, retries: 0 }
    }

    /// The pause before the next attempt, given the time `elapsed` since the first failure;
    /// `None` when the budget does not allow another attempt.
    pub fn next_pause(&mut self, elapsed: Duration) -> Option<Duration> {
        let doubled = self
            .policy
            .first_pause
            .saturating_mul(1u32 << self.retries.min(16));
        let pause = doubled.min(self.policy.max_pause);
        if elapsed.saturating_add(pause) > self.policy.budget {
            return None;
        }
        self.retries += 1;
        Some(pause)
    }

    /// How many retries were granted so far.
    pub fn retries(&self) -> u32 {
        self.retries
    }
}

/// One retry about to happen, for the caller's log line.
#[derive(Debug)]
pub struct RetryNotice<'a> {
    /// What was being done, e.g. `update secret exp in namespace default`.
    pub action: &'a str,
    /// Why it failed (the error chain on one line).
    pub error: &'a str,
    /// The retry's number (1 for the first).
    pub retry: u32,
    /// The pause before it.
    pub pause: Duration,
    /// The policy's time budget.
    pub budget: Duration,
}

/// Where retries are reported.
pub type RetryHook = Box<dyn Fn(&RetryNotice<'_>) + Send + Sync>;

/// Whether a failed call may succeed if tried again unchanged: the connection failed (refused,
/// reset, timed out, TLS or HTTP transport errors) or the server answered 429 or 5xx.
/// Everything else (403, 404, 409, 422, a bad kubeconfig...) is the caller's to handle.
pub fn transient(e: &kube::Error) -> bool {
    match e {
        kube::Error::Api(status) => status.code == 429 || (500..600).contains(&status.code),
        kube::Error::HyperError(_) | kube::Error::Service(_) => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(budget_ms: u64) -> RetryPolicy {
        RetryPolicy {
            budget: Duration::from_millis(budget_ms),
            first_pause: Duration::from_millis(100),
            max_pause: Duration::from_millis(800),
            attempt_timeout: Duration::from_secs(1),
        }
    }

    /// Pauses double from the first pause up to the maximum, then stay there.
    #[test]
    fn pauses_double_up_to_the_maximum() {
        let mut b = Backoff::new(policy(60_000));
        let pauses: Vec<u64> = (0..7)
            .map(|_| {
                b.next_pause(Duration::ZERO)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0)
            })
            .collect();
        assert_eq!(pauses, [100, 200, 400, 800, 800, 800, 800]);
        assert_eq!(b.retries(), 7);
    }

    /// No retry is granted whose pause would end past the budget, and a zero budget never
    /// retries.
    #[test]
    fn the_budget_bounds_the_retries() {
        let mut b = Backoff::new(policy(1_000));
        assert_eq!(
            b.next_pause(Duration::from_millis(850)),
            Some(Duration::from_millis(100))
        );
        assert_eq!(b.next_pause(Duration::from_millis(850)), None);
        assert_eq!(b.retries(), 1);
        let mut zero = Backoff::new(RetryPolicy::with_budget(Duration::ZERO));
        assert_eq!(zero.next_pause(Duration::ZERO), None);
    }

    fn api_error(code: u16) -> kube::Error {
        kube::Error::Api(
            kube::core::Status::failure("m", "Reason")
                .with_code(code)
                .boxed(),
        )
    }

    /// 429 and 5xx answers are retried; 403, 404, 409 and 422 are not.
    #[test]
    fn server_answers_that_are_transient() {
        for code in [429, 500, 502, 503, 504] {
            assert!(transient(&api_error(code)), "{code}");
        }
        for code in [400, 401, 403, 404, 409, 422] {
            assert!(!transient(&api_error(code)), "{code}");
        }
    }

    /// A refused connection (nothing listens on the port) is transient, as kube reports it.
    #[tokio::test]
    async fn a_refused_connection_is_transient() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let config = kube::Config::new(
            format!("http://127.0.0.1:{port}")
                .parse()
                .expect("a valid URL"),
        );
        let client = kube::Client::try_from(config).expect("client");
        let err = client
            .apiserver_version()
            .await
            .expect_err("nothing listens there");
        assert!(transient(&err), "{err:?}");
    }
}
