//! Dashboards: Plotly figures, markdown and live dataset statistics on a
//! grid. The rules here are shared by the browser (inline validation while
//! editing) and the server (which decides).

use serde::{Deserialize, Serialize};

use crate::ApiError;

pub const TITLE_MAX_CHARS: usize = 200;
pub const DESCRIPTION_MAX_CHARS: usize = 2000;
pub const MAX_PANELS: usize = 100;
pub const MARKDOWN_MAX_CHARS: usize = 100_000;
/// Grid columns; panels are placed and sized in these units.
pub const GRID_COLUMNS: u32 = 12;
pub const MAX_PANEL_ROWS: u32 = 40;

/// A statistic of a dataset that stays live (computed from the index).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DatasetStat {
    LabelDistribution,
    FilesOverTime,
    SizeHistogram,
}

/// What a panel shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PanelContent {
    /// A Plotly figure exactly as Plotly's JSON (`fig.to_json()`):
    /// `{"data": [...], "layout": {...}}`.
    Figure {
        #[cfg_attr(feature = "openapi", schema(value_type = Object))]
        figure: serde_json::Value,
    },
    /// Markdown, rendered on the server and sanitised.
    Markdown {
        text: String,
    },
    DatasetStat {
        dataset: String,
        stat: DatasetStat,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Panel {
    #[serde(default)]
    pub title: String,
    /// Grid position and size, in columns (of 12) and rows.
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
    #[serde(flatten)]
    pub content: PanelContent,
}

/// A new dashboard.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewDashboard {
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub panels: Vec<Panel>,
}

/// A save: what changes, and the `version` it was made from (a dashboard
/// saved by someone else since is a 409, never overwritten).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DashboardChange {
    pub version: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub panels: Option<Vec<Panel>>,
    /// `public`: anyone with the link reads it (owner only).
    #[serde(default)]
    pub visibility: Option<crate::sharing::Visibility>,
}

/// Administrators' flags; unset ones stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DashboardFlags {
    #[serde(default)]
    pub whitelisted: Option<bool>,
    /// Read-only for everyone, and whitelisted.
    #[serde(default)]
    pub protected: Option<bool>,
}

/// A dashboard as its readers see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DashboardView {
    pub id: String,
    pub title: String,
    pub description: String,
    /// The owner's user id.
    pub owner: String,
    pub visibility: crate::sharing::Visibility,
    pub panels: Vec<Panel>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Send it back with a change.
    pub version: String,
    pub whitelisted: bool,
    pub protected: bool,
    /// Bytes of its stored JSON.
    pub bytes: u64,
    /// Whether the caller may change it.
    pub editable: bool,
    /// Whether the caller may share it (its owner, administrators).
    pub manageable: bool,
    /// Owner and members with their names (for those who may share it).
    pub members: Vec<crate::datasets::MemberView>,
    /// Among the next to be evicted if storage fills (and it is filling).
    pub at_risk: bool,
    /// The sanitised HTML of each markdown panel, by panel position (`null`
    /// for other panels).
    pub panel_html: Vec<Option<String>>,
}

/// A dashboard in a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DashboardSummary {
    pub id: String,
    pub title: String,
    pub description: String,
    /// The owner's user id.
    pub owner: String,
    pub updated_at: i64,
    /// Last viewed or saved (Unix seconds); eviction goes by it.
    pub last_used: i64,
    pub bytes: u64,
    pub whitelisted: bool,
    pub protected: bool,
    pub at_risk: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DashboardList {
    /// How many there are (the list holds the most recently used).
    pub total: u64,
    pub dashboards: Vec<DashboardSummary>,
    /// While the index is rebuilt the list may be incomplete.
    pub indexing: bool,
    /// Bytes the caller's own dashboards take (as of the last budget pass)…
    #[serde(default)]
    pub own_bytes: u64,
    /// …and the share past which eviction takes theirs before anyone else's.
    #[serde(default)]
    pub share_bytes: u64,
}

