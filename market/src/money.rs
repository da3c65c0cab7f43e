//! Amounts as people type them (万元, annual %) to integers and back, by digits: no floats.

/// Parses a decimal number with at most `scale` decimals into an integer of `10^-scale` units.
fn decimal(text: &str, scale: u32) -> Result<i64, String> {
    let t = text.trim().replace([',', '，'], "");
    if t.is_empty() {
        return Err("不能为空。".into());
    }
    let (int, frac) = t.split_once('.').unwrap_or((&t, ""));
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if !digits(int) || (!frac.is_empty() && !digits(frac)) || (t.ends_with('.')) {
        return Err("请填写数字。".into());
    }
    if frac.len() > scale as usize {
        return Err(format!("最多保留 {scale} 位小数。"));
    }
    let int: i64 = int.parse().map_err(|_| "数值过大。".to_owned())?;
    let mut f = frac.to_owned();
    while f.len() < scale as usize {
        f.push('0');
    }
    let frac: i64 = if f.is_empty() {
        0
    } else {
        f.parse().map_err(|_| "请填写数字。".to_owned())?
    };
    int.checked_mul(10_i64.pow(scale))
        .and_then(|v| v.checked_add(frac))
        .ok_or_else(|| "数值过大。".to_owned())
}

/// 万元 (up to four decimals, i.e. whole 元) to fen. At most 1,000,000 万元 (100 亿元).
pub fn wan_to_fen(text: &str) -> Result<i64, String> {
    let yuan = decimal(text, 4)?;
    if yuan > 10_000_000_000 {
        return Err("不能超过 1,000,000 万元。".into());
    }
    Ok(yuan * 100)
}

/// Fen to 万元 as typed back into a form: `1234500` fen → `1.2345`; `50000000000` → `50000`.
pub fn fen_to_wan(fen: i64) -> String {
    let yuan = fen / 100;
    let (w, r) = (yuan / 10_000, yuan % 10_000);
    if r == 0 {
        w.to_string()
    } else {
        format!("{w}.{r:04}").trim_end_matches('0').to_owned()
    }
}

/// Fen as people read it: `1,234.56 万元` for large sums, `850 元` for small ones.
pub fn show_fen(fen: i64) -> String {
    let yuan = fen / 100;
    if yuan >= 10_000 {
        format!("{} 万元", group(&fen_to_wan(fen)))
    } else if fen % 100 == 0 {
        format!("{yuan} 元")
    } else {
        format!("{yuan}.{:02} 元", fen % 100)
    }
}

fn group(number: &str) -> String {
    let (int, frac) = number.split_once('.').unwrap_or((number, ""));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if !frac.is_empty() {
        out.push('.');
        out.push_str(frac);
    }
    out
}

/// Annual % (up to two decimals) to basis points: `4.35` → 435.
pub fn percent_to_bp(text: &str) -> Result<i64, String> {
    decimal(text.trim().trim_end_matches('%'), 2)
}

/// Basis points to %: 435 → `4.35`, 400 → `4`.
pub fn bp_to_percent(bp: i64) -> String {
    if bp % 100 == 0 {
        (bp / 100).to_string()
    } else {
        format!("{}.{:02}", bp / 100, bp % 100)
            .trim_end_matches('0')
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_parsed_by_digits() {
        assert_eq!(wan_to_fen("100"), Ok(100_000_000));
        assert_eq!(wan_to_fen("0.0001"), Ok(100));
        assert_eq!(wan_to_fen("12.5"), Ok(12_500_000));
        assert_eq!(wan_to_fen("1,000"), Ok(1_000_000_000));
        assert!(wan_to_fen("0.00001").is_err());
        assert!(wan_to_fen("1e3").is_err());
        assert!(wan_to_fen("-5").is_err());
        assert!(wan_to_fen("").is_err());
        assert!(wan_to_fen("5.").is_err());
        assert!(wan_to_fen("99999999999999999999").is_err());
        assert!(wan_to_fen("1000001").is_err());
        // 0.1 + 0.2 is exact here.
        assert_eq!(
            wan_to_fen("0.1").unwrap_or(0) + wan_to_fen("0.2").unwrap_or(0),
            wan_to_fen("0.3").unwrap_or(-1)
        );
    }

    #[test]
    fn amounts_round_trip() {
        for t in ["100", "0.0001", "12.5", "1.2345", "1000000"] {
            assert_eq!(fen_to_wan(wan_to_fen(t).unwrap_or(0)), t);
        }
        assert_eq!(show_fen(12_345_678_900), "12,345.6789 万元");
        assert_eq!(show_fen(85_000), "850 元");
        assert_eq!(show_fen(85_050), "850.50 元");
    }

    #[test]
    fn rates_are_basis_points() {
        assert_eq!(percent_to_bp("4.35"), Ok(435));
        assert_eq!(percent_to_bp("4.35%"), Ok(435));
        assert_eq!(percent_to_bp("4"), Ok(400));
        assert!(percent_to_bp("4.355").is_err());
        assert_eq!(bp_to_percent(435), "4.35");
        assert_eq!(bp_to_percent(400), "4");
        assert_eq!(bp_to_percent(450), "4.5");
    }
}
