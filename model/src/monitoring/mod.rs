//! Endpoint performance statistics (issue 8, first part): the query people
//! and scripts send, its validation (every 400 names its field), calendar
//! and fixed-length time slices, and the statistics over recorded calls.
//!
//! Percentiles are exact (linear interpolation between the two nearest
//! ranks, as numpy's default) for a set of calls; [`Sketch`] gives them over
//! merged summaries with a relative error of at most 1 %.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::time::{civil_from_days, days_from_civil};
use crate::ApiError;

pub mod sources;
pub use sources::*;

/// Most slices one query may ask for.
pub const MAX_SLICES: usize = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    TotalVisits,
    TotalExecutionTime,
    AverageExecutionTime,
    VisitsPerIp,
    UniqueVisitors,
    Fastest,
    FastestQuartile,
    Median,
    SlowestQuartile,
    Percentile90,
    Percentile99,
    Slowest,
}

impl Statistic {
    pub const ALL: [Statistic; 12] = [
        Statistic::TotalVisits,
        Statistic::TotalExecutionTime,
        Statistic::AverageExecutionTime,
        Statistic::VisitsPerIp,
        Statistic::UniqueVisitors,
        Statistic::Fastest,
        Statistic::FastestQuartile,
        Statistic::Median,
        Statistic::SlowestQuartile,
        Statistic::Percentile90,
        Statistic::Percentile99,
        Statistic::Slowest,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Statistic::TotalVisits => "total_visits",
            Statistic::TotalExecutionTime => "total_execution_time",
            Statistic::AverageExecutionTime => "average_execution_time",
            Statistic::VisitsPerIp => "visits_per_ip",
            Statistic::UniqueVisitors => "unique_visitors",
            Statistic::Fastest => "fastest",
            Statistic::FastestQuartile => "fastest_quartile",
            Statistic::Median => "median",
            Statistic::SlowestQuartile => "slowest_quartile",
            Statistic::Percentile90 => "percentile_90",
            Statistic::Percentile99 => "percentile_99",
            Statistic::Slowest => "slowest",
        }
    }

    pub fn parse(name: &str) -> Option<Statistic> {
        Statistic::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The quantile a percentile statistic stands for.
    pub fn quantile(self) -> Option<f64> {
        match self {
            Statistic::Fastest => Some(0.0),
            Statistic::FastestQuartile => Some(0.25),
            Statistic::Median => Some(0.5),
            Statistic::SlowestQuartile => Some(0.75),
            Statistic::Percentile90 => Some(0.9),
            Statistic::Percentile99 => Some(0.99),
            Statistic::Slowest => Some(1.0),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum TimeSlice {
    Year,
    Month,
    Week,
    Day,
    Hour,
    Minute,
}

impl TimeSlice {
    pub fn parse(name: &str) -> Option<TimeSlice> {
        Some(match name {
            "year" => TimeSlice::Year,
            "month" => TimeSlice::Month,
            "week" => TimeSlice::Week,
            "day" => TimeSlice::Day,
            "hour" => TimeSlice::Hour,
            "minute" => TimeSlice::Minute,
            _ => return None,
        })
    }

    /// A dynamic slice's length in milliseconds: a year is 365 days, a
    /// month 30.
    pub fn fixed_ms(self) -> i64 {
        const MIN: i64 = 60_000;
        match self {
            TimeSlice::Minute => MIN,
            TimeSlice::Hour => 60 * MIN,
            TimeSlice::Day => 1440 * MIN,
            TimeSlice::Week => 7 * 1440 * MIN,
            TimeSlice::Month => 30 * 1440 * MIN,
            TimeSlice::Year => 365 * 1440 * MIN,
        }
    }
}

/// A statistics query as it arrives (query string or server function).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
pub struct StatsQuery {
    /// One of total_visits, total_execution_time, average_execution_time,
    /// visits_per_ip, unique_visitors, fastest, fastest_quartile, median,
    /// slowest_quartile, percentile_90, percentile_99, slowest.
    #[serde(default)]
    pub statistic: Option<String>,
    /// Only this endpoint.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// ISO-8601 UTC, inclusive [default: the first recorded call].
    #[serde(default)]
    pub start: Option<String>,
    /// ISO-8601 UTC, exclusive [default: now].
    #[serde(default)]
    pub end: Option<String>,
    /// year, month, week, day, hour or minute.
    #[serde(default)]
    pub timeslice: Option<String>,
    /// With a time slice: `true` for calendar slices (ISO weeks, calendar
    /// months…), `false` for slices of fixed length from `start`.
    #[serde(default)]
    pub timeslice_is_static: Option<String>,
}

/// A checked query. Times are Unix milliseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub statistic: Statistic,
    pub endpoint: Option<String>,
    pub start: Option<i64>,
    pub end: Option<i64>,
    pub slicing: Option<Slicing>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slicing {
    pub slice: TimeSlice,
    /// Calendar-aligned (`true`) or fixed length from the start (`false`).
    pub calendar: bool,
}

impl StatsQuery {
    pub fn check(&self) -> Result<Query, ApiError> {
        let names = || Statistic::ALL.iter().map(|s| s.name()).collect::<Vec<_>>().join(", ");
        let statistic = match self.statistic.as_deref() {
            None | Some("") => return Err(ApiError::invalid("statistic", format!("is required: one of {}", names()))),
            Some(name) => Statistic::parse(name)
                .ok_or_else(|| ApiError::invalid("statistic", format!("{name:?} is not a statistic; use one of {}", names())))?,
        };
        let time = |field: &str, value: &Option<String>| -> Result<Option<i64>, ApiError> {
            match value.as_deref() {
                None | Some("") => Ok(None),
                Some(text) => parse_iso8601(text).map(Some).ok_or_else(|| {
                    ApiError::invalid(field, format!("{text:?} is not an ISO-8601 time; write it like 2026-11-23T14:05:00Z or 2026-11-23"))
                }),
            }
        };
        let (start, end) = (time("start", &self.start)?, time("end", &self.end)?);
        if let (Some(start), Some(end)) = (start, end) {
            if end < start {
                return Err(ApiError::invalid("end", "must not be before start"));
            }
        }
        let slicing = match (
            self.timeslice.as_deref().filter(|t| !t.is_empty()),
            self.timeslice_is_static.as_deref().filter(|t| !t.is_empty()),
        ) {
            (None, None) => None,
            (None, Some(_)) => {
                return Err(ApiError::invalid(
                    "timeslice",
                    "timeslice_is_static needs a timeslice (year, month, week, day, hour or minute)",
                ))
            }
            (Some(slice), flag) => {
                let slice = TimeSlice::parse(slice).ok_or_else(|| {
                    ApiError::invalid("timeslice", format!("{slice:?} is not a time slice; use year, month, week, day, hour or minute"))
                })?;
                let calendar = match flag {
                    None => {
                        return Err(ApiError::invalid(
                            "timeslice_is_static",
                            "is required with a timeslice: true for calendar slices (ISO weeks, calendar months…), false for fixed lengths from start",
                        ))
                    }
                    Some("true") => true,
                    Some("false") => false,
                    Some(other) => return Err(ApiError::invalid("timeslice_is_static", format!("must be true or false, not {other:?}"))),
                };
                Some(Slicing { slice, calendar })
            }
        };
        if statistic == Statistic::VisitsPerIp && slicing.is_some() {
            return Err(ApiError::invalid(
                "timeslice",
                "visits_per_ip is a table by IP address; it is not sliced in time (drop timeslice)",
            ));
        }
        Ok(Query { statistic, endpoint: self.endpoint.clone().filter(|e| !e.is_empty()), start, end, slicing })
    }
}

/// `2026-11-23`, `2026-11-23T14:05`, `2026-11-23T14:05:09`, with optional
/// fraction and `Z` or `±hh:mm` (no offset: UTC) → Unix milliseconds.
pub fn parse_iso8601(text: &str) -> Option<i64> {
    let (date, rest) = match text.split_once(['T', ' ']) {
        Some((date, rest)) => (date, Some(rest)),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let year: i64 = parts.next().filter(|p| p.len() == 4)?.parse().ok()?;
    let month: u32 = parts.next().filter(|p| p.len() == 2)?.parse().ok()?;
    let day: u32 = parts.next().filter(|p| p.len() == 2)?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return None;
    }
    let mut ms = days_from_civil(year, month, day) * 86_400_000;
    let Some(rest) = rest else { return Some(ms) };
    let (clock, offset_ms) = if let Some(clock) = rest.strip_suffix('Z') {
        (clock, 0)
    } else if let Some(at) = rest.rfind(['+', '-']).filter(|at| *at >= 5) {
        let (clock, offset) = rest.split_at(at);
        let sign = if offset.starts_with('-') { -1 } else { 1 };
        let (h, m) = offset[1..].split_once(':')?;
        let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
        if h > 23 || m > 59 {
            return None;
        }
        (clock, sign * (h * 60 + m) * 60_000)
    } else {
        (rest, 0)
    };
    let mut fields = clock.split(':');
    let hour: i64 = fields.next().filter(|p| p.len() == 2)?.parse().ok()?;
    let minute: i64 = fields.next().filter(|p| p.len() == 2)?.parse().ok()?;
    let (second, fraction) = match fields.next() {
        None => (0, 0),
        Some(s) => {
            let (whole, fraction) = s.split_once('.').unwrap_or((s, ""));
            let whole: i64 = Some(whole).filter(|w| w.len() == 2)?.parse().ok()?;
            let fraction: i64 = if fraction.is_empty() { 0 } else { format!("{:0<3}", &fraction[..fraction.len().min(3)]).parse().ok()? };
            (whole, fraction)
        }
    };
    if fields.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    ms += ((hour * 60 + minute) * 60 + second) * 1000 + fraction - offset_ms;
    Some(ms)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

/// The ISO week-year and week of a day (days since 1970-01-01).
fn iso_week(days: i64) -> (i64, u32) {
    let weekday = (days + 3).rem_euclid(7); // Monday = 0; 1970-01-01 was a Thursday.
    let thursday = days - weekday + 3;
    let (year, _, _) = civil_from_days(thursday);
    let week = (thursday - days_from_civil(year, 1, 1)) / 7 + 1;
    (year, week as u32)
}

/// The calendar slice holding `ms`: its start (ms) and its key
/// (`2026`, `2026-11`, `2026-W48`, `2026-11-23`, `2026-11-23T14`, `2026-11-23T14:05`).
pub fn calendar_slice(slice: TimeSlice, ms: i64) -> (i64, String) {
    let days = ms.div_euclid(86_400_000);
    let (year, month, day) = civil_from_days(days);
    let of_day = ms.rem_euclid(86_400_000);
    let (hour, minute) = (of_day / 3_600_000, of_day % 3_600_000 / 60_000);
    match slice {
        TimeSlice::Year => (days_from_civil(year, 1, 1) * 86_400_000, format!("{year:04}")),
        TimeSlice::Month => (days_from_civil(year, month, 1) * 86_400_000, format!("{year:04}-{month:02}")),
        TimeSlice::Week => {
            let monday = days - (days + 3).rem_euclid(7);
            let (week_year, week) = iso_week(days);
            (monday * 86_400_000, format!("{week_year:04}-W{week:02}"))
        }
        TimeSlice::Day => (days * 86_400_000, format!("{year:04}-{month:02}-{day:02}")),
        TimeSlice::Hour => (days * 86_400_000 + hour * 3_600_000, format!("{year:04}-{month:02}-{day:02}T{hour:02}")),
        TimeSlice::Minute => {
            (days * 86_400_000 + hour * 3_600_000 + minute * 60_000, format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}"))
        }
    }
}

/// The start of the calendar slice after the one starting at `start`.
fn next_calendar_slice(slice: TimeSlice, start: i64) -> i64 {
    let days = start.div_euclid(86_400_000);
    let (year, month, _) = civil_from_days(days);
    match slice {
        TimeSlice::Year => days_from_civil(year + 1, 1, 1) * 86_400_000,
        TimeSlice::Month if month == 12 => days_from_civil(year + 1, 1, 1) * 86_400_000,
        TimeSlice::Month => days_from_civil(year, month + 1, 1) * 86_400_000,
        other => start + other.fixed_ms(),
    }
}

/// `2026-11-23T14:05:00Z`.
pub fn format_iso8601(ms: i64) -> String {
    let (year, month, day) = civil_from_days(ms.div_euclid(86_400_000));
    let of_day = ms.rem_euclid(86_400_000) / 1000;
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", of_day / 3600, of_day % 3600 / 60, of_day % 60)
}

/// The slices covering `[start, end)`: (key, start, end) each. Calendar
/// slices begin with the one holding `start`; fixed slices at `start`.
pub fn slices(slicing: Slicing, start: i64, end: i64) -> Result<Vec<(String, i64, i64)>, ApiError> {
    let mut out = Vec::new();
    let mut at = if slicing.calendar { calendar_slice(slicing.slice, start).0 } else { start };
    while at < end {
        if out.len() >= MAX_SLICES {
            return Err(ApiError::invalid(
                "timeslice",
                format!("this range has more than {MAX_SLICES} slices; choose a longer slice or a shorter range"),
            ));
        }
        let (key, next) = if slicing.calendar {
            (calendar_slice(slicing.slice, at).1, next_calendar_slice(slicing.slice, at))
        } else {
            (format_iso8601(at), at + slicing.slice.fixed_ms())
        };
        out.push((key, at, next));
        at = next;
    }
    Ok(out)
}

/// One recorded call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// Unix milliseconds.
    pub at: i64,
    pub endpoint: String,
    /// Milliseconds.
    pub duration: f64,
    pub ip: String,
}

/// The statistic over some calls (`None` when there are none and the
/// statistic needs some). Visits per IP is [`visits_per_ip`].
pub fn compute(statistic: Statistic, calls: &[&Call]) -> Option<f64> {
    match statistic {
        Statistic::TotalVisits => Some(calls.len() as f64),
        Statistic::TotalExecutionTime => Some(calls.iter().map(|c| c.duration).sum()),
        Statistic::AverageExecutionTime => (!calls.is_empty()).then(|| calls.iter().map(|c| c.duration).sum::<f64>() / calls.len() as f64),
        Statistic::UniqueVisitors => Some(calls.iter().map(|c| c.ip.as_str()).collect::<std::collections::HashSet<_>>().len() as f64),
        Statistic::VisitsPerIp => None,
        percentile => {
            let mut durations: Vec<f64> = calls.iter().map(|c| c.duration).collect();
            durations.sort_by(f64::total_cmp);
            quantile(&durations, percentile.quantile()?)
        }
    }
}

/// Visits by IP address, most first.
pub fn visits_per_ip(calls: &[&Call]) -> Vec<(String, u64)> {
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for call in calls {
        *counts.entry(call.ip.as_str()).or_default() += 1;
    }
    let mut list: Vec<(String, u64)> = counts.into_iter().map(|(ip, n)| (ip.to_owned(), n)).collect();
    list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    list
}

/// Linear interpolation between the two nearest ranks (numpy's default).
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let position = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (low, high) = (position.floor() as usize, position.ceil() as usize);
    Some(sorted[low] + (sorted[high] - sorted[low]) * (position - low as f64))
}

/// Box-plot data of some calls: fastest, quartiles, median, slowest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BoxPlot {
    pub endpoint: String,
    pub count: u64,
    pub min: f64,
    pub q1: f64,
    pub median: f64,
    pub q3: f64,
    pub max: f64,
}

pub fn box_plots(calls: &[&Call]) -> Vec<BoxPlot> {
    let mut by_endpoint: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for call in calls {
        by_endpoint.entry(call.endpoint.as_str()).or_default().push(call.duration);
    }
    by_endpoint
        .into_iter()
        .map(|(endpoint, mut durations)| {
            durations.sort_by(f64::total_cmp);
            box_plot(endpoint, &durations)
        })
        .collect()
}

/// The box plot of one endpoint's durations, sorted.
pub fn box_plot(endpoint: &str, sorted: &[f64]) -> BoxPlot {
    let at = |q| quantile(sorted, q).unwrap_or_default();
    BoxPlot {
        endpoint: endpoint.to_owned(),
        count: sorted.len() as u64,
        min: at(0.0),
        q1: at(0.25),
        median: at(0.5),
        q3: at(0.75),
        max: at(1.0),
    }
}

/// A mergeable quantile summary with a relative error of at most
/// [`Sketch::RELATIVE_ERROR`] (logarithmic buckets, as DDSketch): for a
/// quantile whose exact value is `x`, the answer lies within `x ± 1 %`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sketch {
    /// Bucket index → count; values ≤ [`Sketch::MIN`] count in `zeros`.
    buckets: BTreeMap<i32, u64>,
    zeros: u64,
    count: u64,
}

