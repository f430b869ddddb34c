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
    percent: u32,
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
                    percent: q * 25,
                })
                .collect(),
            rows,
        }
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
}
