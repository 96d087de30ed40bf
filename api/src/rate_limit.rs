//! Per-caller rate limiting: a token bucket for each API token, and for each client address
//! when a request carries no valid token.
//!
//! Each caller ([`Caller`]) has a bucket holding up to [`RateLimit::burst`] requests that
//! refills at [`RateLimit::per_second`]; a request takes one, and a request that finds the
//! bucket empty is refused with [`RateLimited`], which says how many whole seconds to wait
//! (the server answers HTTP 429 with `Retry-After`). The server keys a request by the
//! token's id once the token is verified, never by the id written in an unverified token:
//! a token id is not secret (it is the actor on events), so keying by it before
//! verification would let anyone empty another integrator's bucket. A request without a
//! valid token is keyed by its client address (an IPv6 address by its /64, the block one
//! client usually holds), or shares one anonymous bucket when the address is unknown.
//!
//! Memory is bounded. A bucket that has been idle long enough to refill completely is
//! indistinguishable from a new one, so it is dropped; idle buckets are swept whenever the
//! table has doubled since the last sweep (amortised constant time per request). The table
//! never holds more than [`MAX_BUCKETS`] callers: past that, callers without a bucket share
//! one overflow bucket until a sweep makes room, so a flood of new addresses can exhaust
//! only that bucket, not memory.
//!
//! Hand-written rather than the `governor` crate: governor's keyed limiter grows without a
//! bound until something calls `retain_recent` on a timer, and has no cap; this table is
//! about a hundred lines, bounds itself inline and is tested below with an injected clock.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// The most callers tracked at once (a bucket is a few dozen bytes: a few MiB at most).
pub const MAX_BUCKETS: usize = 100_000;

/// The table is never swept below this size: sweeping a small table saves nothing.
const SWEEP_FLOOR: usize = 1_024;

/// How fast each caller may send requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per second a caller may sustain; 0 turns rate limiting off.
    pub per_second: u32,
    /// Requests a caller may send at once after being idle (at least 1).
    pub burst: u32,
}

impl RateLimit {
    /// No limit at all (benchmarks, load tests).
    pub const OFF: RateLimit = RateLimit {
        per_second: 0,
        burst: 0,
    };

    /// Whether requests are limited at all.
    pub fn is_on(self) -> bool {
        self.per_second > 0
    }
}

impl Default for RateLimit {
    /// 50 requests a second, 200 at once: far above what a till, a WMS or a sync job needs,
    /// low enough that one runaway client cannot take the server from everyone else.
    fn default() -> Self {
        Self {
            per_second: 50,
            burst: 200,
        }
    }
}

/// Who a bucket belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Caller {
    /// A verified API token, by its id.
    Token(Uuid),
    /// A request without a valid token, by its client address (IPv6 by its /64).
    Address(IpAddr),
    /// A request without a valid token whose client address is unknown.
    Anonymous,
}

impl Caller {
    /// The caller of a request without a valid token from `address`, if known.
    pub fn unauthenticated(address: Option<IpAddr>) -> Self {
        match address {
            Some(IpAddr::V6(v6)) if v6.to_ipv4_mapped().is_none() => {
                // One client usually holds a whole /64, and can pick any address in it.
                let prefix = u128::from(v6) & !((1_u128 << 64) - 1);
                Caller::Address(IpAddr::V6(prefix.into()))
            }
            Some(IpAddr::V6(v6)) => Caller::Address(IpAddr::V6(v6)),
            Some(address) => Caller::Address(address),
            None => Caller::Anonymous,
        }
    }
}

impl fmt::Display for Caller {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Caller::Token(id) => write!(f, "token {id}"),
            Caller::Address(address) => write!(f, "client {address}"),
            Caller::Anonymous => f.write_str("anonymous client"),
        }
    }
}

/// A request refused because its caller's bucket is empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many requests: retry in {retry_after_secs} s")]
pub struct RateLimited {
    /// Whole seconds until a request would be accepted (at least 1): `Retry-After`.
    pub retry_after_secs: u64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Requests left, fractional while refilling.
    tokens: f64,
    /// When `tokens` was computed.
    updated: Instant,
}

impl Bucket {
    fn full(limit: RateLimit, now: Instant) -> Self {
        Self {
            tokens: f64::from(limit.burst.max(1)),
            updated: now,
        }
    }

