//! The single-use guard: tickets, nonces, sign-in states and logout-token ids are recorded when
//! first used and refused afterwards, on every node (the store holds them, as SM3 digests).

use std::sync::Arc;
use std::time::Duration;

use crate::clock::Clock;
use crate::store::{Db, StoreResult, begin_write, with_pool};

#[derive(Clone)]
pub struct ReplayGuard {
    db: Db,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for ReplayGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReplayGuard")
    }
}

impl ReplayGuard {
    pub fn new(db: Db, clock: Arc<dyn Clock>) -> Self {
        ReplayGuard { db, clock }
    }

    /// Records `value` as used in `scope` (e.g. `fujian:ticket`) for `ttl`. `false` when it
    /// was used before: the caller must refuse.
    pub async fn claim(&self, scope: &str, value: &str, ttl: Duration) -> StoreResult<bool> {
        let expires = self.clock.now().plus(ttl).0;
        let hash = guomi::sm3(value.as_bytes());
        let inserted: u64 = with_pool!(self.db.write(), |p| {
            sqlx::query("INSERT INTO replay_guard (scope, value_hash, expires_at) VALUES ($1, $2, $3) ON CONFLICT (scope, value_hash) DO NOTHING")
                .bind(scope)
                .bind(hash.as_slice())
                .bind(expires)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(inserted == 1)
    }

    /// Claims several values in one transaction; `Err(i)` names the first used before (and
    /// claims none).
    pub async fn claim_all(
        &self,
        values: &[(&str, &str)],
        ttl: Duration,
    ) -> StoreResult<Result<(), usize>> {
        let expires = self.clock.now().plus(ttl).0;
        let outcome: Result<Result<(), usize>, sqlx::Error> = with_pool!(
            self.db.write(),
            |p, b| {
                async {
            let mut tx = begin_write!(p, b)?;
            for (i, (scope, value)) in values.iter().enumerate() {
                let hash = guomi::sm3(value.as_bytes());
                let n = sqlx::query("INSERT INTO replay_guard (scope, value_hash, expires_at) VALUES ($1, $2, $3) ON CONFLICT (scope, value_hash) DO NOTHING")
                    .bind(*scope)
                    .bind(hash.as_slice())
                    .bind(expires)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n != 1 {
                    return Ok(Err(i));
                }
            }
            tx.commit().await?;
            Ok(Ok(()))
        }
        .await
            }
        );
        Ok(outcome?)
    }

    /// Forgets values whose time has passed (they fail their own time checks by then).
    pub async fn purge_expired(&self) -> StoreResult<u64> {
        let now = self.clock.now().0;
        let n = with_pool!(self.db.write(), |p| {
            sqlx::query("DELETE FROM replay_guard WHERE expires_at < $1")
                .bind(now)
                .execute(p)
                .await
                .map(|r| r.rows_affected())
        })?;
        Ok(n)
    }
}
