//! Codes: the stable identifiers administrators give to what they configure (connectors,
//! partners), used in URLs (`/go/{code}`, `/exchange/{partner}/...`) and audit records.

/// Whether `code` is a valid code: 2 to 40 characters, a lower-case letter first, then
/// lower-case letters, digits and single hyphens, not ending in a hyphen.
pub fn valid_code(code: &str) -> bool {
    (2..=40).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_lowercase())
        && !code.ends_with('-')
        && !code.contains("--")
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_plain_lower_case_words_joined_by_hyphens() {
        for ok in ["ab", "safe-forex", "credit-2", "a1"] {
            assert!(super::valid_code(ok), "{ok}");
        }
        for bad in ["a", "Ab", "1a", "a-", "a--b", "a_b", &"a".repeat(41)] {
            assert!(!super::valid_code(bad), "{bad}");
        }
    }
}
