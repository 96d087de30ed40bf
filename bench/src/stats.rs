//! Latency samples, percentiles, medians, and the process's resident memory.

use std::time::Duration;

/// Latencies of one measurement, in the order taken.
#[derive(Debug, Default, Clone)]
pub struct Latencies {
    samples: Vec<Duration>,
}

impl Latencies {
    /// Records one latency.
    pub fn push(&mut self, latency: Duration) {
        self.samples.push(latency);
    }

    /// Adds another's samples.
    pub fn extend(&mut self, other: Latencies) {
        self.samples.extend(other.samples);
    }

    /// The `p`-th percentile (0..=100) in milliseconds, nearest rank; 0 when empty.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.samples.is_empty() {
            return 0.0;
        }
        let mut sorted = self.samples.clone();
        sorted.sort_unstable();
        let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
        let index = rank.clamp(1, sorted.len()) - 1;
        sorted[index].as_secs_f64() * 1_000.0
    }
}

/// The median of some figures (the mean of the middle two for an even count); 0 when empty.
pub fn median(values: &[f64]) -> f64 {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return 0.0;
    }
    sorted.sort_by(f64::total_cmp);
    let middle = sorted.len() / 2;
    if !sorted.len().is_multiple_of(2) {
        sorted[middle]
    } else {
        (sorted[middle - 1] + sorted[middle]) / 2.0
    }
}

/// A field of `/proc/<pid>/status` in MiB (`VmRSS`, `VmHWM`); `None` off Linux.
pub fn proc_status_mib(pid: Option<u32>, field: &str) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_owned(),
    };
    let status = std::fs::read_to_string(path).ok()?;
    let line = status.lines().find(|line| line.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// Resets this process's peak resident memory (`VmHWM`) to its current size, so a later
/// reading is the peak of what follows (Linux: `echo 5 > /proc/self/clear_refs`).
pub fn reset_peak_memory() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let mut latencies = Latencies::default();
        for ms in 1..=100 {
            latencies.push(Duration::from_millis(ms));
        }
        assert_eq!(latencies.percentile_ms(50.0), 50.0);
        assert_eq!(latencies.percentile_ms(99.0), 99.0);
        assert_eq!(latencies.percentile_ms(100.0), 100.0);
        assert_eq!(Latencies::default().percentile_ms(99.0), 0.0);
    }

    #[test]
    fn the_median_of_an_even_count_is_the_mean_of_the_middle_two() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }
}