    /// Refills for the time since the last update, then takes one request if there is one.
    fn take(&mut self, limit: RateLimit, now: Instant) -> Result<(), RateLimited> {
        let rate = f64::from(limit.per_second);
        let capacity = f64::from(limit.burst.max(1));
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(capacity);
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - self.tokens) / rate).ceil();
        // `wait` is finite and positive (rate > 0, tokens < 1); the cast saturates anyway.
        Err(RateLimited {
            retry_after_secs: (wait as u64).max(1),
        })
    }

    /// Whether the bucket would be full by `now`, i.e. forgetting it changes nothing.
    fn is_idle(&self, limit: RateLimit, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens + elapsed * f64::from(limit.per_second) >= f64::from(limit.burst.max(1))
    }
}

struct Table {
    buckets: HashMap<Caller, Bucket>,
    /// Shared by callers that find the table full.
    overflow: Bucket,
    /// The size at which the next sweep runs.
    next_sweep: usize,
    last_sweep: Instant,
}

/// The buckets of every caller (one per server, shared by its handlers).
pub struct RateLimiter {
    limit: RateLimit,
    table: Mutex<Table>,
}

impl RateLimiter {
    /// A limiter with no callers yet.
    pub fn new(limit: RateLimit) -> Self {
        let now = Instant::now();
        Self {
            limit,
            table: Mutex::new(Table {
                buckets: HashMap::new(),
                overflow: Bucket::full(limit, now),
                next_sweep: SWEEP_FLOOR,
                last_sweep: now,
            }),
        }
    }

    /// The limit it applies.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes one request from `caller`'s bucket, or says how long to wait.
    pub fn check(&self, caller: Caller) -> Result<(), RateLimited> {
        self.check_at(caller, Instant::now())
    }

