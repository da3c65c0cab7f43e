//! What administrators send to create or change a connector — the JSON API's bodies and the
//! console's forms alike — and how a change is merged into the stored definition. The JSON
//! endpoints and the console call [`Connectors::create_from`] and [`Connectors::patch`], so a
//! change made either way passes the same rules, version check and audit record.

use guomi::Secret;
use serde::Deserialize;

use crate::definition::{Definition, FieldError, Handoff, OpenMode, Param, Refusal, Scheme};
use crate::registry::{Changed, ConnectorError, Connectors};
use platform::audit::Actor;
use platform::context::RequestContext;

/// The hand-off part of a create or update.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoffInput {
    /// `none` (nothing appended to the link) or `signed`.
    pub mode: String,
    /// `hmac-sm3` or `sm2` (signed only).
    pub scheme: Option<String>,
    /// Among `sub`, `kind`, `name`, `uscc`, `agent` (signed only).
    pub params: Option<Vec<String>>,
    /// The key: the HMAC-SM3 secret agreed with the partner, or an SM2 private key (PEM or
    /// hex). Generated when absent; never shown back.
    #[schema(value_type = Option<String>)]
    pub key: Option<Secret>,
}

fn bad(field: &str, en: String, zh: &str) -> ConnectorError {
    ConnectorError::Invalid(vec![FieldError::new(field, Refusal::new(en, zh))])
}

impl HandoffInput {
    fn parse(self) -> Result<(Handoff, Option<Secret>), ConnectorError> {
        match self.mode.as_str() {
            "none" => {
                if self.scheme.is_some() || self.params.is_some() {
                    return Err(bad(
                        "handoff",
                        "scheme and params belong to a signed hand-off (mode = signed)".into(),
                        "签名方式和参数只用于签名跳转",
                    ));
                }
                Ok((Handoff::None, self.key))
            }
            "signed" => {
                let scheme = match self.scheme.as_deref() {
                    Some("hmac-sm3") => Scheme::HmacSm3,
                    Some("sm2") => Scheme::Sm2,
                    Some(other) => {
                        return Err(bad(
                            "handoff.scheme",
                            format!("`{other}` is not hmac-sm3 or sm2"),
                            "签名方式只能是 HMAC-SM3 或 SM2",
                        ));
                    }
                    None => {
                        return Err(bad(
                            "handoff.scheme",
                            "is required: hmac-sm3 or sm2".into(),
                            "请选择签名方式",
                        ));
                    }
                };
                let mut params = Vec::new();
                for name in self.params.unwrap_or_default() {
                    match Param::ALL.iter().find(|p| p.as_str() == name) {
                        Some(p) => params.push(*p),
                        None => {
                            return Err(bad(
                                "handoff.params",
                                format!(
                                    "`{name}` is not a hand-off parameter; use sub, kind, name, uscc or agent (certificate numbers, mobile numbers and sessions are never handed off)"
                                ),
                                "不支持该参数；证件号码、手机号码和会话从不传递给外部平台",
                            ));
                        }
                    }
                }
                Ok((Handoff::Signed { scheme, params }, self.key))
            }
            other => Err(bad(
                "handoff.mode",
                format!("`{other}` is not none or signed"),
                "跳转方式只能是不传递身份或签名跳转",
            )),
        }
    }
}

/// `same-tab` or `new-tab`.
fn open_mode(value: &str) -> Result<OpenMode, ConnectorError> {
    match value {
        "same-tab" => Ok(OpenMode::SameTab),
        "new-tab" => Ok(OpenMode::NewTab),
        other => Err(bad(
            "open_mode",
            format!("`{other}` is not same-tab or new-tab"),
            "请选择打开方式",
        )),
    }
}

/// A new connector.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorInput {
    pub code: String,
    pub name: String,
    #[serde(default)]
    pub operator: String,
    pub category: String,
    #[serde(default)]
    pub description: String,
    pub url: Option<String>,
    /// Default: enabled when a link is given.
    pub enabled: Option<bool>,
    #[serde(default)]
    pub position: i32,
    /// `same-tab` or `new-tab` (default).
    pub open_mode: Option<String>,
    #[serde(default)]
    pub sign_in_required: bool,
    #[serde(default)]
    pub allow_http: bool,
    pub health_url: Option<String>,
    pub notice: Option<String>,
    pub handoff: Option<HandoffInput>,
}

/// Changes to a connector: only the fields present change; `null` clears `url`, `health_url`
/// and `notice`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorPatch {
    /// The version the change is based on: refused with `connectors.version_conflict` if the
    /// connector has changed since.
    pub version: Option<i64>,
    pub name: Option<String>,
    pub operator: Option<String>,
    pub category: Option<String>,
    pub description: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub url: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub position: Option<i32>,
    pub open_mode: Option<String>,
    pub sign_in_required: Option<bool>,
    pub allow_http: Option<bool>,
    #[serde(default, deserialize_with = "nullable")]
    pub health_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub notice: Option<Option<String>>,
    pub handoff: Option<HandoffInput>,
}

/// Present-but-null (`Some(None)`) as distinct from absent (`None`).
fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A patch with its enumerations read: what is merged into the stored definition.
struct Edit {
    version: Option<i64>,
    name: Option<String>,
    operator: Option<String>,
    category: Option<String>,
    description: Option<String>,
    url: Option<Option<String>>,
    enabled: Option<bool>,
    position: Option<i32>,
    open_mode: Option<OpenMode>,
    sign_in_required: Option<bool>,
    allow_http: Option<bool>,
    health_url: Option<Option<String>>,
    notice: Option<Option<String>>,
    handoff: Option<Handoff>,
}