impl Sketch {
    pub const RELATIVE_ERROR: f64 = 0.01;
    const MIN: f64 = 1e-9;

    fn gamma() -> f64 {
        (1.0 + Self::RELATIVE_ERROR) / (1.0 - Self::RELATIVE_ERROR)
    }

    pub fn add(&mut self, value: f64) {
        self.count += 1;
        if value <= Self::MIN {
            self.zeros += 1;
        } else {
            *self.buckets.entry((value.ln() / Self::gamma().ln()).ceil() as i32).or_default() += 1;
        }
    }

    pub fn merge(&mut self, other: &Sketch) {
        self.count += other.count;
        self.zeros += other.zeros;
        for (bucket, n) in &other.buckets {
            *self.buckets.entry(*bucket).or_default() += n;
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The value at quantile `q` (nearest rank).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * (self.count - 1) as f64).round() as u64;
        if rank < self.zeros {
            return Some(0.0);
        }
        let gamma = Self::gamma();
        let mut seen = self.zeros;
        for (bucket, n) in &self.buckets {
            seen += n;
            if seen > rank {
                return Some(2.0 * gamma.powi(*bucket) / (gamma + 1.0));
            }
        }
        None
    }
}

/// A mergeable summary of calls (a day's rollup of one endpoint): counts,
/// sums, extremes, 5xx answers and addresses exact; the quartiles, median,
/// p90 and p99 from its [`Sketch`] (within 1 %).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub count: u64,
    /// Milliseconds.
    pub sum: f64,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Answered with a 5xx status.
    pub errors: u64,
    pub sketch: Sketch,
    pub ips: HashMap<String, u64>,
}

