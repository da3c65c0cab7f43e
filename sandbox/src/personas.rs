//! The fictional people the simulators sign in, shared with the hub's tests.
//!
//! Every identity number carries a valid check digit (GB 11643 for resident identity numbers,
//! GB 32100 for the unified social credit code) and belongs to nobody; the names are the standard
//! Chinese placeholder names (张三, 李四, 王五).

use serde_json::{Map, Value};

/// A test persona as both platforms know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Persona {
    /// The id used in sandbox URLs (`persona=personal-1`).
    pub id: &'static str,
    /// What the sandbox pages show.
    pub label: &'static str,
    /// `USER_ID` on the provincial platform.
    pub fujian_user_id: &'static str,
    /// `USER_ID` on e-Longyan (`userId` in a signed entry).
    pub elongyan_user_id: &'static str,
    /// `USER_ACCOUNT`.
    pub account: &'static str,
    /// `USER_NAME`: the person signed in (for a company, its 经办人).
    pub name: &'static str,
    /// `USER_IDCARD`: the certificate number of the person signed in.
    pub cert_no: &'static str,
    /// `CARD_TYPE` (`111` resident identity card).
    pub cert_type: &'static str,
    /// `USER_TYPE`: `1` personal, `2` legal person.
    pub user_type: &'static str,
    /// `USER_MOBILE`.
    pub mobile: Option<&'static str>,
    /// `USER_EMAIL`.
    pub email: Option<&'static str>,
    /// `USER_AUTHLEVEL`.
    pub auth_level: Option<&'static str>,
    /// `LOGIN_TYPE`.
    pub login_type: Option<&'static str>,
    /// The company, for a legal-person account.
    pub company: Option<Company>,
}

/// The legal-person part of an account (`LEGALPERSON_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Company {
    /// `LEGALPERSON_IDNUM`: the unified social credit code (统一社会信用代码).
    pub uscc: &'static str,
    /// `LEGALPERSON_COMPANYNAME`.
    pub name: &'static str,
    /// `LEGALPERSON_NAME`: the legal representative (法定代表人).
    pub representative_name: &'static str,
    /// `LEGALPERSON_IDCARD`.
    pub representative_cert_no: &'static str,
    /// `LEGALPERSON_JBRNAME`: the agent (经办人) actually signed in.
    pub agent_name: &'static str,
    /// `LEGALPERSON_JBRIDCARD`.
    pub agent_cert_no: &'static str,
    /// `LEGALPERSON_JBRSJH`.
    pub agent_mobile: &'static str,
}

/// 张三, a citizen.
pub const PERSONAL_1: Persona = Persona {
    id: "personal-1",
    label: "张三（个人用户）",
    fujian_user_id: "sandbox-p1",
    elongyan_user_id: "ely-p1",
    account: "zhangsan",
    name: "张三",
    cert_no: "350802199003070029",
    cert_type: "111",
    user_type: "1",
    mobile: Some("13800000001"),
    email: Some("zhangsan@example.invalid"),
    auth_level: Some("3"),
    login_type: Some("1"),
    company: None,
};

/// 李四, another citizen.
pub const PERSONAL_2: Persona = Persona {
    id: "personal-2",
    label: "李四（个人用户）",
    fujian_user_id: "sandbox-p2",
    elongyan_user_id: "ely-p2",
    account: "lisi",
    name: "李四",
    cert_no: "350801198511120044",
    cert_type: "111",
    user_type: "1",
    mobile: Some("13800000002"),
    email: Some("lisi@example.invalid"),
    auth_level: Some("3"),
    login_type: Some("1"),
    company: None,
};

/// 王五, a third citizen (the legal representative of [`LEGAL_1`]'s company; a bank's
/// sub-account in the marketplace tests).
pub const PERSONAL_3: Persona = Persona {
    id: "personal-3",
    label: "王五（个人用户）",
    fujian_user_id: "sandbox-p3",
    elongyan_user_id: "ely-p3",
    account: "wangwu",
    name: "王五",
    cert_no: "350821197805210011",
    cert_type: "111",
    user_type: "1",
    mobile: Some("13800000003"),
    email: Some("wangwu@example.invalid"),
    auth_level: Some("3"),
    login_type: Some("1"),
    company: None,
};

