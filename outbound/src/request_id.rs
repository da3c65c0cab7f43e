//! The id of the inbound request being handled, carried on to every outbound call made while
//! handling it (`x-request-id`), so that a partner's logs can be matched with ours.
//!
//! It is a tokio task-local rather than a global or a parameter: the hub's middleware sets it
//! once around each request, and the adapters deep below need not pass it along. A task
//! spawned while handling a request does not inherit it; wrap the spawned future in
//! [`scope_request_id`] again if its calls should carry the id.

use std::future::Future;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// Runs `f` with `id` as the current request id.
pub async fn scope_request_id<F: Future>(id: String, f: F) -> F::Output {
    REQUEST_ID.scope(id, f).await
}

/// The current request id, inside [`scope_request_id`].
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_id_is_visible_inside_the_scope_only() {
        assert_eq!(current_request_id(), None);
        let inside = scope_request_id("r-1".into(), async {
            tokio::task::yield_now().await;
            current_request_id()
        })
        .await;
        assert_eq!(inside.as_deref(), Some("r-1"));
        assert_eq!(current_request_id(), None);
    }
}