impl Summary {
    pub fn add(&mut self, call: &Call, status: u16) {
        self.count += 1;
        self.sum += call.duration;
        self.min = Some(self.min.map_or(call.duration, |m| m.min(call.duration)));
        self.max = Some(self.max.map_or(call.duration, |m| m.max(call.duration)));
        self.errors += u64::from(status >= 500);
        self.sketch.add(call.duration);
        *self.ips.entry(call.ip.clone()).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Summary) {
        self.merge_durations(other);
        for (ip, n) in &other.ips {
            *self.ips.entry(ip.clone()).or_default() += n;
        }
    }

    /// Merges all but the addresses (what every statistic but unique
    /// visitors and visits per IP needs, and much cheaper).
    pub fn merge_durations(&mut self, other: &Summary) {
        self.count += other.count;
        self.sum += other.sum;
        self.min = match (self.min, other.min) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.max = match (self.max, other.max) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.errors += other.errors;
        self.sketch.merge(&other.sketch);
    }

    /// The statistic over the summarised calls (as [`compute`] does over the
    /// calls themselves; percentiles from the sketch).
    pub fn value(&self, statistic: Statistic) -> Option<f64> {
        match statistic {
            Statistic::TotalVisits => Some(self.count as f64),
            Statistic::TotalExecutionTime => Some(self.sum),
            Statistic::AverageExecutionTime => (self.count > 0).then(|| self.sum / self.count as f64),
            Statistic::UniqueVisitors => Some(self.ips.len() as f64),
            Statistic::VisitsPerIp => None,
            Statistic::Fastest => self.min,
            Statistic::Slowest => self.max,
            percentile => self.sketch.quantile(percentile.quantile()?),
        }
    }

