//! Where the time comes from: the real clock in production, a fixed one in tests, and a
//! simulation clock (模拟时钟) for training and drill instances, which production refuses.

use chrono::{DateTime, Utc};

/// Where the time comes from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;

    /// True for a training or drill clock: pages say so, so nobody takes its time for the real one.
    fn simulated(&self) -> bool {
        false
    }

    /// The time security timers count in (sessions, the login throttle): the clock's own time,
    /// except on a simulation clock, where it is real time (see [`SimulationClock`]).
    fn security_now(&self) -> DateTime<Utc> {
        self.now()
    }
}

#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still (tests) unless moved with [`FixedClock::advance`].
#[derive(Debug)]
pub struct FixedClock(std::sync::Mutex<DateTime<Utc>>, bool);

impl FixedClock {
    pub fn new(at: DateTime<Utc>) -> FixedClock {
        FixedClock(std::sync::Mutex::new(at), false)
    }

    /// A fixed clock that says it is a simulation clock, as a sandbox's would (tests of what a
    /// training instance shows).
    pub fn simulated(at: DateTime<Utc>) -> FixedClock {
        FixedClock(std::sync::Mutex::new(at), true)
    }

    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.0.lock().expect("clock lock");
        *now += by;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("clock lock")
    }

    fn simulated(&self) -> bool {
        self.1
    }
}

/// The clock of a training or drill instance (模拟时钟): it starts at a chosen moment and runs at
/// `speed` times real time (0 = stands still until moved). Seeding a simulated outbreak sets it to
/// each moment of the outbreak's history in turn; serving lets it run, so the outbreak keeps moving.
/// Production instances refuse it (see [`InstanceKind`]).
#[derive(Debug)]
pub struct SimulationClock {
    /// The simulated time at `anchor`, and the real instant it was read at.
    anchor: std::sync::Mutex<(DateTime<Utc>, std::time::Instant)>,
    /// Simulated seconds per real second, as a rational of thousandths (no float drift in tests).
    speed_milli: std::sync::atomic::AtomicU64,
}

impl SimulationClock {
    pub fn new(start: DateTime<Utc>, speed: f64) -> SimulationClock {
        SimulationClock {
            anchor: std::sync::Mutex::new((start, std::time::Instant::now())),
            speed_milli: std::sync::atomic::AtomicU64::new(Self::milli(speed)),
        }
    }

    fn milli(speed: f64) -> u64 {
        (speed.clamp(0.0, 100_000.0) * 1000.0).round() as u64
    }

    /// Jumps to `at` (forward or back; the seeding replays history in order, so only forward).
    pub fn set(&self, at: DateTime<Utc>) {
        *self.anchor.lock().expect("clock lock") = (at, std::time::Instant::now());
    }

    pub fn advance(&self, by: chrono::Duration) {
        let now = self.now();
        self.set(now + by);
    }

    /// Changes the speed from now on (the simulated time reached so far is kept).
    pub fn set_speed(&self, speed: f64) {
        let now = self.now();
        self.set(now);
        self.speed_milli
            .store(Self::milli(speed), std::sync::atomic::Ordering::SeqCst);
    }

    pub fn speed(&self) -> f64 {
        self.speed_milli.load(std::sync::atomic::Ordering::SeqCst) as f64 / 1000.0
    }
}

impl Clock for SimulationClock {
    fn now(&self) -> DateTime<Utc> {
        let (at, real) = *self.anchor.lock().expect("clock lock");
        let elapsed = real.elapsed().as_millis() as i64;
        let speed = self.speed_milli.load(std::sync::atomic::Ordering::SeqCst) as i64;
        at + chrono::Duration::milliseconds(elapsed.saturating_mul(speed) / 1000)
    }

    fn simulated(&self) -> bool {
        true
    }

    /// Real time: a drill played at sixty times speed must not end its users' sessions (eight
    /// hours) in eight minutes, nor lift a password lock in fifteen seconds.
    fn security_now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// What an installation is, recorded in its database when first served: a production instance
/// runs on the real clock only; a training or drill sandbox (the demo's database, or one made with
/// `--sandbox`) may run a [`SimulationClock`]. Once production, always production.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceKind {
    Production,
    Sandbox,
}

impl InstanceKind {
    pub const SETTING: &'static str = "instance_kind";

    pub fn code(self) -> &'static str {
        match self {
            InstanceKind::Production => "production",
            InstanceKind::Sandbox => "sandbox",
        }
    }

    pub fn from_code(code: &str) -> Option<InstanceKind> {
        match code {
            "production" => Some(InstanceKind::Production),
            "sandbox" => Some(InstanceKind::Sandbox),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn start() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2021, 1, 2, 0, 0, 0).unwrap()
    }

    #[test]
    fn a_stopped_simulation_clock_moves_only_when_told() {
        let clock = SimulationClock::new(start(), 0.0);
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(clock.now(), start());
        clock.advance(chrono::Duration::hours(5));
        assert_eq!(clock.now(), start() + chrono::Duration::hours(5));
        clock.set(start() + chrono::Duration::days(3));
        assert_eq!(clock.now(), start() + chrono::Duration::days(3));
        assert!(clock.simulated());
        assert!(!SystemClock.simulated());
    }

    #[test]
    fn a_running_simulation_clock_runs_at_its_speed() {
        let clock = SimulationClock::new(start(), 3600.0);
        std::thread::sleep(std::time::Duration::from_millis(50));
        let ran = clock.now() - start();
        // 50 ms at an hour a second is at least three minutes of simulated time.
        assert!(ran >= chrono::Duration::minutes(3), "{ran}");
        clock.set_speed(0.0);
        let held = clock.now();
        std::thread::sleep(std::time::Duration::from_millis(20));
        assert_eq!(clock.now(), held);
        assert_eq!(clock.speed(), 0.0);
    }

    #[test]
    fn security_timers_count_real_time_on_a_simulation_clock_only() {
        let simulated = SimulationClock::new(start(), 0.0);
        let real = Utc::now();
        // The simulated time is in 2021; the security time is now.
        assert_eq!(simulated.now(), start());
        assert!((simulated.security_now() - real).num_seconds().abs() < 5);
        // A test clock keeps one time for both, so session tests can move it.
        let fixed = FixedClock::new(start());
        assert_eq!(fixed.security_now(), start());
        fixed.advance(chrono::Duration::hours(9));
        assert_eq!(fixed.security_now(), start() + chrono::Duration::hours(9));
    }
}
