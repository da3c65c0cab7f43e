//! The circuit breaker of one host, as a pure state machine: every operation takes the current
//! instant, so the rules are tested without sleeping.
//!
//! Closed: consecutive failures are counted, any success resets the count; at the threshold the
//! circuit opens. Open: calls are refused until the cool-down is over; then the first call is
//! let through as the one trial (half-open) while the others are still refused. The trial's
//! success closes the circuit, its failure opens it again for another cool-down. Health probes
//! pass whatever the state, and their outcome counts like any other call's: a successful probe
//! is the way an open circuit learns that its host is back.

use std::time::{Duration, Instant};

/// The state of a host's circuit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Circuit {
    Closed,
    Open,
    HalfOpen,
}

impl Circuit {
    /// The value of the `outbound_circuit_state` gauge.
    pub(crate) fn gauge(self) -> i64 {
        match self {
            Circuit::Closed => 0,
            Circuit::HalfOpen => 1,
            Circuit::Open => 2,
        }
    }
}

/// How a call got past the breaker; its outcome is recorded with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pass {
    /// The circuit was closed.
    Normal,
    /// The one call of a half-open circuit.
    Trial,
    /// A health probe, which passes whatever the state.
    Probe,
}

/// What an attempt says about the host's health.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The host answered (any status below 500 except 429).
    Success,
    /// Connection failure, timeout, 5xx or 429.
    Failure,
    /// Nothing learnt: the call was abandoned or refused locally before it was sent.
    Neutral,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Closed,
    Open { until: Instant },
    HalfOpen { trial_in_flight: bool },
}

#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cool_down: Duration,
    state: State,
    consecutive_failures: u32,
}

impl Breaker {
    pub(crate) fn new(threshold: u32, cool_down: Duration) -> Self {
        Breaker {
            threshold: threshold.max(1),
            cool_down,
            state: State::Closed,
            consecutive_failures: 0,
        }
    }

    pub(crate) fn circuit(&self) -> Circuit {
        match self.state {
            State::Closed => Circuit::Closed,
            State::Open { .. } => Circuit::Open,
            State::HalfOpen { .. } => Circuit::HalfOpen,
        }
    }

    pub(crate) fn consecutive_failures(&self) -> u32 {
        self.consecutive_failures
    }

    /// Whether the circuit refuses calls now (open, cool-down not over), without changing it.
    pub(crate) fn refuses(&self, now: Instant) -> bool {
        matches!(self.state, State::Open { until } if now < until)
    }

    /// Lets a call through, or says how long until one may try. While a trial is under way the
    /// wait given is a whole cool-down: if the trial fails, that is how long the circuit stays
    /// open.
    pub(crate) fn admit(&mut self, now: Instant) -> Result<Pass, Duration> {
        match self.state {
            State::Closed => Ok(Pass::Normal),
            State::Open { until } if now < until => Err(until - now),
            State::Open { .. }
            | State::HalfOpen {
                trial_in_flight: false,
            } => {
                self.state = State::HalfOpen {
                    trial_in_flight: true,
                };
                Ok(Pass::Trial)
            }
            State::HalfOpen {
                trial_in_flight: true,
            } => Err(self.cool_down),
        }
    }