    /// Visits by address, most first (as [`visits_per_ip`]).
    pub fn visits_per_ip(&self) -> Vec<(String, u64)> {
        let mut list: Vec<(String, u64)> = self.ips.iter().map(|(ip, n)| (ip.clone(), *n)).collect();
        list.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        list
    }
}

/// One slice of a series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SlicePoint {
    /// `2026-W48`, `2026-11-23`… (calendar) or the slice's start (fixed).
    pub key: String,
    /// The slice's start, ISO-8601 UTC.
    pub start: String,
    /// `null` when the statistic needs calls and the slice has none.
    pub value: Option<f64>,
}

/// A statistic's answer: one value, a series by slice, or visits by IP.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatsAnswer {
    pub statistic: String,
    pub endpoint: Option<String>,
    /// The range used, ISO-8601 UTC (start inclusive, end exclusive).
    pub start: String,
    pub end: String,
    /// Calls in the range.
    pub calls: u64,
    /// Without a time slice.
    pub value: Option<f64>,
    /// With a time slice.
    pub series: Vec<SlicePoint>,
    /// For visits_per_ip: (address, visits), most first.
    pub visits_per_ip: Vec<(String, u64)>,
}

/// An endpoint of a source, over a range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EndpointRow {
    pub endpoint: String,
    pub visits: u64,
    /// Milliseconds.
    pub median: f64,
    pub p90: f64,
    pub p99: f64,
    /// Share of calls answered with a 5xx status (0–1).
    pub error_rate: f64,
    /// Shown in box plots, the load heatmap and all-endpoint statistics
    /// (a source's owner switches endpoints off to hide them).
    #[serde(default = "enabled")]
    pub enabled: bool,
}

