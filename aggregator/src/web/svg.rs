//! Hand-written SVG charts: a person would rather look at the share per kernel than read it.

use std::fmt::Write;

use crate::error::escape_html;

/// One bar: a label, a value in 0..=1 and the text shown after the bar.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub note: String,
}

/// Horizontal bar chart, one row per bar. Every text is escaped: labels come from data.
pub fn bar_chart(title: &str, bars: &[Bar]) -> String {
    const ROW: u32 = 30;
    const LABEL_W: u32 = 170;
    const BAR_W: u32 = 360;
    const NOTE_W: u32 = 190;
    let width = LABEL_W + BAR_W + NOTE_W;
    let height = 34 + ROW * bars.len().max(1) as u32;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" role=\"img\" \
         width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" \
         aria-label=\"{t}\"><title>{t}</title>",
        t = escape_html(title)
    );
    // Gridlines at 0, 25, 50, 75 and 100 %.
    for q in 0..=4 {
        let x = LABEL_W + BAR_W * q / 4;
        let _ = write!(
            s,
            "<line x1=\"{x}\" y1=\"4\" x2=\"{x}\" y2=\"{y}\" stroke=\"#ccc\"/>\
             <text x=\"{x}\" y=\"{ty}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">{p}%</text>",
            y = height - 20,
            ty = height - 6,
            p = q * 25
        );
    }
    for (i, b) in bars.iter().enumerate() {
        let y = 6 + ROW * i as u32;
        let v = if b.value.is_finite() {
            b.value.clamp(0.0, 1.0)
        } else {
            0.0
        };
        let w = (v * BAR_W as f64).round() as u32;
        let color = if v >= 0.95 {
            "#2e7d32"
        } else if v >= 0.8 {
            "#f9a825"
        } else {
            "#c62828"
        };
        let _ = write!(
            s,
            "<text x=\"{lx}\" y=\"{ty}\" font-size=\"13\" text-anchor=\"end\">{label}</text>\
             <rect x=\"{LABEL_W}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{color}\"><title>{label}: {note}</title></rect>\
             <text x=\"{nx}\" y=\"{ty}\" font-size=\"13\">{note}</text>",
            lx = LABEL_W - 8,
            ty = y + 16,
            h = ROW - 8,
            nx = LABEL_W + BAR_W + 8,
            label = escape_html(&b.label),
            note = escape_html(&b.note),
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_values_clamped() {
        let svg = bar_chart(
            "t",
            &[Bar {
                label: "<script>x</script>".into(),
                value: f64::NAN,
                note: "a&b".into(),
            }],
        );
        assert!(svg.contains("&lt;script&gt;"));
        assert!(!svg.contains("<script>"));
        assert!(svg.contains("a&amp;b"));
        assert!(svg.contains("width=\"0\""));
    }
}
