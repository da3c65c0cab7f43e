//! Assignments (机构中心 › 子账号分配): an institution's main account assigns a demand it holds,
//! or an application it received, to one of its active members (经办人). The member who takes
//! a demand is its handler until then; a demand given back to the market has none. The
//! assignment is audited and told to the institution by in-site message; the member finds
//! theirs under 分配给我的.

use platform::audit::{AuditEvent, Outcome};
use platform::context::RequestContext;
use platform::store::{begin_write, with_pool};

use crate::error::MarketError;
use crate::notice::{Notice, write_notice};
use crate::service::{Market, Member};

/// What can be assigned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Assignable<'a> {
    /// A demand the institution holds (taken or confirmed).
    Demand(&'a str),
    /// An application the institution received, still in progress.
    Application(&'a str),
}

impl Assignable<'_> {
    fn parts(self) -> (&'static str, &'static str, &'static str, String, String) {
        match self {
            Assignable::Demand(id) => (
                "market_demands",
                "taker_org_id",
                "'taken', 'confirmed'",
                format!("demand:{id}"),
                format!("/user/market/{id}"),
            ),
            Assignable::Application(id) => (
                "market_applications",
                "inst_org_id",
                "'submitted', 'more_needed', 'accepted'",
                format!("application:{id}"),
                crate::applications::application_link(id),
            ),
        }
    }
}

impl Market {
    /// The institution's main account assigns `what` to its member `account_id` (a field error
    /// `account` unless an active member of the same institution; `market.forbidden` for a
    /// sub-account; `market.not_found` for what the institution does not hold or has finished).
    pub async fn assign(
        &self,
        m: &Member,
        what: Assignable<'_>,
        account_id: &str,
        ctx: &RequestContext,
    ) -> Result<String, MarketError> {
        m.institution()?;
        if !m.scope.is_main() {
            return Err(MarketError::Forbidden(
                "only the institution's main account assigns its work",
            ));
        }
        let assignee = self
            .organisations()
            .scope_for(account_id)
            .await
            .ok()
            .filter(|s| s.org_id() == m.scope.org_id());
        if assignee.is_none() {
            return Err(MarketError::field(
                "account",
                "请选择本机构在用的子账号或主账号。",
            ));
        }
        let name = self
            .organisations()
            .members(&m.scope, orgs::Page::new(1, 100))
            .await?
            .items
            .into_iter()
            .find(|v| v.account_id == account_id)
            .map(|v| v.display_name)
            .unwrap_or_default();
        let (table, org_column, states, reference, link) = what.parts();
        let id = match what {
            Assignable::Demand(id) | Assignable::Application(id) => id,
        };
        let sql = format!(
            "UPDATE {table} SET handler_account_id = $1, handler_name = $2, revision = revision + 1 WHERE id = $3 AND {org_column} = $4 AND status IN ({states})"
        );
        let notice = Notice {
            org_id: m.scope.org_id().to_owned(),
            subject: "已分配经办人".to_owned(),
            body: format!(
                "主账号将{}分配给 {name} 办理。",
                match what {
                    Assignable::Demand(_) => "一项融资需求",
                    Assignable::Application(_) => "一项产品申请",
                }
            ),
            link,
            reference: reference.clone(),
        };
        let now = self.now_ms();
        let done = with_pool!(self.store().write(), |p, b| {
            async {
                let mut tx = begin_write!(p, b)?;
                let changed = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(account_id)
                    .bind(&name)
                    .bind(id)
                    .bind(m.scope.org_id())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if changed != 1 {
                    return Ok::<_, MarketError>(false);
                }
                write_notice!(&mut *tx, &notice, now)?;
                tx.commit().await?;
                Ok(true)
            }
            .await
        })?;
        if !done {
            return Err(MarketError::NotFound(
                match what {
                    Assignable::Demand(_) => "demand",
                    Assignable::Application(_) => "application",
                },
                id.to_owned(),
            ));
        }
        self.audit_event(
            AuditEvent::new("market.assigned", Outcome::Success)
                .actor(m.audit_actor())
                .target(reference)
                .details(serde_json::json!({ "account_id": account_id }))
                .context(ctx),
        )
        .await?;
        Ok(name)
    }

    /// The members a main account may assign work to: (account id, name), main first.
    pub async fn assignees(&self, m: &Member) -> Result<Vec<(String, String)>, MarketError> {
        m.institution()?;
        Ok(self
            .organisations()
            .members(&m.scope, orgs::Page::new(1, 100))
            .await?
            .items
            .into_iter()
            .filter(|v| v.status == orgs::MemberStatus::Active)
            .map(|v| (v.account_id, v.display_name))
            .collect())
    }
}