/// A company whose 经办人 is [`PERSONAL_1`] and whose legal representative is 王五.
pub const LEGAL_1: Persona = Persona {
    id: "legal-1",
    label: "龙岩示例科技有限公司（测试）· 经办人张三（法人用户）",
    fujian_user_id: "sandbox-l1",
    elongyan_user_id: "ely-l1",
    account: "longyan-demo-tech",
    name: "张三",
    cert_no: "350802199003070029",
    cert_type: "111",
    user_type: "2",
    mobile: None,
    email: None,
    auth_level: None,
    login_type: None,
    company: Some(Company {
        uscc: "91350802MA2YLK3N0B",
        name: "龙岩示例科技有限公司（测试）",
        representative_name: "王五",
        representative_cert_no: "350821197805210011",
        agent_name: "张三",
        agent_cert_no: "350802199003070029",
        agent_mobile: "13800000001",
    }),
};

/// Every persona, in the order the sign-in pages list them.
pub const PERSONAS: [Persona; 4] = [PERSONAL_1, PERSONAL_2, LEGAL_1, PERSONAL_3];

/// Every field of a service `033` profile, in PROTOCOLS.md §1 order. Absent values are `null`.
/// `CERTS_EFFECTDATE`/`CERTS_VALIDDATE` are the certificate validity fields (names as seen in
/// responses of the real platform); the personas leave them `null`.
pub const PROFILE_FIELDS: [&str; 21] = [
    "USER_ID",
    "USER_ACCOUNT",
    "USER_NAME",
    "USER_MOBILE",
    "USER_EMAIL",
    "USER_AUTHLEVEL",
    "USER_TYPE",
    "LOGIN_TYPE",
    "USER_IDCARD",
    "CARD_TYPE",
    "CERTS_EFFECTDATE",
    "CERTS_VALIDDATE",
    "LEGALPERSON_IDNUM",
    "LEGALPERSON_COMPANYNAME",
    "LEGALPERSON_NAME",
    "LEGALPERSON_IDCARD",
    "LEGALPERSON_JBRNAME",
    "LEGALPERSON_JBRIDCARD",
    "LEGALPERSON_JBRSJH",
    "IS_SM4ENCRY",
    "SWB_ISSM3",
];

/// The persona with this id.
pub fn persona(id: &str) -> Option<&'static Persona> {
    PERSONAS.iter().find(|p| p.id == id)
}

