//! Claim mapping: how a provider's fields (a provincial profile, an e-Longyan assertion, OpenID
//! Connect claims, an OAuth 2.0 user-info document) become the subject model. Every provider
//! has one, configurable, so adding a provider needs no code.

use serde_json::Value;

use crate::Error;
use platform::identity::{CertType, Certificate, Uscc};
use platform::subject::{Company, Person, VerifiedIdentity};

/// Where each subject attribute is found, as dotted JSON paths (`data.user.idcard`; array
/// elements by index, `roles.0`). Absent paths are absent attributes.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClaimMap {
    /// The provider's stable user id.
    pub subject: String,
    /// The field deciding personal or legal person; absent means always personal.
    pub user_type: Option<String>,
    /// Values of `user_type` meaning a natural person; any other value means a legal person.
    pub personal_values: Vec<String>,
    pub name: String,
    /// Certificate type code (`111`…); absent field means resident ID card.
    pub cert_type: Option<String>,
    pub cert_number: Option<String>,
    pub mobile: Option<String>,
    pub email: Option<String>,
    pub company_name: Option<String>,
    pub uscc: Option<String>,
    pub legal_representative: Option<String>,
    /// The agent (经办人) acting for a legal person; when absent, `name`/`cert_number` are used.
    pub agent_name: Option<String>,
    pub agent_cert_number: Option<String>,
    /// Refuse a natural person without a certificate number (real-name platforms).
    pub require_certificate: bool,
}

impl Default for ClaimMap {
    /// OpenID Connect standard claims.
    fn default() -> Self {
        ClaimMap {
            subject: "sub".into(),
            user_type: None,
            personal_values: vec!["1".into()],
            name: "name".into(),
            cert_type: None,
            cert_number: None,
            mobile: Some("phone_number".into()),
            email: Some("email".into()),
            company_name: None,
            uscc: None,
            legal_representative: None,
            agent_name: None,
            agent_cert_number: None,
            require_certificate: false,
        }
    }
}

impl ClaimMap {
    /// The provincial platform's profile (`033` answer, PROTOCOLS.md §1).
    pub fn provincial() -> Self {
        ClaimMap {
            subject: "USER_ID".into(),
            user_type: Some("USER_TYPE".into()),
            personal_values: vec!["1".into()],
            name: "USER_NAME".into(),
            cert_type: Some("CARD_TYPE".into()),
            cert_number: Some("USER_IDCARD".into()),
            mobile: Some("USER_MOBILE".into()),
            email: Some("USER_EMAIL".into()),
            company_name: Some("LEGALPERSON_COMPANYNAME".into()),
            uscc: Some("LEGALPERSON_IDNUM".into()),
            legal_representative: Some("LEGALPERSON_NAME".into()),
            agent_name: Some("LEGALPERSON_JBRNAME".into()),
            agent_cert_number: Some("LEGALPERSON_JBRIDCARD".into()),
            require_certificate: true,
        }
    }

    /// The e-Longyan signed assertion's parameters (docs/ELONGYAN.md).
    pub fn elongyan_assertion() -> Self {
        ClaimMap {
            subject: "userId".into(),
            user_type: Some("userType".into()),
            personal_values: vec!["1".into()],
            name: "userName".into(),
            cert_type: Some("certType".into()),
            cert_number: Some("certNo".into()),
            mobile: Some("mobile".into()),
            email: None,
            company_name: Some("companyName".into()),
            uscc: Some("uscc".into()),
            legal_representative: None,
            agent_name: Some("agentName".into()),
            agent_cert_number: Some("agentCertNo".into()),
            require_certificate: true,
        }
    }

    /// Applies the mapping to `doc`, producing a verified identity of `provider`. Call only
    /// with a document whose authenticity the caller has established.
    pub(crate) fn apply(&self, provider: &str, doc: &Value) -> Result<VerifiedIdentity, Error> {
        let subject = text(doc, &self.subject).ok_or_else(|| Error::IdentityIncomplete {
            field: self.subject.clone(),
        })?;
        let legal = match &self.user_type {
            None => false,
            Some(path) => {
                let v = text(doc, path).unwrap_or_default();
                !self.personal_values.contains(&v)
            }
        };
        let opt = |p: &Option<String>| p.as_deref().and_then(|p| text(doc, p));
        let cert_type =
            opt(&self.cert_type).map_or(CertType::ResidentId, |c| CertType::from_code(&c));
        let certificate =
            |path: &Option<String>, kind: CertType| -> Result<Option<Certificate>, Error> {
                match opt(path) {
                    None => Ok(None),
                    Some(n) => Certificate::new(kind, &n).map(Some).map_err(|source| {
                        Error::IdentityInvalid {
                            field: path.clone().unwrap_or_default(),
                            source,
                        }
                    }),
                }
            };
        let name_of = |path: &str| {
            text(doc, path).ok_or_else(|| Error::IdentityIncomplete {
                field: path.to_owned(),
            })
        };

        if !legal {
            let person = Person {
                name: name_of(&self.name)?,
                certificate: certificate(&self.cert_number, cert_type)?,
                mobile: opt(&self.mobile),
                email: opt(&self.email),
            };
            if self.require_certificate && person.certificate.is_none() {
                return Err(Error::IdentityIncomplete {
                    field: self
                        .cert_number
                        .clone()
                        .unwrap_or_else(|| "certificate".into()),
                });
            }
            return Ok(VerifiedIdentity::new(provider, subject, person, None));
        }

        let uscc_path = self.uscc.clone().unwrap_or_else(|| "uscc".into());
        let uscc_text = text(doc, &uscc_path).ok_or_else(|| Error::IdentityIncomplete {
            field: uscc_path.clone(),
        })?;
        let uscc = Uscc::parse(&uscc_text).map_err(|source| Error::IdentityInvalid {
            field: uscc_path.clone(),
            source,
        })?;
        let company_path = self
            .company_name
            .clone()
            .unwrap_or_else(|| "companyName".into());
        let company = Company {
            name: name_of(&company_path)?,
            uscc,
            legal_representative: opt(&self.legal_representative),
        };
        // The agent: explicit agent fields, else the signed-in user's own.
        let (agent_name, agent_cert) = match opt(&self.agent_name) {
            Some(n) => (
                n,
                certificate(&self.agent_cert_number, CertType::ResidentId)?,
            ),
            None => (
                name_of(&self.name)?,
                certificate(&self.cert_number, cert_type)?,
            ),
        };
        let agent = Person {
            name: agent_name,
            certificate: agent_cert,
            mobile: opt(&self.mobile),
            email: opt(&self.email),
        };
        Ok(VerifiedIdentity::new(
            provider,
            subject,
            agent,
            Some(company),
        ))
    }
}

