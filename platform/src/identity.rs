//! Identity numbers: citizen ID numbers (GB 11643), unified social credit codes (GB 32100),
//! certificate types, and their masked forms. Constructors validate, so a value of these types
//! is always well-formed; `Debug` and `Display` show only the masked form, so a clear number
//! cannot reach a log line by accident.

use std::fmt;

/// Why an identity number was refused. Never contains the number.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidId {
    #[error("a citizen ID number has 18 characters: 17 digits and a check character (digit or X)")]
    CitizenIdFormat,
    #[error("the citizen ID number's date of birth is not a real date")]
    CitizenIdDate,
    #[error("the citizen ID number's check character is wrong (GB 11643)")]
    CitizenIdCheck,
    #[error(
        "a unified social credit code has 18 characters from 0-9 and A-Y without I, O, S, V, Z"
    )]
    UsccFormat,
    #[error("the unified social credit code's check character is wrong (GB 32100)")]
    UsccCheck,
    #[error("the certificate number is empty or malformed")]
    CertificateFormat,
}

impl InvalidId {
    /// What a person is told next to the field, in Chinese.
    pub fn label_zh(&self) -> &'static str {
        match self {
            InvalidId::CitizenIdFormat => "身份证号码应为 18 位，最后一位可以是数字或 X",
            InvalidId::CitizenIdDate => "身份证号码中的出生日期不正确，请核对后重新填写",
            InvalidId::CitizenIdCheck => "身份证号码校验位不正确，请核对后重新填写",
            InvalidId::UsccFormat => "统一社会信用代码应为 18 位数字或大写字母",
            InvalidId::UsccCheck => "统一社会信用代码校验位不正确，请核对后重新填写",
            InvalidId::CertificateFormat => "证件号码格式不正确",
        }
    }
}

/// A mainland resident identity card number (居民身份证号码), GB 11643-1999: 6-digit region,
/// 8-digit date of birth, 3-digit sequence, check character.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CitizenId(String);

impl CitizenId {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &'static [u8; 11] = b"10X98765432";

    pub fn parse(text: &str) -> Result<Self, InvalidId> {
        let t = text.trim().to_ascii_uppercase();
        let b = t.as_bytes();
        if b.len() != 18
            || !b[..17].iter().all(u8::is_ascii_digit)
            || !(b[17].is_ascii_digit() || b[17] == b'X')
        {
            return Err(InvalidId::CitizenIdFormat);
        }
        let digit = |i: usize| u32::from(b[i] - b'0');
        let num = |r: std::ops::Range<usize>| r.fold(0u32, |acc, i| acc * 10 + digit(i));
        let (year, month, day) = (num(6..10), num(10..12), num(12..14));
        let month_ok = time::Month::try_from(u8::try_from(month).unwrap_or(0)).ok();
        let date_ok = month_ok
            .and_then(|m| {
                time::Date::from_calendar_date(
                    i32::try_from(year).unwrap_or(0),
                    m,
                    u8::try_from(day).unwrap_or(0),
                )
                .ok()
            })
            .is_some_and(|_| (1900..=2100).contains(&year));
        if !date_ok {
            return Err(InvalidId::CitizenIdDate);
        }
        let sum: u32 = (0..17).map(|i| digit(i) * Self::WEIGHTS[i]).sum();
        if Self::CHECK[(sum % 11) as usize] != b[17] {
            return Err(InvalidId::CitizenIdCheck);
        }
        Ok(CitizenId(t))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn masked(&self) -> String {
        mask_id(&self.0)
    }
}

/// A unified social credit code (统一社会信用代码), GB 32100-2015.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Uscc(String);

impl Uscc {
    const CHARSET: &'static [u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];

    pub fn parse(text: &str) -> Result<Self, InvalidId> {
        let t = text.trim().to_ascii_uppercase();
        let b = t.as_bytes();
        if b.len() != 18 {
            return Err(InvalidId::UsccFormat);
        }
        let value = |c: u8| Self::CHARSET.iter().position(|x| *x == c).map(|p| p as u32);
        let mut sum = 0u32;
        for (c, w) in b[..17].iter().zip(Self::WEIGHTS) {
            sum += value(*c).ok_or(InvalidId::UsccFormat)? * w;
        }
        let last = value(b[17]).ok_or(InvalidId::UsccFormat)?;
        let check = (31 - sum % 31) % 31;
        if check != last {
            return Err(InvalidId::UsccCheck);
        }
        Ok(Uscc(t))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn masked(&self) -> String {
        mask_id(&self.0)
    }
}

/// Certificate types as the provincial platform codes them (`CARD_TYPE`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum CertType {
    /// 111 居民身份证
    ResidentId,
    /// 114 军官证
    OfficerId,
    /// 414 护照
    Passport,
    /// 511 台湾居民来往大陆通行证
    TaiwanPermit,
    /// 516 港澳居民来往内地通行证
    HkMacaoPermit,
    /// Another code, kept as given.
    Other(String),
}

impl CertType {
    pub fn from_code(code: &str) -> CertType {
        match code.trim() {
            "111" | "" => CertType::ResidentId,
            "114" => CertType::OfficerId,
            "414" => CertType::Passport,
            "511" => CertType::TaiwanPermit,
            "516" => CertType::HkMacaoPermit,
            other => CertType::Other(other.to_owned()),
        }
    }

