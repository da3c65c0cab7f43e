//! Charts drawn on the server as SVG (no script, no CDN): a column chart of a trend and a
//! horizontal bar chart of a ranking. Labels are escaped; the SVG is the only markup built
//! outside templates besides search highlights.

use platform::pages::escape;

const W: i64 = 720;

/// Columns of `(label, value)` left to right, with the value above each and every few labels
/// under the axis.
pub fn columns(points: &[(String, i64)], title: &str) -> String {
    let h = 220;
    let top = 20;
    let bottom = 40;
    let left = 10;
    let n = i64::try_from(points.len()).unwrap_or(0).max(1);
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    let slot = (W - left * 2) / n;
    let bar = (slot * 7 / 10).max(2);
    let every = (n / 12).max(1);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {h}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>",
        escape(title),
        escape(title)
    );
    let base = h - bottom;
    svg.push_str(&format!(
        "<line class=\"axis\" x1=\"{left}\" y1=\"{base}\" x2=\"{}\" y2=\"{base}\"/>",
        W - left
    ));
    for (i, (label, v)) in points.iter().enumerate() {
        let i = i64::try_from(i).unwrap_or(0);
        let bh = (base - top) * v / max;
        let x = left + i * slot + (slot - bar) / 2;
        svg.push_str(&format!(
            "<rect class=\"bar\" x=\"{x}\" y=\"{}\" width=\"{bar}\" height=\"{bh}\"><title>{}：{v}</title></rect>",
            base - bh,
            escape(label)
        ));
        if n <= 16 || i % every == 0 {
            svg.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x + bar / 2,
                base - bh - 4,
                v
            ));
            svg.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x + bar / 2,
                base + 16,
                escape(label)
            ));
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Horizontal bars of `(label, value)`, largest first as given.
pub fn bars(items: &[(String, i64)], title: &str) -> String {
    let row = 24;
    let label_w = 200;
    let n = i64::try_from(items.len()).unwrap_or(0);
    let h = (n * row + 10).max(34);
    let max = items.iter().map(|p| p.1).max().unwrap_or(0).max(1);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {h}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\"><title>{}</title>",
        escape(title),
        escape(title)
    );
    for (i, (label, v)) in items.iter().enumerate() {
        let y = i64::try_from(i).unwrap_or(0) * row + 5;
        let bw = (W - label_w - 70) * v / max;
        let short: String = label.chars().take(18).collect();
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text><rect class=\"bar\" x=\"{label_w}\" y=\"{y}\" width=\"{bw}\" height=\"{}\"/><text x=\"{}\" y=\"{}\">{v}</text>",
            label_w - 6,
            y + 15,
            escape(&short),
            row - 8,
            label_w + bw + 6,
            y + 15
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_bars_scale() {
        let svg = columns(&[("<a>".to_owned(), 10), ("b".to_owned(), 5)], "访问量");
        assert!(svg.contains("&lt;a&gt;") && !svg.contains("<a>"));
        assert!(
            svg.contains("height=\"160\"") && svg.contains("height=\"80\""),
            "{svg}"
        );
        let svg = bars(&[("/policies".to_owned(), 3)], "页面");
        assert!(svg.starts_with("<svg") && svg.contains("/policies"));
        assert!(columns(&[], "空").contains("<svg"));
    }
}