impl Persona {
    /// The `data` object of a service `033` answer, with `user_id` as `USER_ID` (each platform
    /// has its own ids for the same people). Every field of [`PROFILE_FIELDS`] is present.
    pub fn profile(&self, user_id: &str) -> Map<String, Value> {
        let company = self.company.as_ref();
        let values: [Option<&str>; 21] = [
            Some(user_id),
            Some(self.account),
            Some(self.name),
            self.mobile,
            self.email,
            self.auth_level,
            Some(self.user_type),
            self.login_type,
            Some(self.cert_no),
            Some(self.cert_type),
            None,
            None,
            company.map(|c| c.uscc),
            company.map(|c| c.name),
            company.map(|c| c.representative_name),
            company.map(|c| c.representative_cert_no),
            company.map(|c| c.agent_name),
            company.map(|c| c.agent_cert_no),
            company.map(|c| c.agent_mobile),
            // Neither field encryption nor SM3 signing is in use in the sandbox's answers.
            Some("0"),
            Some("0"),
        ];
        PROFILE_FIELDS
            .iter()
            .zip(values)
            .map(|(field, value)| {
                let value = value.map_or(Value::Null, |v| Value::String(v.to_owned()));
                ((*field).to_owned(), value)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GB 11643-1999: weights 2^(17-i) mod 11, check character "10X98765432"[sum mod 11].
    fn resident_id_is_valid(id: &str) -> bool {
        const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        let b = id.as_bytes();
        if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
            return false;
        }
        let sum: u32 = b[..17]
            .iter()
            .zip(WEIGHTS)
            .map(|(d, w)| u32::from(d - b'0') * w)
            .sum();
        b"10X98765432"[(sum % 11) as usize] == b[17]
    }

    /// GB 32100-2015: 31 characters (no I, O, S, V, Z), weights 3^i mod 31.
    fn uscc_is_valid(code: &str) -> bool {
        const CHARS: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
        const WEIGHTS: [usize; 17] = [
            1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
        ];
        let b = code.as_bytes();
        if b.len() != 18 {
            return false;
        }
        let mut sum = 0;
        for (c, w) in b[..17].iter().zip(WEIGHTS) {
            match CHARS.iter().position(|x| x == c) {
                Some(v) => sum += v * w,
                None => return false,
            }
        }
        CHARS[(31 - sum % 31) % 31] == b[17]
    }

    #[test]
    fn identity_numbers_have_valid_check_digits() {
        for p in PERSONAS {
            assert!(resident_id_is_valid(p.cert_no), "{}", p.id);
            if let Some(c) = p.company {
                assert!(uscc_is_valid(c.uscc));
                assert!(resident_id_is_valid(c.representative_cert_no));
                assert!(resident_id_is_valid(c.agent_cert_no));
            }
        }
        assert!(!resident_id_is_valid("350802199003070028"));
        assert!(!uscc_is_valid("91350802MA2YLK3N0C"));
    }

    #[test]
    fn the_agent_of_legal_1_is_personal_1() {
        let c = LEGAL_1.company.unwrap();
        assert_eq!(c.agent_name, PERSONAL_1.name);
        assert_eq!(c.agent_cert_no, PERSONAL_1.cert_no);
        assert_eq!(Some(c.agent_mobile), PERSONAL_1.mobile);
    }

    #[test]
    fn lookup_by_id() {
        assert_eq!(persona("personal-2"), Some(&PERSONAL_2));
        assert_eq!(
            persona("legal-1").map(|p| p.fujian_user_id),
            Some("sandbox-l1")
        );
        assert_eq!(persona("nobody"), None);
    }

    #[test]
    fn profile_has_every_field_with_nulls_where_absent() {
        let p = PERSONAL_1.profile("sandbox-p1");
        assert_eq!(p.len(), PROFILE_FIELDS.len());
        assert_eq!(
            Value::Object(p),
            serde_json::json!({
                "USER_ID": "sandbox-p1", "USER_ACCOUNT": "zhangsan", "USER_NAME": "张三",
                "USER_MOBILE": "13800000001", "USER_EMAIL": "zhangsan@example.invalid",
                "USER_AUTHLEVEL": "3", "USER_TYPE": "1", "LOGIN_TYPE": "1",
                "USER_IDCARD": "350802199003070029", "CARD_TYPE": "111",
                "CERTS_EFFECTDATE": null, "CERTS_VALIDDATE": null,
                "LEGALPERSON_IDNUM": null, "LEGALPERSON_COMPANYNAME": null,
                "LEGALPERSON_NAME": null, "LEGALPERSON_IDCARD": null,
                "LEGALPERSON_JBRNAME": null, "LEGALPERSON_JBRIDCARD": null,
                "LEGALPERSON_JBRSJH": null, "IS_SM4ENCRY": "0", "SWB_ISSM3": "0"
            })
        );
        let l = LEGAL_1.profile("ely-l1");
        assert_eq!(
            Value::Object(l),
            serde_json::json!({
                "USER_ID": "ely-l1", "USER_ACCOUNT": "longyan-demo-tech", "USER_NAME": "张三",
                "USER_MOBILE": null, "USER_EMAIL": null, "USER_AUTHLEVEL": null,
                "USER_TYPE": "2", "LOGIN_TYPE": null,
                "USER_IDCARD": "350802199003070029", "CARD_TYPE": "111",
                "CERTS_EFFECTDATE": null, "CERTS_VALIDDATE": null,
                "LEGALPERSON_IDNUM": "91350802MA2YLK3N0B",
                "LEGALPERSON_COMPANYNAME": "龙岩示例科技有限公司（测试）",
                "LEGALPERSON_NAME": "王五", "LEGALPERSON_IDCARD": "350821197805210011",
                "LEGALPERSON_JBRNAME": "张三", "LEGALPERSON_JBRIDCARD": "350802199003070029",
                "LEGALPERSON_JBRSJH": "13800000001", "IS_SM4ENCRY": "0", "SWB_ISSM3": "0"
            })
        );
    }
}