/// The value at a dotted path as text: strings as they are, numbers and booleans printed;
/// `null`, empty strings, objects and arrays are absent.
pub fn text(doc: &Value, path: &str) -> Option<String> {
    let mut cur = doc;
    for part in path.split('.') {
        cur = match cur {
            Value::Object(m) => m.get(part)?,
            Value::Array(a) => a.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match cur {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::subject::SubjectKind;
    use serde_json::json;

    fn provincial_personal() -> Value {
        json!({ "USER_ID": "sandbox-p1", "USER_NAME": "张三", "USER_TYPE": "1", "CARD_TYPE": "111",
                "USER_IDCARD": "350802199003070029", "USER_MOBILE": "13800000001", "USER_EMAIL": null,
                "LEGALPERSON_IDNUM": null })
    }

    #[test]
    fn provincial_personal_profile() {
        let id = ClaimMap::provincial()
            .apply("fujian", &provincial_personal())
            .unwrap();
        assert_eq!(id.kind(), SubjectKind::Personal);
        assert_eq!(id.subject(), "sandbox-p1");
        assert_eq!(id.person().name, "张三");
        assert_eq!(
            id.person().certificate.as_ref().unwrap().expose(),
            "350802199003070029"
        );
        assert_eq!(id.person().email, None);
        assert!(id.company().is_none());
    }

    #[test]
    fn provincial_legal_person_records_the_agent() {
        let doc = json!({ "USER_ID": "sandbox-l1", "USER_TYPE": "2", "USER_NAME": "张三", "CARD_TYPE": "111",
            "USER_IDCARD": "350802199003070029", "LEGALPERSON_IDNUM": "91350802MA2YLK3N0B",
            "LEGALPERSON_COMPANYNAME": "龙岩示例科技有限公司（测试）", "LEGALPERSON_NAME": "王五",
            "LEGALPERSON_JBRNAME": "张三", "LEGALPERSON_JBRIDCARD": "350802199003070029" });
        let id = ClaimMap::provincial().apply("fujian", &doc).unwrap();
        assert_eq!(id.kind(), SubjectKind::LegalPerson);
        let c = id.company().unwrap();
        assert_eq!(c.uscc.as_str(), "91350802MA2YLK3N0B");
        assert_eq!(c.legal_representative.as_deref(), Some("王五"));
        assert_eq!(id.person().name, "张三");
        assert_eq!(
            id.person().certificate.as_ref().unwrap().masked(),
            "3508**********0029"
        );
    }

    #[test]
    fn invalid_or_missing_identity_numbers_are_refused_by_field() {
        let mut doc = provincial_personal();
        doc["USER_IDCARD"] = json!("350802199003070028");
        match ClaimMap::provincial().apply("fujian", &doc) {
            Err(Error::IdentityInvalid { field, .. }) => assert_eq!(field, "USER_IDCARD"),
            other => panic!("{other:?}"),
        }
        doc["USER_IDCARD"] = Value::Null;
        match ClaimMap::provincial().apply("fujian", &doc) {
            Err(Error::IdentityIncomplete { field }) => assert_eq!(field, "USER_IDCARD"),
            other => panic!("{other:?}"),
        }
        let mut legal = provincial_personal();
        legal["USER_TYPE"] = json!("2");
        legal["LEGALPERSON_IDNUM"] = json!("91350802MA2YLK3N0C");
        assert!(matches!(
            ClaimMap::provincial().apply("fujian", &legal),
            Err(Error::IdentityInvalid { .. })
        ));
    }

    #[test]
    fn oidc_claims_without_certificate_and_nested_paths() {
        let id = ClaimMap::default()
            .apply(
                "corp",
                &json!({ "sub": "u-1", "name": "Alice", "email": "a@example.invalid" }),
            )
            .unwrap();
        assert!(id.person().certificate.is_none());
        let map = ClaimMap {
            subject: "data.user.id".into(),
            name: "data.user.name".into(),
            cert_number: Some("data.user.idcard".into()),
            ..ClaimMap::default()
        };
        let doc = json!({ "code": 0, "data": { "user": { "id": 42, "name": "张三", "idcard": "350802199003070029" } } });
        let id = map.apply("gd", &doc).unwrap();
        assert_eq!(id.subject(), "42");
        assert!(id.person().certificate.is_some());
        assert_eq!(
            text(&json!({ "a": [ { "b": "x" } ] }), "a.0.b").as_deref(),
            Some("x")
        );
        assert_eq!(text(&json!({ "a": "  " }), "a"), None);
    }
}
