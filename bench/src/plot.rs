//! Hand-written SVG bar charts (no plotting crate: a few lines of SVG compile faster than
//! any of them and render in every browser and on GitHub).

use std::fmt::Write;

/// One series of a grouped bar chart: a name and one value per category (`None`: not run).
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// One value per category.
    pub values: Vec<Option<f64>>,
}

const COLORS: [&str; 6] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
];

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A grouped bar chart: categories along x, one bar per series in each, values printed on top.
pub fn bar_chart(title: &str, y_label: &str, categories: &[String], series: &[Series]) -> String {
    let (w, h) = (760.0f64, 420.0f64);
    let (left, right, top, bottom) = (70.0, 20.0, 50.0, 70.0);
    let plot_w = w - left - right;
    let plot_h = h - top - bottom;
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().flatten())
        .fold(0.0f64, |a, &b| a.max(b));
    let y_max = nice_ceiling(if max > 0.0 { max } else { 1.0 });
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="24" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
        w / 2.0,
        escape(title)
    );
    for i in 0..=5 {
        let v = y_max * i as f64 / 5.0;
        let y = top + plot_h - plot_h * i as f64 / 5.0;
        let _ = writeln!(
            svg,
            r##"<line x1="{left}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            left + plot_w,
            left - 6.0,
            y + 4.0,
            fmt_value(v)
        );
    }
    let _ = writeln!(
        svg,
        r#"<text transform="translate(18,{:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        top + plot_h / 2.0,
        escape(y_label)
    );
    let n_cat = categories.len().max(1) as f64;
    let n_ser = series.len().max(1) as f64;
    let group_w = plot_w / n_cat;
    let bar_w = group_w * 0.8 / n_ser;
    for (ci, cat) in categories.iter().enumerate() {
        let gx = left + group_w * ci as f64;
        let _ = writeln!(
            svg,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            gx + group_w / 2.0,
            top + plot_h + 18.0,
            escape(cat)
        );
        for (si, s) in series.iter().enumerate() {
            let x = gx + group_w * 0.1 + bar_w * si as f64;
            match s.values.get(ci).copied().flatten() {
                Some(v) => {
                    let bh = plot_h * (v / y_max).clamp(0.0, 1.0);
                    let _ = writeln!(
                        svg,
                        r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="{}"/><text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10">{}</text>"#,
                        top + plot_h - bh,
                        bar_w * 0.95,
                        COLORS[si % COLORS.len()],
                        x + bar_w / 2.0,
                        top + plot_h - bh - 3.0,
                        fmt_value(v)
                    );
                }
                None => {
                    let _ = writeln!(
                        svg,
                        r##"<text x="{:.1}" y="{:.1}" text-anchor="middle" font-size="10" fill="#888">n/a</text>"##,
                        x + bar_w / 2.0,
                        top + plot_h - 3.0
                    );
                }
            }
        }
    }
    let _ = writeln!(
        svg,
        r#"<line x1="{left}" y1="{:.1}" x2="{:.1}" y2="{:.1}" stroke="black"/>"#,
        top + plot_h,
        left + plot_w,
        top + plot_h
    );
    for (si, s) in series.iter().enumerate() {
        let x = left + 10.0 + 220.0 * (si % 3) as f64;
        let y = h - 28.0 + 14.0 * (si / 3) as f64;
        let _ = writeln!(
            svg,
            r#"<rect x="{x:.1}" y="{:.1}" width="12" height="12" fill="{}"/><text x="{:.1}" y="{y:.1}">{}</text>"#,
            y - 10.0,
            COLORS[si % COLORS.len()],
            x + 16.0,
            escape(&s.name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn fmt_value(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// The smallest of 1, 2, 2.5, 5 x 10^k that is >= v.
fn nice_ceiling(v: f64) -> f64 {
    let p = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * p >= v {
            return m * p;
        }
    }
    10.0 * p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_is_well_formed() {
        let svg = bar_chart(
            "fan-out <64 B>",
            "Mpps",
            &["1".into(), "2".into()],
            &[
                Series {
                    name: "mrouter".into(),
                    values: vec![Some(12.5), None],
                },
                Series {
                    name: "testpmd".into(),
                    values: vec![Some(40.0), Some(38.0)],
                },
            ],
        );
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("&lt;64 B&gt;") && svg.contains("n/a"));
        assert_eq!(nice_ceiling(37.0), 50.0);
        assert_eq!(nice_ceiling(0.7), 1.0);
    }
}
