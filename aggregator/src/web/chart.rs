//! The share chart: a person would rather look at the share per kernel than read it. An SVG
//! drawn by a template (`templates/chart.svg`), so every label is escaped like any page's text.

use askama::Template;

/// One bar: a label, a value in 0..=1 and the text shown after the bar.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub note: String,
}

const ROW: u32 = 30;
const LABEL_W: u32 = 170;
const BAR_W: u32 = 360;
const NOTE_W: u32 = 190;

/// A horizontal bar chart, one row per bar, with gridlines at every quarter.
#[derive(Template)]
#[template(path = "chart.svg")]
pub struct BarChart {
    title: String,
    width: u32,
    height: u32,
    label_w: u32,
    grid: Vec<Gridline>,
    rows: Vec<Row>,
}

struct Gridline {
    x: u32,
    label: String,
}

struct Row {
    label: String,
    note: String,
    /// Top of the bar.
    y: u32,
    width: u32,
    color: &'static str,
}

impl BarChart {
    pub fn new(title: &str, bars: &[Bar]) -> Self {
        let rows = bars
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let v = if b.value.is_finite() {
                    b.value.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let color = if v >= 0.95 {
                    "#2e7d32"
                } else if v >= 0.8 {
                    "#f9a825"
                } else {
                    "#c62828"
                };
                Row {
                    label: b.label.clone(),
                    note: b.note.clone(),
                    y: 6 + ROW * i as u32,
                    width: (v * BAR_W as f64).round() as u32,
                    color,
                }
            })
            .collect();
        BarChart {
            title: title.to_owned(),
            width: LABEL_W + BAR_W + NOTE_W,
            height: 34 + ROW * bars.len().max(1) as u32,
            label_w: LABEL_W,
            grid: (0..=4)
                .map(|q| Gridline {
                    x: LABEL_W + BAR_W * q / 4,
                    label: format!("{}%", q * 25),
                })
                .collect(),
            rows,
        }
    }

    /// Counts (machine models that fail, say) on a scale that ends at the largest one, so that
    /// a difference of a few machines shows, which a 0-100 % bar of shares hides. Gridlines
    /// are labelled with counts.
    pub fn counts(title: &str, bars: &[(String, usize, String)]) -> Self {
        let max = bars.iter().map(|b| b.1).max().unwrap_or(0).max(1);
        let scaled: Vec<Bar> = bars
            .iter()
            .map(|(label, n, note)| Bar {
                label: label.clone(),
                value: *n as f64 / max as f64,
                note: note.clone(),
            })
            .collect();
        let mut chart = BarChart::new(title, &scaled);
        for r in &mut chart.rows {
            r.color = "#c62828";
        }
        for (q, g) in chart.grid.iter_mut().enumerate() {
            g.label = format!("{:.0}", max as f64 * q as f64 / 4.0);
        }
        chart
    }

    // Positions the template reads.
    fn label_x(&self) -> u32 {
        LABEL_W - 8
    }
    fn note_x(&self) -> u32 {
        LABEL_W + BAR_W + 8
    }
    fn bar_h(&self) -> u32 {
        ROW - 8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_values_clamped() {
        let svg = BarChart::new(
            "t",
            &[Bar {
                label: "<script>x</script>".into(),
                value: f64::NAN,
                note: "a&b".into(),
            }],
        )
        .render()
        .unwrap();
        assert!(svg.contains("&#60;script&#62;"), "{svg}");
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("a&#38;b"));
        assert!(svg.contains("width=\"0\""));
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
    }

    /// Regression (issue 10 item 7): a 0-100 % bar hid differences of a few tenths; counts
    /// are drawn to the largest one.
    #[test]
    fn counts_scale_to_the_largest() {
        let c = BarChart::counts(
            "t",
            &[("a".into(), 40, "40".into()), ("b".into(), 38, "38".into())],
        );
        assert_eq!(c.rows[0].width, BAR_W);
        assert_eq!(c.rows[1].width, (38.0 * BAR_W as f64 / 40.0).round() as u32);
        assert_eq!(c.grid[4].label, "40");
    }
}