/// "Save as new": a copy owned by the caller, private.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DuplicateRequest {
    /// The copy's title [default: "Copy of …"].
    #[serde(default)]
    pub title: Option<String>,
}

/// Dashboard storage against its budget.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DashboardStorage {
    pub used_bytes: u64,
    pub budget_bytes: u64,
    /// Each owner's share: eviction takes first from owners over it.
    #[serde(default)]
    pub per_user_bytes: u64,
    /// Eviction starts when usage reaches this many bytes…
    pub evict_at_bytes: u64,
    /// …and deletes least-recently-used dashboards until usage is down to this.
    pub target_bytes: u64,
    pub dashboards: u64,
    pub at_risk: u64,
}

/// A dashboard deleted to keep storage within its budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Eviction {
    pub id: String,
    pub title: String,
    pub owner: String,
    pub bytes: u64,
    pub last_used: i64,
    pub evicted_at: i64,
}

/// What administrators see: storage, every dashboard (most recently used
/// first), and the eviction history (newest first).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DashboardAdmin {
    pub storage: DashboardStorage,
    pub dashboards: DashboardList,
    pub evictions: Vec<Eviction>,
}

/// A dataset statistic panel's current figure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatFigure {
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub figure: serde_json::Value,
}

/// Markdown to render (the editor's preview).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MarkdownRequest {
    pub text: String,
}

impl DatasetStat {
    pub fn label(self) -> &'static str {
        match self {
            DatasetStat::LabelDistribution => "Label distribution",
            DatasetStat::FilesOverTime => "Files and bytes over time",
            DatasetStat::SizeHistogram => "File-size histogram",
        }
    }
}

pub fn normalize_title(raw: &str) -> Result<String, ApiError> {
    let title = raw.trim();
    let chars = title.chars().count();
    if chars == 0 || chars > TITLE_MAX_CHARS {
        return Err(ApiError::invalid("title", format!("must be 1 to {TITLE_MAX_CHARS} characters long; it has {chars}")));
    }
    if title.chars().any(char::is_control) {
        return Err(ApiError::invalid("title", "must not contain control characters (tabs, line breaks …)"));
    }
    Ok(title.to_owned())
}

pub fn validate_description(description: &str) -> Result<(), ApiError> {
    let chars = description.chars().count();
    if chars > DESCRIPTION_MAX_CHARS {
        return Err(ApiError::invalid("description", format!("must be at most {DESCRIPTION_MAX_CHARS} characters long; it has {chars}")));
    }
    Ok(())
}

/// Checks a Plotly figure's shape: an object with a `data` array of trace
/// objects (each with a string `type` when it has one) and, optionally, a
/// `layout` object and a `frames` array. `field` names it in errors.
pub fn validate_figure(field: &str, figure: &serde_json::Value) -> Result<(), ApiError> {
    let bad = |rule: String| Err(ApiError::invalid(field, rule));
    let Some(object) = figure.as_object() else { return bad("must be a JSON object with a \"data\" array (Plotly's figure JSON)".into()) };
    let Some(data) = object.get("data").and_then(|d| d.as_array()) else {
        return bad("must have \"data\": an array of traces, as Plotly's fig.to_json() writes".into());
    };
    for (n, trace) in data.iter().enumerate() {
        let Some(trace) = trace.as_object() else { return bad(format!("data[{n}] must be an object (a trace)")) };
        if trace.get("type").is_some_and(|t| !t.is_string()) {
            return bad(format!("data[{n}].type must be a string such as \"scatter\" or \"bar\""));
        }
    }
    if object.get("layout").is_some_and(|l| !l.is_object()) {
        return bad("\"layout\" must be an object".into());
    }
    if object.get("frames").is_some_and(|f| !f.is_array()) {
        return bad("\"frames\" must be an array".into());
    }
    Ok(())
}

