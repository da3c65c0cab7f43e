//! In-site messages (站内消息, REQUIREMENTS D8): each step of a demand or an application tells
//! the other side — the enterprise when an institution takes, returns, disburses or deletes its
//! demand, the institution when the enterprise confirms it, both sides of an application at
//! every step, an institution when its feedback is overdue. A message goes to an organisation;
//! every member of it reads it and keeps their own read marks, so "unread" is per person.
//!
//! A step's message is written in the step's own transaction (`service.rs`, `applications.rs`,
//! `deadlines.rs`): the step and its message commit together or not at all.

use platform::paging::{Page, Paged};
use platform::store::with_pool;
use serde::Serialize;

use crate::error::MarketError;
use crate::notice::{Notice, write_notice};
use crate::service::{Market, Member};

/// A message as its reader sees it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Message {
    pub id: String,
    pub subject: String,
    pub body: String,
    /// The page it is about (a path on the site).
    pub link: Option<String>,
    /// `demand:<id>`, `application:<id>` or `product:<id>`.
    pub reference: String,
    pub created_at: i64,
    /// Whether the reader has opened it.
    pub read: bool,
}

/// A page of a member's messages, newest first, and how many they have not read.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Inbox {
    pub unread: u64,
    pub messages: Paged<Message>,
}

type Row = (String, String, String, Option<String>, String, i64, i64);

fn message((id, subject, body, link, reference, created_at, read): Row) -> Message {
    Message {
        id,
        subject,
        body,
        link,
        reference,
        created_at,
        read: read != 0,
    }
}

const MESSAGE_COLUMNS: &str = "m.id, m.subject, m.body, m.link, m.reference, m.created_at, CAST(CASE WHEN r.account_id IS NULL THEN 0 ELSE 1 END AS BIGINT)";

impl Market {
    /// Sends one message on its own (a step whose store write is not a transaction of this
    /// crate's, such as a product review).
    pub(crate) async fn notify(&self, n: &Notice) -> Result<(), MarketError> {
        let now = self.now_ms();
        with_pool!(self.store().write(), |p| write_notice!(p, n, now)
            .map(|_| ()))?;
        Ok(())
    }

    /// How many of their organisation's messages the member has not opened.
    pub async fn unread(&self, m: &Member) -> Result<u64, MarketError> {
        let n: i64 = with_pool!(self.store().read(), |p| {
            sqlx::query_scalar("SELECT COUNT(*) FROM market_messages m WHERE m.org_id = $1 AND NOT EXISTS (SELECT 1 FROM market_message_reads r WHERE r.message_id = m.id AND r.account_id = $2)")
                .bind(m.scope.org_id())
                .bind(m.scope.account_id())
                .fetch_one(p)
                .await
        })?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// A page of the member's organisation's messages, newest first; `unread_only` leaves out
    /// those the member has opened.
    pub async fn inbox(
        &self,
        m: &Member,
        unread_only: bool,
        page: Page,
    ) -> Result<Inbox, MarketError> {
        let only = if unread_only {
            " AND r.account_id IS NULL"
        } else {
            ""
        };
        let from = format!(
            "FROM market_messages m LEFT JOIN market_message_reads r ON r.message_id = m.id AND r.account_id = $2 WHERE m.org_id = $1{only}"
        );
        let list = format!(
            "SELECT {MESSAGE_COLUMNS} {from} ORDER BY m.created_at DESC, m.id DESC LIMIT {} OFFSET {}",
            page.limit(),
            page.offset()
        );
        let count = format!("SELECT COUNT(*) {from}");
        let (total, rows): (i64, Vec<Row>) = with_pool!(self.store().read(), |p| {
            async {
                let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count.clone()))
                    .bind(m.scope.org_id())
                    .bind(m.scope.account_id())
                    .fetch_one(p)
                    .await?;
                let rows: Vec<Row> = sqlx::query_as(sqlx::AssertSqlSafe(list.clone()))
                    .bind(m.scope.org_id())
                    .bind(m.scope.account_id())
                    .fetch_all(p)
                    .await?;
                Ok::<_, sqlx::Error>((total, rows))
            }
            .await
        })?;
        Ok(Inbox {
            unread: self.unread(m).await?,
            messages: Paged::of(
                rows.into_iter().map(message).collect(),
                u64::try_from(total).unwrap_or(0),
                page,
            ),
        })
    }

    /// Opens one of the member's organisation's messages and marks it read for the member
    /// (`market.not_found` for another organisation's).
    pub async fn open_message(&self, m: &Member, id: &str) -> Result<Message, MarketError> {
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS} FROM market_messages m LEFT JOIN market_message_reads r ON r.message_id = m.id AND r.account_id = $2 WHERE m.org_id = $1 AND m.id = $3"
        );
        let row: Option<Row> = with_pool!(self.store().read(), |p| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
                .bind(m.scope.org_id())
                .bind(m.scope.account_id())
                .bind(id)
                .fetch_optional(p)
                .await
        })?;
        let mut msg = message(row.ok_or_else(|| MarketError::NotFound("message", id.to_owned()))?);
        if !msg.read {
            self.mark_read(m, Some(id)).await?;
            msg.read = true;
        }
        Ok(msg)
    }

    /// Marks one message (or, with `None`, every message) of the member's organisation read
    /// for the member. Returns how many were newly marked.
    pub async fn mark_read(&self, m: &Member, id: Option<&str>) -> Result<u64, MarketError> {
        let one = if id.is_some() { " AND m.id = $4" } else { "" };
        let sql = format!(
            "INSERT INTO market_message_reads (message_id, account_id, read_at) SELECT m.id, $2, $3 FROM market_messages m WHERE m.org_id = $1{one} AND NOT EXISTS (SELECT 1 FROM market_message_reads r WHERE r.message_id = m.id AND r.account_id = $2) ON CONFLICT (message_id, account_id) DO NOTHING"
        );
        let now = self.now_ms();
        let n = with_pool!(self.store().write(), |p| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(m.scope.org_id())
                .bind(m.scope.account_id())
                .bind(now);
            if let Some(id) = id {
                q = q.bind(id);
            }
            q.execute(p).await.map(|r| r.rows_affected())
        })?;
        Ok(n)
    }
}