impl ConnectorPatch {
    /// Reads the enumerations (open mode, hand-off) and separates the key.
    fn into_edit(self) -> Result<(Edit, Option<Secret>), ConnectorError> {
        let open_mode = self.open_mode.as_deref().map(open_mode).transpose()?;
        let (handoff, key) = match self.handoff {
            Some(h) => {
                let (h, k) = h.parse()?;
                (Some(h), k)
            }
            None => (None, None),
        };
        Ok((
            Edit {
                version: self.version,
                name: self.name,
                operator: self.operator,
                category: self.category,
                description: self.description,
                url: self.url,
                enabled: self.enabled,
                position: self.position,
                open_mode,
                sign_in_required: self.sign_in_required,
                allow_http: self.allow_http,
                health_url: self.health_url,
                notice: self.notice,
                handoff,
            },
            key,
        ))
    }
}

impl Edit {
    /// Only the fields present change.
    fn apply(self, d: &mut Definition) {
        if let Some(v) = self.name {
            d.name = v;
        }
        if let Some(v) = self.operator {
            d.operator = v;
        }
        if let Some(v) = self.category {
            d.category = v;
        }
        if let Some(v) = self.description {
            d.description = v;
        }
        if let Some(v) = self.url {
            d.url = v;
        }
        if let Some(v) = self.enabled {
            d.enabled = v;
        }
        if let Some(v) = self.position {
            d.position = v;
        }
        if let Some(v) = self.open_mode {
            d.open_mode = v;
        }
        if let Some(v) = self.sign_in_required {
            d.sign_in_required = v;
        }
        if let Some(v) = self.allow_http {
            d.allow_http = v;
        }
        if let Some(v) = self.health_url {
            d.health_url = v;
        }
        if let Some(v) = self.notice {
            d.notice = v;
        }
        if let Some(v) = self.handoff {
            d.handoff = v;
        }
    }
}

impl Connectors {
    /// Creates a connector from an administrator's input (validated, versioned, audited).
    pub async fn create_from(
        &self,
        input: ConnectorInput,
        actor: Actor,
        ctx: &RequestContext,
    ) -> Result<Changed, ConnectorError> {
        let (handoff, key) = match input.handoff {
            Some(h) => h.parse()?,
            None => (Handoff::None, None),
        };
        let definition = Definition {
            enabled: input.enabled.unwrap_or(input.url.is_some()),
            code: input.code,
            name: input.name,
            operator: input.operator,
            category: input.category,
            description: input.description,
            url: input.url,
            position: input.position,
            open_mode: match input.open_mode.as_deref() {
                Some(m) => open_mode(m)?,
                None => OpenMode::default(),
            },
            sign_in_required: input.sign_in_required,
            allow_http: input.allow_http,
            health_url: input.health_url,
            notice: input.notice,
            handoff,
        };
        self.create(definition, key, actor, ctx).await
    }

    /// Changes a connector: only the fields present change; refused with
    /// [`ConnectorError::VersionConflict`] when `patch.version` is given and the connector has
    /// changed since. Validated, versioned and audited with the state before and after.
    pub async fn patch(
        &self,
        code: &str,
        patch: ConnectorPatch,
        actor: Actor,
        ctx: &RequestContext,
    ) -> Result<Changed, ConnectorError> {
        let (edit, key) = patch.into_edit()?;
        let version = edit.version;
        self.update(code, |d| edit.apply(d), key, version, actor, ctx)
            .await
    }

    /// Every rule the connector would break with `patch` applied, without changing anything:
    /// lets a form show all its problems at once when some fields could not even be read.
    pub async fn check_patch(
        &self,
        code: &str,
        patch: ConnectorPatch,
    ) -> Result<Vec<FieldError>, ConnectorError> {
        let (edit, _) = match patch.into_edit() {
            Ok(e) => e,
            Err(ConnectorError::Invalid(errors)) => return Ok(errors),
            Err(e) => return Err(e),
        };
        let mut d = self.definition(code).await?;
        edit.apply(&mut d);
        Ok(crate::definition::validate(&d, &self.config().allowlist))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_fields_present_change_and_null_clears() {
        let mut d: Definition = serde_json::from_value(serde_json::json!({
            "code": "receivables", "name": "旧名称", "category": "融资服务",
            "url": "https://www.crcrfsp.com/", "enabled": true, "notice": "维护中"
        }))
        .unwrap();
        let patch: ConnectorPatch = serde_json::from_value(serde_json::json!({
            "name": "新名称", "notice": null, "open_mode": "same-tab"
        }))
        .unwrap();
        let (edit, key) = patch.into_edit().unwrap();
        assert!(key.is_none());
        edit.apply(&mut d);
        assert_eq!(d.name, "新名称");
        assert_eq!(d.notice, None);
        assert_eq!(d.url.as_deref(), Some("https://www.crcrfsp.com/"));
        assert_eq!(d.open_mode, OpenMode::SameTab);
        assert!(d.enabled);
    }

    #[test]
    fn unknown_enumerations_name_their_field_in_both_languages() {
        let patch = ConnectorPatch {
            open_mode: Some("popup".into()),
            ..ConnectorPatch::default()
        };
        let Err(ConnectorError::Invalid(errors)) = patch.into_edit() else {
            panic!("accepted an unknown open mode");
        };
        assert_eq!(errors[0].field, "open_mode");
        assert!(errors[0].message.contains("popup"));
        assert_eq!(errors[0].message_zh, "请选择打开方式");
    }
}
