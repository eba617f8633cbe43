//! Statistics of a source's calls over a range, from the stored segments.
//! Endpoints switched off for display are left out of everything but the
//! endpoint table (where they can be switched back on).

use agora_model::monitoring::{
    box_plot, compute, format_iso8601, quantile, slices, visits_per_ip, weekday_hour, BoxPlot, Call, EndpointRow, NewAlertRule, Query,
    SlicePoint, SourceOverview, Statistic, StatsAnswer, Summary,
};
use agora_model::{ApiError, ErrorKind};
use futures::StreamExt;

use super::rollup::{merged, whole_complete_days};
use super::{Monitor, DAY_MS};

fn unavailable(err: crate::storage::StorageError) -> ApiError {
    tracing::warn!(error = %err, "monitoring segments could not be read");
    ApiError::new(ErrorKind::Unavailable, "the recorded requests cannot be read right now; try again shortly")
}

impl Monitor {
    /// The range a query means: its start (default: the first recorded day)
    /// and end (default: now).
    async fn range(&self, source: &str, start: Option<i64>, end: Option<i64>) -> Result<(i64, i64), ApiError> {
        let end = end.unwrap_or_else(crate::accounts::unix_now_ms);
        let start = match start {
            Some(start) => start,
            None => self.first_day(source).await.map_err(unavailable)?.unwrap_or(end).min(end),
        };
        Ok((start, end))
    }

    /// Calls in `[start, end)` (of one endpoint when given, else of every
    /// endpoint not in `hidden`), oldest first, with their statuses.
    pub async fn calls_in(
        &self,
        source: &str,
        start: i64,
        end: i64,
        endpoint: Option<&str>,
        hidden: &[String],
    ) -> Result<Vec<(Call, u16)>, ApiError> {
        let segments = self.calls(source, start, end).await.map_err(unavailable)?;
        let wanted = |name: &str| match endpoint {
            Some(e) => name == e,
            None => !hidden.iter().any(|h| h == name),
        };
        let mut calls: Vec<(Call, u16)> = segments
            .iter()
            .flat_map(|s| s.iter())
            .filter(|c| c.at >= start && c.at < end && wanted(&c.endpoint))
            .map(|c| (c.call(), c.status))
            .collect();
        calls.sort_by_key(|(c, _)| c.at);
        Ok(calls)
    }

    /// A statistic over a range, whole or in slices. Whole days that are
    /// complete (ending by `complete_until`, Unix ms) and lie inside one
    /// slice come from their rollups; the rest from the calls themselves. A
    /// slice without a rollup day is computed exactly; one with rollup days
    /// takes its percentiles from their sketches (within 1 %).
    pub async fn statistics(&self, source: &str, hidden: &[String], complete_until: i64, query: &Query) -> Result<StatsAnswer, ApiError> {
        let (start, end) = self.range(source, query.start, query.end).await?;
        let endpoint = query.endpoint.as_deref();
        let pieces: Vec<(Option<String>, i64, i64)> = match query.slicing {
            None => vec![(None, start, end)],
            Some(slicing) => slices(slicing, start, end)?.into_iter().map(|(key, from, to)| (Some(key), from, to)).collect(),
        };
        let rollup_days: Vec<i64> =
            pieces.iter().flat_map(|(_, from, to)| whole_complete_days((*from).max(start), (*to).min(end), complete_until)).collect();
        // The calls of everything the rollups do not cover, oldest first.
        let mut calls = Vec::new();
        let mut cursor = start;
        for day in rollup_days.iter().copied().chain(std::iter::once(end)) {
            if day > cursor {
                calls.extend(self.calls_in(source, cursor, day, endpoint, hidden).await?);
            }
            cursor = day + DAY_MS;
        }
        let with_ips = matches!(query.statistic, Statistic::UniqueVisitors | Statistic::VisitsPerIp);
        // Read a few at a time: a year is 365 objects.
        let rollups: Vec<_> = futures::stream::iter(rollup_days.clone())
            .map(|day| self.day_rollup(source, day, with_ips))
            .buffered(8)
            .collect::<Vec<_>>()
            .await;
        let mut days = std::collections::BTreeMap::new();
        for (day, rollup) in rollup_days.iter().zip(rollups) {
            let rollup = rollup.map_err(unavailable)?;
            days.insert(*day, merged(&rollup, endpoint, hidden, with_ips));
        }
        let mut answer = StatsAnswer {
            statistic: query.statistic.name().to_owned(),
            endpoint: query.endpoint.clone(),
            start: format_iso8601(start),
            end: format_iso8601(end),
            calls: calls.len() as u64 + days.values().map(|s| s.count).sum::<u64>(),
            ..Default::default()
        };
        for (key, from, to) in pieces {
            // The piece's own calls (they are sorted by time).
            let in_piece = &calls[calls.partition_point(|(c, _)| c.at < from)..calls.partition_point(|(c, _)| c.at < to)];
            let raw: Vec<&Call> = in_piece.iter().map(|(c, _)| c).collect();
            let summary = (days.range(from..to).next().is_some()).then(|| {
                let mut summary = Summary::default();
                for part in days.range(from..to).map(|(_, s)| s) {
                    summary.merge(part);
                }
                // (The days' addresses are empty unless the statistic needs them.)
                for (call, status) in in_piece {
                    summary.add(call, *status);
                }
                summary
            });
            if query.statistic == Statistic::VisitsPerIp {
                answer.visits_per_ip = summary.map(|s| s.visits_per_ip()).unwrap_or_else(|| visits_per_ip(&raw));
                continue;
            }
            let value = match &summary {
                Some(summary) => summary.value(query.statistic),
                None => compute(query.statistic, &raw),
            };
            match key {
                Some(key) => answer.series.push(SlicePoint { key, start: format_iso8601(from), value }),
                None => answer.value = value,
            }
        }
        Ok(answer)
    }

