//! Administrator passwords: argon2id (OWASP parameters: 19 MiB, 2 passes, 1 lane) in PHC
//! strings, a complexity policy in the spirit of 等保 level 3, and generated initial passwords.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

pub const MIN_LEN: usize = 12;
pub const MAX_LEN: usize = 128;

pub fn hash(password: &str) -> Option<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .ok()
        .map(|h| h.to_string())
}

pub fn verify(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the time a real verification would, so that an unknown user name cannot be told from
/// a wrong password by the response time.
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if let Some(phc) = DUMMY.get_or_init(|| hash("dummy-password-for-timing")) {
        let _ = verify(password, phc);
    }
}

/// Why a password is refused, in words an administrator can act on.
pub fn check_policy(password: &str, username: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(format!("must have at least {MIN_LEN} characters"));
    }
    if n > MAX_LEN {
        return Err(format!("must have at most {MAX_LEN} characters"));
    }
    let classes = [
        password.chars().any(|c| c.is_lowercase()),
        password.chars().any(|c| c.is_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_alphanumeric()),
    ];
    if classes.iter().filter(|c| **c).count() < 3 {
        return Err(
            "must mix at least three of: lower-case letters, upper-case letters, digits, symbols"
                .into(),
        );
    }
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        return Err("must not contain the user name".into());
    }
    Ok(())
}

/// A random 20-character password that satisfies the policy, without look-alike characters.
pub fn generate() -> Option<String> {
    const LOWER: &[u8] = b"abcdefghijkmnpqrstuvwxyz";
    const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
    const DIGIT: &[u8] = b"23456789";
    const SYMBOL: &[u8] = b"-_.!@#%+=";
    let all: Vec<u8> = [LOWER, UPPER, DIGIT, SYMBOL].concat();
    let random: [u8; 40] = guomi::random_bytes().ok()?;
    // Rejection sampling keeps the choice uniform over each alphabet.
    let pick = |set: &[u8], r: u8| -> Option<char> {
        let limit = 256 - (256 % set.len());
        (usize::from(r) < limit).then(|| char::from(set[usize::from(r) % set.len()]))
    };
    let mut out: Vec<char> = Vec::with_capacity(20);
    let mut bytes = random.iter().copied();
    for set in [LOWER, UPPER, DIGIT, SYMBOL] {
        out.push(bytes.by_ref().find_map(|r| pick(set, r))?);
    }
    while out.len() < 20 {
        out.push(bytes.by_ref().find_map(|r| pick(&all, r))?);
    }
    // Shuffle so that the guaranteed classes are not always first (Fisher–Yates).
    let shuffle: [u8; 20] = guomi::random_bytes().ok()?;
    for i in (1..out.len()).rev() {
        let j = usize::from(shuffle[i]) % (i + 1);
        out.swap(i, j);
    }
    Some(out.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = hash("Correct-horse-9").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify("Correct-horse-9", &h));
        assert!(!verify("correct-horse-9", &h));
        assert!(!verify("Correct-horse-9", "not a hash"));
    }

    #[test]
    fn policy() {
        assert!(
            check_policy("Short1!", "a")
                .unwrap_err()
                .contains("at least 12")
        );
        assert!(
            check_policy("alllowercaseletters", "a")
                .unwrap_err()
                .contains("three of")
        );
        assert!(
            check_policy("Alice-Password-1", "alice")
                .unwrap_err()
                .contains("user name")
        );
        assert_eq!(check_policy("Tr0ub4dor&3-xyz", "alice"), Ok(()));
    }

    #[test]
    fn generated_passwords_pass_the_policy_and_differ() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_eq!(a.chars().count(), 20);
        assert_eq!(check_policy(&a, "admin"), Ok(()), "{a}");
        assert_ne!(a, b);
    }
}