    pub fn code(&self) -> &str {
        match self {
            CertType::ResidentId => "111",
            CertType::OfficerId => "114",
            CertType::Passport => "414",
            CertType::TaiwanPermit => "511",
            CertType::HkMacaoPermit => "516",
            CertType::Other(c) => c,
        }
    }
}

/// A person's certificate: its type and number. A resident ID number is validated by its check
/// character; other numbers must be plain printable ASCII.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Certificate {
    kind: CertType,
    number: String,
}

impl Certificate {
    pub fn new(kind: CertType, number: &str) -> Result<Self, InvalidId> {
        let number = match kind {
            CertType::ResidentId => CitizenId::parse(number)?.0,
            _ => {
                let n = number.trim().to_ascii_uppercase();
                if n.is_empty()
                    || n.len() > 32
                    || !n
                        .bytes()
                        .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'(' || c == b')')
                {
                    return Err(InvalidId::CertificateFormat);
                }
                n
            }
        };
        Ok(Certificate { kind, number })
    }

    pub fn kind(&self) -> &CertType {
        &self.kind
    }

    /// The clear number, for the one place that encrypts and indexes it.
    pub fn expose(&self) -> &str {
        &self.number
    }

    pub fn masked(&self) -> String {
        mask_id(&self.number)
    }

    /// The input of the blind index: type and number, so that the same number of different
    /// certificate types are different people.
    pub fn index_input(&self) -> String {
        format!("cert:{}:{}", self.kind.code(), self.number)
    }
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Certificate({} {})", self.kind.code(), self.masked())
    }
}

impl fmt::Debug for CitizenId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CitizenId({})", self.masked())
    }
}

impl fmt::Debug for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uscc({})", self.masked())
    }
}

/// `3508**********0029`: the first four and last four characters of an identity number.
pub fn mask_id(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 8))
}

/// `张*` / `欧阳**`: the first character of a name.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        None => String::new(),
        Some(first) => {
            let rest = chars.count().max(1);
            format!("{first}{}", "*".repeat(rest))
        }
    }
}

/// `138****0001`: mobile numbers keep their first three and last four digits.
pub fn mask_mobile(mobile: &str) -> String {
    let chars: Vec<char> = mobile.chars().collect();
    if chars.len() < 8 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 7))
}

#[cfg(test)]
mod tests {
    use super::*;

    // GB 11643-1999's own example, and the sandbox personas (check digits computed with an
    // independent script from the standard's weights).
    #[test]
    fn citizen_ids() {
        assert!(CitizenId::parse("11010519491231002X").is_ok());
        assert!(CitizenId::parse("11010519491231002x").is_ok());
        assert!(CitizenId::parse("350802199003070029").is_ok());
        assert!(CitizenId::parse("350801198511120044").is_ok());
        assert_eq!(
            CitizenId::parse("350802199003070028"),
            Err(InvalidId::CitizenIdCheck)
        );
        assert_eq!(
            CitizenId::parse("350802199002300029"),
            Err(InvalidId::CitizenIdDate)
        );
        assert_eq!(
            CitizenId::parse("35080219900307002"),
            Err(InvalidId::CitizenIdFormat)
        );
        assert_eq!(
            CitizenId::parse("3508021990030700Y9"),
            Err(InvalidId::CitizenIdFormat)
        );
        assert_eq!(CitizenId::parse(""), Err(InvalidId::CitizenIdFormat));
        assert_eq!(
            CitizenId::parse("三五０八０２１９９００３０７００２９"),
            Err(InvalidId::CitizenIdFormat)
        );
    }

    // GB 32100-2015's example 91350100M000100Y43 and the sandbox's legal person.
    #[test]
    fn credit_codes() {
        assert!(Uscc::parse("91350100M000100Y43").is_ok());
        assert!(Uscc::parse("91350802MA2YLK3N0B").is_ok());
        assert_eq!(Uscc::parse("91350802MA2YLK3N0C"), Err(InvalidId::UsccCheck));
        assert_eq!(
            Uscc::parse("91350802MA2YLK3NOB"),
            Err(InvalidId::UsccFormat)
        );
        assert_eq!(Uscc::parse("9135"), Err(InvalidId::UsccFormat));
    }

    #[test]
    fn numbers_never_print_in_clear() {
        let c = Certificate::new(CertType::ResidentId, "350802199003070029").unwrap();
        assert_eq!(c.masked(), "3508**********0029");
        assert_eq!(format!("{c:?}"), "Certificate(111 3508**********0029)");
        assert_eq!(
            format!("{:?}", Uscc::parse("91350802MA2YLK3N0B").unwrap()),
            "Uscc(9135**********3N0B)"
        );
        assert_eq!(mask_name("张三"), "张*");
        assert_eq!(mask_name("欧阳娜娜"), "欧***");
        assert_eq!(mask_name("王"), "王*");
        assert_eq!(mask_mobile("13800000001"), "138****0001");
        assert_eq!(c.index_input(), "cert:111:350802199003070029");
    }

    #[test]
    fn other_certificates() {
        assert!(Certificate::new(CertType::Passport, "E12345678").is_ok());
        assert_eq!(
            Certificate::new(CertType::Passport, ""),
            Err(InvalidId::CertificateFormat)
        );
        assert_eq!(
            Certificate::new(CertType::Passport, "E1 2<>"),
            Err(InvalidId::CertificateFormat)
        );
        assert_eq!(CertType::from_code("516"), CertType::HkMacaoPermit);
        assert_eq!(CertType::from_code("999").code(), "999");
    }
}