    /// How many callers have a bucket now.
    pub fn tracked(&self) -> usize {
        self.lock().buckets.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Table> {
        // Nothing panics while the lock is held; should it ever, the buckets are still
        // usable numbers.
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check_at(&self, caller: Caller, now: Instant) -> Result<(), RateLimited> {
        if !self.limit.is_on() {
            return Ok(());
        }
        let limit = self.limit;
        let mut table = self.lock();
        if let Some(bucket) = table.buckets.get_mut(&caller) {
            return bucket.take(limit, now);
        }
        if table.buckets.len() >= table.next_sweep {
            table.sweep(limit, now);
        }
        if table.buckets.len() >= MAX_BUCKETS {
            return table.overflow.take(limit, now);
        }
        let mut bucket = Bucket::full(limit, now);
        let taken = bucket.take(limit, now);
        table.buckets.insert(caller, bucket);
        taken
    }
}

impl Table {
    /// Drops idle buckets. At the cap, sweeps at most once per refill period, so a flood of
    /// new callers does not make every request scan the table.
    fn sweep(&mut self, limit: RateLimit, now: Instant) {
        let at_cap = self.buckets.len() >= MAX_BUCKETS;
        let refill = Duration::from_secs_f64(
            f64::from(limit.burst.max(1)) / f64::from(limit.per_second.max(1)),
        );
        if at_cap && now.saturating_duration_since(self.last_sweep) < refill {
            return;
        }
        self.buckets.retain(|_, bucket| !bucket.is_idle(limit, now));
        self.last_sweep = now;
        self.next_sweep = (self.buckets.len() * 2).clamp(SWEEP_FLOOR, MAX_BUCKETS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const LIMIT: RateLimit = RateLimit {
        per_second: 2,
        burst: 3,
    };

    fn token() -> Caller {
        Caller::Token(Uuid::now_v7())
    }

    #[test]
    fn a_caller_gets_its_burst_then_is_told_to_wait_whole_seconds() {
        let limiter = RateLimiter::new(LIMIT);
        let now = Instant::now();
        let caller = token();
        for _ in 0..3 {
            assert_eq!(limiter.check_at(caller, now), Ok(()));
        }
        assert_eq!(
            limiter.check_at(caller, now),
            Err(RateLimited {
                retry_after_secs: 1
            })
        );
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        let slow = RateLimiter::new(RateLimit {
            per_second: 1,
            burst: 1,
        });
        let now = Instant::now();
        let caller = token();
        assert_eq!(slow.check_at(caller, now), Ok(()));
        // 0.9 s of waiting left is answered as 1 s, never as 0.
        let refused = slow.check_at(caller, now + Duration::from_millis(100));
        assert_eq!(refused.map_err(|e| e.retry_after_secs), Err(1));
        let almost = slow.check_at(caller, now + Duration::from_millis(999));
        assert_eq!(almost.map_err(|e| e.retry_after_secs), Err(1));
        assert_eq!(
            slow.check_at(caller, now + Duration::from_millis(1_100)),
            Ok(())
        );
    }

    #[test]
    fn the_bucket_refills_at_the_rate_and_no_further_than_the_burst() {
        let limiter = RateLimiter::new(LIMIT);
        let now = Instant::now();
        let caller = token();
        for _ in 0..3 {
            assert_eq!(limiter.check_at(caller, now), Ok(()));
        }
        assert!(limiter.check_at(caller, now).is_err());
        // Half a second at 2/s is one request.
        let later = now + Duration::from_millis(500);
        assert_eq!(limiter.check_at(caller, later), Ok(()));
        assert!(limiter.check_at(caller, later).is_err());
        // A long rest refills to the burst, not beyond.
        let much_later = later + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(limiter.check_at(caller, much_later), Ok(()));
        }
        assert!(limiter.check_at(caller, much_later).is_err());
    }

    #[test]
    fn one_caller_over_its_limit_does_not_affect_another() {
        let limiter = RateLimiter::new(LIMIT);
        let now = Instant::now();
        let (greedy, other) = (token(), token());
        for _ in 0..10 {
            let _ = limiter.check_at(greedy, now);
        }
        assert!(limiter.check_at(greedy, now).is_err());
        assert_eq!(limiter.check_at(other, now), Ok(()));
        assert_eq!(limiter.check_at(Caller::Anonymous, now), Ok(()));
    }

    #[test]
    fn a_limit_of_zero_per_second_limits_nothing() {
        let limiter = RateLimiter::new(RateLimit::OFF);
        let now = Instant::now();
        let caller = token();
        for _ in 0..10_000 {
            assert_eq!(limiter.check_at(caller, now), Ok(()));
        }
        assert_eq!(limiter.tracked(), 0);
    }

    #[test]
    fn idle_buckets_are_swept_so_memory_follows_the_active_callers() {
        let limiter = RateLimiter::new(LIMIT);
        let start = Instant::now();
        for _ in 0..SWEEP_FLOOR {
            assert_eq!(limiter.check_at(token(), start), Ok(()));
        }
        assert_eq!(limiter.tracked(), SWEEP_FLOOR);
        // Two seconds later (a full refill at 2/s, burst 3) every one of them is idle: the
        // next new caller sweeps them all.
        let later = start + Duration::from_secs(2);
        assert_eq!(limiter.check_at(token(), later), Ok(()));
        assert_eq!(limiter.tracked(), 1);
    }

    #[test]
    fn a_busy_bucket_survives_a_sweep() {
        let limiter = RateLimiter::new(LIMIT);
        let start = Instant::now();
        let busy = token();
        for _ in 0..3 {
            assert_eq!(limiter.check_at(busy, start), Ok(()));
        }
        for _ in 1..SWEEP_FLOOR {
            let _ = limiter.check_at(token(), start);
        }
        // Half a second on, the busy bucket holds one request, not a fresh burst of three.
        let later = start + Duration::from_millis(500);
        let _ = limiter.check_at(token(), later);
        assert!(limiter.tracked() < SWEEP_FLOOR);
        assert_eq!(limiter.check_at(busy, later), Ok(()));
        assert!(limiter.check_at(busy, later).is_err());
    }

    #[test]
    fn past_the_cap_new_callers_share_one_overflow_bucket() {
        let limiter = RateLimiter::new(LIMIT);
        let now = Instant::now();
        for n in 0..MAX_BUCKETS {
            let address = IpAddr::V4(Ipv4Addr::from(u32::try_from(n).unwrap_or(u32::MAX)));
            assert_eq!(limiter.check_at(Caller::Address(address), now), Ok(()));
        }
        assert_eq!(limiter.tracked(), MAX_BUCKETS);
        for _ in 0..3 {
            assert_eq!(limiter.check_at(token(), now), Ok(()));
        }
        assert!(limiter.check_at(token(), now).is_err());
        assert_eq!(limiter.tracked(), MAX_BUCKETS);
    }

    #[test]
    fn an_ipv6_client_is_keyed_by_its_64_bit_prefix() {
        let one: Ipv6Addr = "2001:db8:1:2::1".parse().unwrap();
        let two: Ipv6Addr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other: Ipv6Addr = "2001:db8:1:3::1".parse().unwrap();
        let key = |address: Ipv6Addr| Caller::unauthenticated(Some(IpAddr::V6(address)));
        assert_eq!(key(one), key(two));
        assert_ne!(key(one), key(other));
        let v4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
        assert_eq!(Caller::unauthenticated(Some(v4)), Caller::Address(v4));
        assert_eq!(Caller::unauthenticated(None), Caller::Anonymous);
    }
}
