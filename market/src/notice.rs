//! An in-site message about to be written (see `messages.rs` for reading them): a leaf, so
//! that every step's transaction (`service.rs`, `applications.rs`, `deadlines.rs`) can write
//! its message without depending on the reading side.

/// Writes one message (the binds of [`Notice::row`]).
pub(crate) const INSERT_MESSAGE: &str = "INSERT INTO market_messages (id, org_id, subject, body, link, reference, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)";

/// A message to be sent: to an organisation, about something, linking to its page.
#[derive(Clone, Debug)]
pub(crate) struct Notice {
    pub org_id: String,
    pub subject: String,
    pub body: String,
    pub link: String,
    pub reference: String,
}

impl Notice {
    /// The binds of [`INSERT_MESSAGE`], in order, with a new id (time-ordered: messages of
    /// the same millisecond list in the order they were written).
    pub(crate) fn row(&self, at: i64) -> (String, &str, &str, &str, &str, &str, i64) {
        (
            new_id(),
            &self.org_id,
            &self.subject,
            &self.body,
            &self.link,
            &self.reference,
            at,
        )
    }
}

/// A message id: a UUIDv7, so that ids sort as they were made.
pub(crate) fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
