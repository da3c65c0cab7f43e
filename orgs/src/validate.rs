//! The checks of what people type about an organisation, with messages in Chinese.

use platform::identity::{InvalidId, Uscc};

use crate::error::OrgError;
use crate::model::{NewOrganisation, OrgKind};

pub(crate) const NAME_MAX: usize = 100;
const CONTACT_NAME_MAX: usize = 50;
const INTRODUCTION_MAX: usize = 2000;
const REASON_MAX: usize = 500;

/// Who is saying it: the operators may create any kind, accounts not the operator's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum By {
    Account,
    Operator,
}

/// A checked [`NewOrganisation`].
#[derive(Debug)]
pub(crate) struct Checked {
    pub kind: OrgKind,
    pub name: String,
    pub uscc: Option<Uscc>,
    pub contact_name: Option<String>,
    pub contact_phone: Option<String>,
    pub introduction: Option<String>,
}

#[derive(Default)]
struct Errors(Vec<(String, String)>);

impl Errors {
    fn add(&mut self, field: &str, message: &str) {
        if !self.0.iter().any(|(f, _)| f == field) {
            self.0.push((field.to_owned(), message.to_owned()));
        }
    }
}

fn optional(text: &Option<String>) -> Option<String> {
    text.as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

pub(crate) fn uscc_message(e: &InvalidId) -> &'static str {
    match e {
        InvalidId::UsccCheck => "统一社会信用代码校验位不正确，请核对后重新填写",
        _ => "统一社会信用代码应为 18 位数字或大写字母",
    }
}

pub(crate) fn organisation(new: &NewOrganisation, by: By) -> Result<Checked, OrgError> {
    let mut errors = Errors::default();
    match new.kind {
        None => errors.add("kind", "请选择机构类型"),
        Some(k) if by == By::Account && !k.self_registrable() => {
            errors.add("kind", "平台运营单位不能自行注册，请联系平台运营方")
        }
        Some(_) => {}
    }
    let name = new.name.trim().to_owned();
    if name.is_empty() {
        errors.add("name", "请填写机构名称");
    } else if chars(&name) > NAME_MAX {
        errors.add("name", "机构名称不能超过 100 个字");
    } else if name.chars().any(char::is_control) {
        errors.add("name", "机构名称不能包含控制字符");
    }
    let uscc = match optional(&new.uscc) {
        None => {
            if new.kind.is_some_and(OrgKind::requires_uscc) {
                errors.add("uscc", "请填写统一社会信用代码");
            }
            None
        }
        Some(text) => match Uscc::parse(&text) {
            Ok(u) => Some(u),
            Err(e) => {
                errors.add("uscc", uscc_message(&e));
                None
            }
        },
    };
    let contact_name = optional(&new.contact_name);
    if let Some(c) = &contact_name
        && (chars(c) > CONTACT_NAME_MAX || c.chars().any(char::is_control))
    {
        errors.add("contact_name", "联系人姓名不能超过 50 个字");
    }
    let contact_phone = optional(&new.contact_phone);
    if let Some(p) = &contact_phone
        && !phone_ok(p)
    {
        errors.add(
            "contact_phone",
            "联系电话格式不正确，请填写 7 至 20 位数字（可含“-”“+”）",
        );
    }
    let introduction = optional(&new.introduction);
    if let Some(i) = &introduction
        && chars(i) > INTRODUCTION_MAX
    {
        errors.add("introduction", "机构简介不能超过 2000 个字");
    }
    let Some(kind) = new.kind.filter(|_| errors.0.is_empty()) else {
        return Err(OrgError::Invalid(errors.0));
    };
    Ok(Checked {
        kind,
        name,
        uscc,
        contact_name,
        contact_phone,
        introduction,
    })
}

/// Loosely: 7 to 20 characters of digits, `-` and `+`, with at least seven digits.
fn phone_ok(p: &str) -> bool {
    let len = p.chars().count();
    (7..=20).contains(&len)
        && p.chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == '+')
        && p.chars().filter(char::is_ascii_digit).count() >= 7
}

/// The reason of a rejection, trimmed.
pub(crate) fn reason(text: &str) -> Result<String, OrgError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(OrgError::field("reason", "请填写驳回原因"));
    }
    if chars(t) > REASON_MAX {
        return Err(OrgError::field("reason", "驳回原因不能超过 500 个字"));
    }
    Ok(t.to_owned())
}

/// A company's name as the provincial platform asserted it: trimmed, cut to the limit.
pub(crate) fn asserted_name(text: &str) -> Result<String, OrgError> {
    let t: String = text
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(NAME_MAX)
        .collect();
    if t.is_empty() {
        return Err(OrgError::field("name", "缺少企业名称"));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn new(kind: OrgKind, name: &str, uscc: Option<&str>) -> NewOrganisation {
        NewOrganisation {
            kind: Some(kind),
            name: name.to_owned(),
            uscc: uscc.map(str::to_owned),
            contact_name: None,
            contact_phone: None,
            introduction: None,
        }
    }

    #[test]
    fn a_missing_kind_is_a_field_error_beside_the_others() {
        let mut n = new(OrgKind::Institution, "", Some("123"));
        n.kind = None;
        let f = fields(organisation(&n, By::Account).unwrap_err());
        let names: Vec<&str> = f.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["kind", "name", "uscc"]);
        assert_eq!(f[0].1, "请选择机构类型");
    }

    fn fields(e: OrgError) -> Vec<(String, String)> {
        match e {
            OrgError::Invalid(f) => f,
            other => panic!("not a field error: {other:?}"),
        }
    }

    #[test]
    fn enterprises_need_a_valid_credit_code() {
        let f =
            fields(organisation(&new(OrgKind::Enterprise, " ", None), By::Account).unwrap_err());
        assert_eq!(
            f,
            vec![
                ("name".to_owned(), "请填写机构名称".to_owned()),
                ("uscc".to_owned(), "请填写统一社会信用代码".to_owned())
            ]
        );
        let f = fields(
            organisation(
                &new(OrgKind::Enterprise, "甲", Some("91350800MA2XXXXXX1")),
                By::Account,
            )
            .unwrap_err(),
        );
        assert_eq!(f[0].0, "uscc");
        // Institutions may leave it out.
        let ok = organisation(
            &new(OrgKind::Institution, " 龙岩银行 ", Some("")),
            By::Account,
        )
        .unwrap();
        assert_eq!(ok.name, "龙岩银行");
        assert!(ok.uscc.is_none());
    }

    #[test]
    fn the_operator_is_not_self_registered() {
        let f =
            fields(organisation(&new(OrgKind::Operator, "运营", None), By::Account).unwrap_err());
        assert_eq!(f[0].0, "kind");
        assert!(organisation(&new(OrgKind::Operator, "运营", None), By::Operator).is_ok());
    }

    #[test]
    fn phones_are_checked_loosely() {
        assert!(phone_ok("0597-1234567"));
        assert!(phone_ok("+8613800000000"));
        assert!(!phone_ok("12345"));
        assert!(!phone_ok("call 0597 123"));
        assert!(!phone_ok("-------+"));
    }

    #[test]
    fn reasons_and_asserted_names() {
        assert!(reason("  ").is_err());
        assert!(reason(&"因".repeat(501)).is_err());
        assert_eq!(reason(" 材料不全 ").unwrap(), "材料不全");
        assert_eq!(
            asserted_name(&"名".repeat(120)).unwrap().chars().count(),
            100
        );
        assert!(asserted_name(" ").is_err());
    }
}
