//! Statistics of Agora's own requests over a range, from the stored segments.

use agora_model::monitoring::{
    box_plot, compute, format_iso8601, quantile, slices, visits_per_ip, weekday_hour, BoxPlot, Call, EndpointRow, Query, SlicePoint,
    SourceOverview, Statistic, StatsAnswer,
};
use agora_model::{ApiError, ErrorKind};

use super::Monitor;

fn unavailable(err: crate::storage::StorageError) -> ApiError {
    tracing::warn!(error = %err, "monitoring segments could not be read");
    ApiError::new(ErrorKind::Unavailable, "the recorded requests cannot be read right now; try again shortly")
}

impl Monitor {
    /// The range a query means: its start (default: the first recorded day)
    /// and end (default: now).
    async fn range(&self, start: Option<i64>, end: Option<i64>) -> Result<(i64, i64), ApiError> {
        let end = end.unwrap_or_else(crate::accounts::unix_now_ms);
        let start = match start {
            Some(start) => start,
            None => self.first_day().await.map_err(unavailable)?.unwrap_or(end).min(end),
        };
        Ok((start, end))
    }

    /// Calls in `[start, end)` (of one endpoint when given), oldest first,
    /// with their statuses.
    async fn calls_in(&self, start: i64, end: i64, endpoint: Option<&str>) -> Result<Vec<(Call, u16)>, ApiError> {
        let segments = self.calls(start, end).await.map_err(unavailable)?;
        let mut calls: Vec<(Call, u16)> = segments
            .iter()
            .flat_map(|s| s.iter())
            .filter(|c| c.at >= start && c.at < end && endpoint.is_none_or(|e| c.endpoint == e))
            .map(|c| (c.call(), c.status))
            .collect();
        calls.sort_by_key(|(c, _)| c.at);
        Ok(calls)
    }

    pub async fn statistics(&self, query: &Query) -> Result<StatsAnswer, ApiError> {
        let (start, end) = self.range(query.start, query.end).await?;
        let calls = self.calls_in(start, end, query.endpoint.as_deref()).await?;
        let refs: Vec<&Call> = calls.iter().map(|(c, _)| c).collect();
        let mut answer = StatsAnswer {
            statistic: query.statistic.name().to_owned(),
            endpoint: query.endpoint.clone(),
            start: format_iso8601(start),
            end: format_iso8601(end),
            calls: refs.len() as u64,
            ..Default::default()
        };
        if query.statistic == Statistic::VisitsPerIp {
            answer.visits_per_ip = visits_per_ip(&refs);
            return Ok(answer);
        }
        match query.slicing {
            None => answer.value = compute(query.statistic, &refs),
            Some(slicing) => {
                let mut at = 0;
                for (key, from, to) in slices(slicing, start, end)? {
                    while at < refs.len() && refs[at].at < from {
                        at += 1;
                    }
                    let first = at;
                    while at < refs.len() && refs[at].at < to {
                        at += 1;
                    }
                    answer.series.push(SlicePoint { key, start: format_iso8601(from), value: compute(query.statistic, &refs[first..at]) });
                }
            }
        }
        Ok(answer)
    }

    /// Endpoints, box plots and the weekday × hour load over a range.
    pub async fn overview(&self, start: Option<i64>, end: Option<i64>) -> Result<SourceOverview, ApiError> {
        let (start, end) = self.range(start, end).await?;
        let calls = self.calls_in(start, end, None).await?;
        let mut heatmap = vec![vec![0u64; 24]; 7];
        let mut by_endpoint: std::collections::BTreeMap<&str, (Vec<f64>, u64)> = Default::default();
        for (call, status) in &calls {
            let (day, hour) = weekday_hour(call.at);
            heatmap[day][hour] += 1;
            let entry = by_endpoint.entry(call.endpoint.as_str()).or_default();
            entry.0.push(call.duration);
            entry.1 += u64::from(*status >= 500);
        }
        // Each endpoint's durations are sorted once, for its row and its box plot.
        let (mut endpoints, box_plots): (Vec<EndpointRow>, Vec<BoxPlot>) = by_endpoint
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
                };
                (row, box_plot(endpoint, &durations))
            })
            .unzip();
        endpoints.sort_by(|a, b| b.visits.cmp(&a.visits).then_with(|| a.endpoint.cmp(&b.endpoint)));
        Ok(SourceOverview {
            source: "agora".into(),
            start: format_iso8601(start),
            end: format_iso8601(end),
            calls: calls.len() as u64,
            endpoints,
            box_plots,
            heatmap,
        })
    }
}