/// Checks every panel: count, grid bounds, content. Errors name the panel
/// (`panels[3].figure: …`).
pub fn validate_panels(panels: &[Panel]) -> Result<(), ApiError> {
    if panels.len() > MAX_PANELS {
        return Err(ApiError::invalid("panels", format!("at most {MAX_PANELS} panels; there are {}", panels.len())));
    }
    for (n, panel) in panels.iter().enumerate() {
        let at = |what: &str| format!("panels[{n}].{what}");
        if panel.title.chars().count() > TITLE_MAX_CHARS {
            return Err(ApiError::invalid(at("title"), format!("must be at most {TITLE_MAX_CHARS} characters")));
        }
        if panel.w == 0 || panel.x + panel.w > GRID_COLUMNS {
            return Err(ApiError::invalid(
                at("w"),
                format!("the panel must fit the {GRID_COLUMNS} columns: x + w ≤ {GRID_COLUMNS}, w ≥ 1"),
            ));
        }
        if panel.h == 0 || panel.h > MAX_PANEL_ROWS {
            return Err(ApiError::invalid(at("h"), format!("must be 1 to {MAX_PANEL_ROWS} rows")));
        }
        match &panel.content {
            PanelContent::Figure { figure } => validate_figure(&at("figure"), figure)?,
            PanelContent::Markdown { text } if text.chars().count() > MARKDOWN_MAX_CHARS => {
                return Err(ApiError::invalid(at("text"), format!("must be at most {MARKDOWN_MAX_CHARS} characters")));
            }
            PanelContent::Markdown { .. } => {}
            PanelContent::DatasetStat { dataset, .. } => {
                if dataset.len() != 16 || !dataset.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(ApiError::invalid(at("dataset"), "must be a dataset id (16 hex digits)"));
                }
            }
        }
    }
    Ok(())
}

/// A figure's data as CSV: one row per point, `trace` first, then the
/// trace arrays that exist (`x`, `y`, `z`, `labels`, `values`, `text`).
pub fn figure_csv(figure: &serde_json::Value) -> String {
    const COLUMNS: [&str; 6] = ["x", "y", "z", "labels", "values", "text"];
    let traces: Vec<&serde_json::Map<String, serde_json::Value>> =
        figure.get("data").and_then(|d| d.as_array()).map(|d| d.iter().filter_map(|t| t.as_object()).collect()).unwrap_or_default();
    let present: Vec<&str> = COLUMNS.into_iter().filter(|c| traces.iter().any(|t| t.get(*c).is_some_and(|v| v.is_array()))).collect();
    let cell = |value: &serde_json::Value| -> String {
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => other.to_string(),
        };
        if text.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", text.replace('"', "\"\""))
        } else {
            text
        }
    };
    let mut csv = std::iter::once("trace").chain(present.iter().copied()).collect::<Vec<_>>().join(",");
    csv.push('\n');
    for (n, trace) in traces.iter().enumerate() {
        let name = trace.get("name").and_then(|v| v.as_str()).map(str::to_owned).unwrap_or_else(|| format!("trace {n}"));
        let arrays: Vec<Option<&Vec<serde_json::Value>>> = present.iter().map(|c| trace.get(*c).and_then(|v| v.as_array())).collect();
        let rows = arrays.iter().flatten().map(|a| a.len()).max().unwrap_or(0);
        for row in 0..rows {
            let mut line = vec![cell(&serde_json::Value::String(name.clone()))];
            line.extend(arrays.iter().map(|a| a.and_then(|a| a.get(row)).map(cell).unwrap_or_default()));
            csv.push_str(&line.join(","));
            csv.push('\n');
        }
    }
    csv
}

