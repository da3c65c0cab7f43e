//! An in-site message about to be written (see `messages.rs` for reading them): a leaf, so
//! that every step's transaction (`service.rs`, `applications.rs`, `deadlines.rs`) can write
//! its message without depending on the reading side.

/// Writes one message (see [`write_notice!`]).
pub(crate) const INSERT_MESSAGE: &str = "INSERT INTO market_messages (id, org_id, subject, body, link, reference, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// Writes the [`Notice`] `$n`, sent at `$at`, with a new id through `$executor` (a pool or
/// `&mut *tx`, inside `with_pool!`, either backend): the query's result.
macro_rules! write_notice {
    ($executor:expr, $n:expr, $at:expr) => {{
        let n: &$crate::notice::Notice = $n;
        sqlx::query($crate::notice::INSERT_MESSAGE)
            .bind($crate::notice::new_id())
            .bind(&n.org_id)
            .bind(&n.subject)
            .bind(&n.body)
            .bind(&n.link)
            .bind(&n.reference)
            .bind($at)
            .execute($executor)
            .await
    }};
}
pub(crate) use write_notice;

/// A message to be sent: to an organisation, about something, linking to its page.
#[derive(Clone, Debug)]
pub(crate) struct Notice {
    pub org_id: String,
    pub subject: String,
    pub body: String,
    pub link: String,
    pub reference: String,
}

/// A message id: a UUIDv7, so that ids sort as they were made.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