fn enabled() -> bool {
    true
}

/// A source's overview: endpoints, box plots and the load by weekday and hour.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SourceOverview {
    pub source: String,
    pub start: String,
    pub end: String,
    pub calls: u64,
    pub endpoints: Vec<EndpointRow>,
    pub box_plots: Vec<BoxPlot>,
    /// Calls by weekday (0 = Monday) and hour of day (UTC): 7 × 24.
    pub heatmap: Vec<Vec<u64>>,
}

/// The weekday (0 = Monday) and hour (UTC) of a Unix-ms time.
pub fn weekday_hour(ms: i64) -> (usize, usize) {
    let days = ms.div_euclid(86_400_000);
    (((days + 3).rem_euclid(7)) as usize, (ms.rem_euclid(86_400_000) / 3_600_000) as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(pairs: &[(&str, &str)]) -> StatsQuery {
        let get = |k: &str| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| v.to_string());
        StatsQuery {
            statistic: get("statistic"),
            endpoint: get("endpoint"),
            start: get("start"),
            end: get("end"),
            timeslice: get("timeslice"),
            timeslice_is_static: get("timeslice_is_static"),
        }
    }

    #[test]
    fn every_bad_query_is_a_400_naming_its_field() {
        let cases: [(&[(&str, &str)], &str); 9] = [
            (&[], "statistic"),
            (&[("statistic", "p95")], "statistic"),
            (&[("statistic", "median"), ("start", "23/11/2026")], "start"),
            (&[("statistic", "median"), ("end", "2026-02-30")], "end"),
            (&[("statistic", "median"), ("start", "2026-11-23"), ("end", "2026-11-22")], "end"),
            (&[("statistic", "median"), ("timeslice", "day")], "timeslice_is_static"),
            (&[("statistic", "median"), ("timeslice", "fortnight"), ("timeslice_is_static", "true")], "timeslice"),
            (&[("statistic", "median"), ("timeslice", "day"), ("timeslice_is_static", "yes")], "timeslice_is_static"),
            (&[("statistic", "visits_per_ip"), ("timeslice", "day"), ("timeslice_is_static", "true")], "timeslice"),
        ];
        for (pairs, field) in cases {
            let err = query(pairs).check().unwrap_err();
            assert_eq!((err.kind, err.field.as_deref()), (crate::ErrorKind::Invalid, Some(field)), "{pairs:?}: {}", err.message);
        }
        let ok = query(&[
            ("statistic", "percentile_90"),
            ("start", "2026-11-23T10:00:00Z"),
            ("timeslice", "hour"),
            ("timeslice_is_static", "false"),
        ]);
        let ok = ok.check().unwrap();
        assert_eq!((ok.statistic, ok.start), (Statistic::Percentile90, Some(1_795_428_000_000)));
        assert_eq!(ok.slicing, Some(Slicing { slice: TimeSlice::Hour, calendar: false }));
    }

    #[test]
    fn iso_8601_in_its_usual_forms() {
        assert_eq!(parse_iso8601("1970-01-01"), Some(0));
        assert_eq!(parse_iso8601("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(parse_iso8601("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_iso8601("1969-12-31T23:00:00-01:00"), Some(0));
        assert_eq!(parse_iso8601("2024-02-29"), Some(days_from_civil(2024, 2, 29) * 86_400_000));
        for bad in ["2023-02-29", "2026-13-01", "26-11-23", "2026-11-23T25:00", "now", ""] {
            assert_eq!(parse_iso8601(bad), None, "{bad}");
        }
        assert_eq!(format_iso8601(1_795_428_000_000), "2026-11-23T10:00:00Z");
    }

    #[test]
    fn calendar_slices_follow_iso_weeks_and_month_lengths() {
        let at = |text: &str| parse_iso8601(text).unwrap();
        // 2020-12-31 (Thursday) is in 2020-W53; 2021-01-03 (Sunday) too; 2021-01-04 starts 2021-W01.
        let week = |day: &str| calendar_slice(TimeSlice::Week, at(day));
        assert_eq!(week("2020-12-31").1, "2020-W53");
        assert_eq!(week("2021-01-03T23:59:59Z"), (at("2020-12-28"), "2020-W53".into()));
        assert_eq!(week("2021-01-04"), (at("2021-01-04"), "2021-W01".into()));
        // 2024-12-30 (Monday) opens 2025-W01.
        assert_eq!(week("2024-12-31").1, "2025-W01");
        let static_weeks = slices(Slicing { slice: TimeSlice::Week, calendar: true }, at("2020-12-30"), at("2021-01-12")).unwrap();
        let keys: Vec<&str> = static_weeks.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(keys, ["2020-W53", "2021-W01", "2021-W02"]);
        assert_eq!(static_weeks[0].1, at("2020-12-28"), "the first slice is the whole calendar week");
        let months = slices(Slicing { slice: TimeSlice::Month, calendar: true }, at("2024-01-15"), at("2024-04-01")).unwrap();
        let lengths: Vec<i64> = months.iter().map(|(_, s, e)| (e - s) / 86_400_000).collect();
        assert_eq!(lengths, [31, 29, 31], "January, a leap February, March");
        assert_eq!(months[1].0, "2024-02");
        let dynamic =
            slices(Slicing { slice: TimeSlice::Day, calendar: false }, at("2026-11-23T10:30:00Z"), at("2026-11-25T12:00:00Z")).unwrap();
        let keys: Vec<&str> = dynamic.iter().map(|(k, _, _)| k.as_str()).collect();
        assert_eq!(keys, ["2026-11-23T10:30:00Z", "2026-11-24T10:30:00Z", "2026-11-25T10:30:00Z"]);
        let years = slices(Slicing { slice: TimeSlice::Year, calendar: true }, at("2023-06-01"), at("2025-01-01")).unwrap();
        assert_eq!(years.iter().map(|(k, _, _)| k.clone()).collect::<Vec<_>>(), ["2023", "2024"]);
        assert!(slices(Slicing { slice: TimeSlice::Minute, calendar: true }, 0, 200_000 * 60_000).is_err());
    }

    #[test]
    fn statistics_match_hand_computed_values() {
        let call = |at, endpoint: &str, duration, ip: &str| Call { at, endpoint: endpoint.into(), duration, ip: ip.into() };
        let calls = [
            call(0, "/a", 10.0, "1.1.1.1"),
            call(1, "/a", 20.0, "1.1.1.1"),
            call(2, "/a", 30.0, "2.2.2.2"),
            call(3, "/b", 40.0, "3.3.3.3"),
            call(4, "/b", 100.0, "1.1.1.1"),
        ];
        let all: Vec<&Call> = calls.iter().collect();
        let value = |s| compute(s, &all).unwrap();
        assert_eq!(value(Statistic::TotalVisits), 5.0);
        assert_eq!(value(Statistic::TotalExecutionTime), 200.0);
        assert_eq!(value(Statistic::AverageExecutionTime), 40.0);
        assert_eq!(value(Statistic::UniqueVisitors), 3.0);
        assert_eq!(value(Statistic::Fastest), 10.0);
        assert_eq!(value(Statistic::FastestQuartile), 20.0);
        assert_eq!(value(Statistic::Median), 30.0);
        assert_eq!(value(Statistic::SlowestQuartile), 40.0);
        // Rank 0.9 × 4 = 3.6: 40 + 0.6 × (100 − 40).
        assert!((value(Statistic::Percentile90) - 76.0).abs() < 1e-9);
        assert!((value(Statistic::Percentile99) - 97.6).abs() < 1e-9);
        assert_eq!(value(Statistic::Slowest), 100.0);
        assert_eq!(visits_per_ip(&all)[0], ("1.1.1.1".to_owned(), 3));
        assert_eq!(compute(Statistic::Median, &[]), None);
        let boxes = box_plots(&all);
        assert_eq!((boxes[1].endpoint.as_str(), boxes[1].min, boxes[1].median, boxes[1].max), ("/b", 40.0, 70.0, 100.0));
    }

    #[test]
    fn summaries_merge_to_what_the_calls_give() {
        let calls: Vec<Call> =
            (1..=200).map(|n| Call { at: n, endpoint: "e".into(), duration: n as f64 * 1.5, ip: format!("10.0.0.{}", n % 7) }).collect();
        let refs: Vec<&Call> = calls.iter().collect();
        let (mut first, mut second) = (Summary::default(), Summary::default());
        for (n, call) in calls.iter().enumerate() {
            if n < 80 {
                first.add(call, if n == 3 { 503 } else { 200 })
            } else {
                second.add(call, 200)
            }
        }
        first.merge(&second);
        for statistic in [
            Statistic::TotalVisits,
            Statistic::TotalExecutionTime,
            Statistic::AverageExecutionTime,
            Statistic::UniqueVisitors,
            Statistic::Fastest,
            Statistic::Slowest,
        ] {
            let (exact, summarised) = (compute(statistic, &refs).unwrap(), first.value(statistic).unwrap());
            assert!((exact - summarised).abs() < 1e-9, "{statistic:?}: {exact} vs {summarised}");
        }
        for statistic in
            [Statistic::FastestQuartile, Statistic::Median, Statistic::SlowestQuartile, Statistic::Percentile90, Statistic::Percentile99]
        {
            let (exact, summarised) = (compute(statistic, &refs).unwrap(), first.value(statistic).unwrap());
            // Within the sketch's 1 %, plus the step between neighbouring ranks (1.5 ms here).
            assert!((exact - summarised).abs() <= exact * 0.01 + 1.5, "{statistic:?}: {exact} vs {summarised}");
        }
        assert_eq!(first.errors, 1);
        assert_eq!(first.visits_per_ip(), visits_per_ip(&refs));
    }

    #[test]
    fn the_sketch_stays_within_one_percent_and_merges() {
        let values: Vec<f64> = (1..=20_000).map(|i| (i as f64).powf(1.7) / 100.0).collect();
        let (mut left, mut right) = (Sketch::default(), Sketch::default());
        for (n, v) in values.iter().enumerate() {
            if n % 2 == 0 {
                left.add(*v)
            } else {
                right.add(*v)
            }
        }
        left.merge(&right);
        assert_eq!(left.count(), 20_000);
        for q in [0.0, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0] {
            let exact = values[(q * (values.len() - 1) as f64).round() as usize];
            let estimate = left.quantile(q).unwrap();
            assert!((estimate - exact).abs() <= exact * Sketch::RELATIVE_ERROR, "q {q}: {estimate} vs {exact}");
        }
    }
}