/// Places panels in their order on the 12-column grid, left to right, a new
/// row when the next one does not fit.
pub fn flow_layout(panels: &mut [Panel]) {
    let (mut x, mut y, mut row_height) = (0, 0, 0);
    for panel in panels {
        panel.w = panel.w.clamp(1, GRID_COLUMNS);
        panel.h = panel.h.clamp(1, MAX_PANEL_ROWS);
        if x + panel.w > GRID_COLUMNS {
            (x, y, row_height) = (0, y + row_height, 0);
        }
        (panel.x, panel.y) = (x, y);
        x += panel.w;
        row_height = row_height.max(panel.h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn figure_data_becomes_csv() {
        let figure = json!({"data": [{"name": "loss", "x": [1, 2], "y": [0.5, 0.25]}, {"type": "pie", "labels": ["a,b"], "values": [3]}]});
        assert_eq!(figure_csv(&figure), "trace,x,y,labels,values\nloss,1,0.5,,\nloss,2,0.25,,\ntrace 1,,,\"a,b\",3\n");
    }

    #[test]
    fn panels_flow_into_rows() {
        let mut panels: Vec<Panel> = [8, 4, 6, 12]
            .into_iter()
            .map(|w| Panel { title: String::new(), x: 0, y: 0, w, h: 3, content: PanelContent::Markdown { text: String::new() } })
            .collect();
        flow_layout(&mut panels);
        let places: Vec<(u32, u32)> = panels.iter().map(|p| (p.x, p.y)).collect();
        assert_eq!(places, [(0, 0), (8, 0), (0, 3), (0, 6)]);
    }

    fn panel(content: PanelContent) -> Panel {
        Panel { title: String::new(), x: 0, y: 0, w: 6, h: 4, content }
    }

    #[test]
    fn plotly_figures_are_checked_for_their_shape() {
        let ok = json!({"data": [{"type": "bar", "x": [1, 2], "y": [3, 4]}], "layout": {"title": {"text": "t"}}});
        assert!(validate_figure("figure", &ok).is_ok());
        for (bad, says) in [
            (json!([1, 2]), "JSON object"),
            (json!({"layout": {}}), "\"data\""),
            (json!({"data": [3]}), "data[0]"),
            (json!({"data": [{"type": 3}]}), "data[0].type"),
            (json!({"data": [], "layout": []}), "layout"),
        ] {
            let err = validate_figure("figure", &bad).unwrap_err();
            assert!(err.message.contains(says) && err.field.as_deref() == Some("figure"), "{bad}: {}", err.message);
        }
    }

    #[test]
    fn panels_must_fit_the_grid_and_name_themselves_in_errors() {
        let figure = PanelContent::Figure { figure: json!({"data": []}) };
        assert!(validate_panels(&[panel(figure.clone())]).is_ok());
        let wide = Panel { x: 8, w: 6, ..panel(figure.clone()) };
        assert_eq!(validate_panels(&[panel(figure.clone()), wide]).unwrap_err().field.as_deref(), Some("panels[1].w"));
        let broken = panel(PanelContent::Figure { figure: json!({"data": "x"}) });
        assert_eq!(validate_panels(&[broken]).unwrap_err().field.as_deref(), Some("panels[0].figure"));
        let stat = panel(PanelContent::DatasetStat { dataset: "nope".into(), stat: DatasetStat::SizeHistogram });
        assert_eq!(validate_panels(&[stat]).unwrap_err().field.as_deref(), Some("panels[0].dataset"));
        assert!(validate_panels(&vec![panel(figure); MAX_PANELS + 1]).is_err());
    }

    #[test]
    fn panels_read_and_write_as_flat_json() {
        let json = json!({"title": "Loss", "x": 0, "y": 0, "w": 12, "h": 6, "kind": "markdown", "text": "# Hi"});
        let panel: Panel = serde_json::from_value(json.clone()).unwrap();
        assert_eq!(panel.content, PanelContent::Markdown { text: "# Hi".into() });
        assert_eq!(serde_json::to_value(&panel).unwrap(), json);
        assert!(normalize_title("  ").is_err());
        assert_eq!(normalize_title(" Training ").unwrap(), "Training");
    }
}