    /// Records the outcome of a call let through as `pass`.
    pub(crate) fn record(&mut self, pass: Pass, verdict: Verdict, now: Instant) {
        match verdict {
            Verdict::Success => {
                // Any answer proves the host is back, whoever got it.
                self.consecutive_failures = 0;
                self.state = State::Closed;
            }
            Verdict::Failure => {
                self.consecutive_failures = self.consecutive_failures.saturating_add(1);
                let reopen = match self.state {
                    State::Closed => self.consecutive_failures >= self.threshold,
                    // A call that started before the circuit opened, failing late, changes
                    // nothing; a failed probe or trial restarts the cool-down.
                    State::Open { .. } | State::HalfOpen { .. } => pass != Pass::Normal,
                };
                if reopen {
                    self.state = State::Open {
                        until: now + self.cool_down,
                    };
                }
            }
            Verdict::Neutral => {
                // An abandoned trial must not keep the circuit half-open for ever: the next
                // call becomes the trial.
                if pass == Pass::Trial
                    && self.state
                        == (State::HalfOpen {
                            trial_in_flight: true,
                        })
                {
                    self.state = State::HalfOpen {
                        trial_in_flight: false,
                    };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const COOL: Duration = Duration::from_secs(30);

    #[test]
    fn opens_after_the_threshold_of_consecutive_failures() {
        let t0 = Instant::now();
        let mut b = Breaker::new(3, COOL);
        for _ in 0..2 {
            assert_eq!(b.admit(t0), Ok(Pass::Normal));
            b.record(Pass::Normal, Verdict::Failure, t0);
        }
        // A success resets the count.
        b.record(Pass::Normal, Verdict::Success, t0);
        assert_eq!(b.consecutive_failures(), 0);
        for _ in 0..2 {
            b.record(Pass::Normal, Verdict::Failure, t0);
        }
        assert_eq!(b.circuit(), Circuit::Closed);
        b.record(Pass::Normal, Verdict::Failure, t0);
        assert_eq!(b.circuit(), Circuit::Open);
        assert_eq!(b.consecutive_failures(), 3);
        assert_eq!(
            b.admit(t0 + Duration::from_secs(10)),
            Err(Duration::from_secs(20))
        );
    }

    #[test]
    fn one_trial_after_the_cool_down_decides() {
        let t0 = Instant::now();
        let mut b = Breaker::new(1, COOL);
        b.record(Pass::Normal, Verdict::Failure, t0);
        let later = t0 + COOL;
        assert_eq!(b.admit(later), Ok(Pass::Trial));
        assert_eq!(b.circuit(), Circuit::HalfOpen);
        // Others are refused while the trial runs.
        assert_eq!(b.admit(later), Err(COOL));
        assert_eq!(b.admit(later), Err(COOL));
        // The trial fails: open for another cool-down from now.
        let t1 = later + Duration::from_secs(1);
        b.record(Pass::Trial, Verdict::Failure, t1);
        assert_eq!(b.circuit(), Circuit::Open);
        assert_eq!(
            b.admit(t1 + Duration::from_secs(29)),
            Err(Duration::from_secs(1))
        );
        // The next trial succeeds: closed.
        assert_eq!(b.admit(t1 + COOL), Ok(Pass::Trial));
        b.record(Pass::Trial, Verdict::Success, t1 + COOL);
        assert_eq!(b.circuit(), Circuit::Closed);
        assert_eq!(b.admit(t1 + COOL), Ok(Pass::Normal));
    }

    #[test]
    fn an_abandoned_trial_hands_over_to_the_next_call() {
        let t0 = Instant::now();
        let mut b = Breaker::new(1, COOL);
        b.record(Pass::Normal, Verdict::Failure, t0);
        assert_eq!(b.admit(t0 + COOL), Ok(Pass::Trial));
        b.record(Pass::Trial, Verdict::Neutral, t0 + COOL);
        assert_eq!(b.admit(t0 + COOL), Ok(Pass::Trial));
        assert_eq!(b.admit(t0 + COOL), Err(COOL));
    }

    #[test]
    fn probes_close_or_extend_an_open_circuit() {
        let t0 = Instant::now();
        let mut b = Breaker::new(1, COOL);
        b.record(Pass::Normal, Verdict::Failure, t0);
        // A failed probe restarts the cool-down.
        let t1 = t0 + Duration::from_secs(20);
        b.record(Pass::Probe, Verdict::Failure, t1);
        assert_eq!(b.admit(t0 + COOL), Err(Duration::from_secs(20)));
        // A late failure of a call admitted before the circuit opened does not.
        b.record(Pass::Normal, Verdict::Failure, t1 + Duration::from_secs(5));
        assert_eq!(b.admit(t0 + COOL), Err(Duration::from_secs(20)));
        // A successful probe closes it.
        b.record(Pass::Probe, Verdict::Success, t1);
        assert_eq!(b.circuit(), Circuit::Closed);
        assert_eq!(b.consecutive_failures(), 0);
    }

    #[test]
    fn a_zero_threshold_is_one() {
        let mut b = Breaker::new(0, COOL);
        let t0 = Instant::now();
        b.record(Pass::Normal, Verdict::Failure, t0);
        assert_eq!(b.circuit(), Circuit::Open);
        assert_eq!(Circuit::Open.gauge(), 2);
        assert_eq!(Circuit::HalfOpen.gauge(), 1);
        assert_eq!(Circuit::Closed.gauge(), 0);
    }
}