    /// Endpoints, box plots and the weekday × hour load over a range.
    pub async fn overview(
        &self,
        source: &str,
        hidden: &[String],
        start: Option<i64>,
        end: Option<i64>,
    ) -> Result<SourceOverview, ApiError> {
        let (start, end) = self.range(source, start, end).await?;
        let calls = self.calls_in(source, start, end, None, &[]).await?;
        let shown = |endpoint: &str| !hidden.iter().any(|h| h == endpoint);
        let mut heatmap = vec![vec![0u64; 24]; 7];
        let mut shown_calls = 0;
        let mut by_endpoint: std::collections::BTreeMap<&str, (Vec<f64>, u64)> = Default::default();
        for (call, status) in &calls {
            if shown(&call.endpoint) {
                let (day, hour) = weekday_hour(call.at);
                heatmap[day][hour] += 1;
                shown_calls += 1;
            }
            let entry = by_endpoint.entry(call.endpoint.as_str()).or_default();
            entry.0.push(call.duration);
            entry.1 += u64::from(*status >= 500);
        }
        // Each endpoint's durations are sorted once, for its row and its box plot.
        let (mut endpoints, box_plots): (Vec<EndpointRow>, Vec<Option<BoxPlot>>) = by_endpoint
            .into_iter()
            .map(|(endpoint, (mut durations, errors))| {
                durations.sort_by(f64::total_cmp);
                let at = |q| quantile(&durations, q).unwrap_or_default();
                let row = EndpointRow {
                    endpoint: endpoint.to_owned(),
                    visits: durations.len() as u64,
                    median: at(0.5),
                    p90: at(0.9),
                    p99: at(0.99),
                    error_rate: errors as f64 / durations.len() as f64,
                    enabled: shown(endpoint),
                };
                let plot = row.enabled.then(|| box_plot(endpoint, &durations));
                (row, plot)
            })
            .unzip();
        endpoints.sort_by(|a, b| b.visits.cmp(&a.visits).then_with(|| a.endpoint.cmp(&b.endpoint)));
        Ok(SourceOverview {
            source: source.to_owned(),
            start: format_iso8601(start),
            end: format_iso8601(end),
            calls: shown_calls,
            endpoints,
            box_plots: box_plots.into_iter().flatten().collect(),
            heatmap,
        })
    }

    /// How many calls a source has had since `since` (Unix ms).
    pub async fn count_since(&self, source: &str, since: i64) -> Result<u64, ApiError> {
        let end = crate::accounts::unix_now_ms();
        // Counted in place: no call is copied out of its segment.
        let segments = self.calls(source, since, end).await.map_err(unavailable)?;
        Ok(segments.iter().flat_map(|s| s.iter()).filter(|c| c.at >= since && c.at < end).count() as u64)
    }

    /// An alert rule's value over the window ending `now`: its latency
    /// statistic in milliseconds, or the percentage of calls answered 5xx;
    /// `None` without calls.
    pub async fn alert_value(&self, source: &str, hidden: &[String], rule: &NewAlertRule, now: i64) -> Result<Option<f64>, ApiError> {
        let start = now - i64::from(rule.window_minutes) * 60_000;
        let calls = self.calls_in(source, start, now, rule.endpoint.as_deref(), hidden).await?;
        if calls.is_empty() {
            return Ok(None);
        }
        Ok(match rule.latency_statistic() {
            Some(statistic) => compute(statistic, &calls.iter().map(|(c, _)| c).collect::<Vec<_>>()),
            None => Some(100.0 * calls.iter().filter(|(_, status)| *status >= 500).count() as f64 / calls.len() as f64),
        })
    }
}
