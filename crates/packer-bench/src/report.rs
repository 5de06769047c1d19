//! The benchmark report: a table for people, `report.json` for tools and history.

use std::io::Write as _;
use std::path::Path;
use std::time::Duration;

use anyhow::Context;

/// One measured quantity, with its floor and goal where it has them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Measurement {
    pub name: String,
    pub value: f64,
    pub unit: &'static str,
    /// The same work stripped to its unavoidable part, measured in the same run.
    pub floor: Option<f64>,
    /// `value / floor`.
    pub ratio: Option<f64>,
    /// The goal, as a human-readable bound ("ratio <= 1.2").
    pub goal: Option<String>,
    pub met: Option<bool>,
    /// Every timed sample, for judging the spread.
    pub samples: Vec<f64>,
}

impl Measurement {
    /// A quantity shown for context: no floor, no goal.
    pub fn info(name: String, value: f64, unit: &'static str, samples: Vec<f64>) -> Measurement {
        Measurement {
            name,
            value,
            unit,
            floor: None,
            ratio: None,
            goal: None,
            met: None,
            samples,
        }
    }

    /// Timings in milliseconds shown for context: their median, and the samples.
    pub fn timings(name: String, samples: Vec<f64>) -> Measurement {
        Measurement::info(name, median(&mut samples.clone()), "ms", samples)
    }
}

#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    pub cores: usize,
    pub measurements: Vec<Measurement>,
}

impl Report {
    pub fn new() -> Report {
        Report {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            measurements: Vec::new(),
        }
    }

    pub fn push(&mut self, m: Measurement) {
        self.measurements.push(m);
    }

    /// Pushes a time against its floor, each the median of its samples (kept in the order
    /// taken), with the goal `ratio <= goal`; then the floor as a row of its own named
    /// `floor_name`. Returns the two medians.
    pub fn push_against_floor(
        &mut self,
        name: String,
        samples: Vec<f64>,
        floor_name: String,
        floor_samples: Vec<f64>,
        goal: f64,
    ) -> (f64, f64) {
        let value = median(&mut samples.clone());
        let floor = median(&mut floor_samples.clone());
        let ratio = value / floor;
        self.push(Measurement {
            name,
            value,
            unit: "ms",
            floor: Some(floor),
            ratio: Some(ratio),
            goal: Some(format!("ratio <= {goal}")),
            met: Some(ratio <= goal),
            samples,
        });
        self.push(Measurement::info(floor_name, floor, "ms", floor_samples));
        (value, floor)
    }

    pub fn print(&self) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "{:<44} {:>12} {:>12} {:>8}  goal",
            "benchmark", "value", "floor", "ratio"
        );
        for m in &self.measurements {
            let floor = m
                .floor
                .map_or_else(String::new, |f| format_value(f, m.unit));
            let ratio = m.ratio.map_or_else(String::new, |r| format!("{r:.2}x"));
            let goal = match (&m.goal, m.met) {
                (Some(goal), Some(true)) => format!("{goal} (met)"),
                (Some(goal), Some(false)) => format!("{goal} (NOT met)"),
                (Some(goal), None) => goal.clone(),
                (None, _) => String::new(),
            };
            let _ = writeln!(
                out,
                "{:<44} {:>12} {:>12} {:>8}  {goal}",
                m.name,
                format_value(m.value, m.unit),
                floor,
                ratio
            );
        }
    }

    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))
    }
}

fn format_value(value: f64, unit: &str) -> String {
    match unit {
        "ms" => format!("{value:.1} ms"),
        "bytes" if value >= 1024.0 => format!("{:.2} KiB", value / 1024.0),
        "bytes" => format!("{value:.0} B"),
        other => format!("{value:.2} {other}"),
    }
}

/// Milliseconds of a duration, for the report.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The median of the samples (sorted in place).
pub fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    match samples.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => samples[n / 2],
        n => (samples[n / 2 - 1] + samples[n / 2]) / 2.0,
    }
}
