//! The exchange's in-process consumers this binary provides (partners' `deliver_to =
//! "internal:<name>"`), each an adapter from a feature crate to [`exchange::Consumer`]: the
//! features do not know each other, the binary joins them.

use exchange::{Consumer, ConsumerError, Delivered};
use futures_util::future::BoxFuture;

/// `internal:market`: the marketplace applies banks' answers about its demands
/// (`market::feed`).
pub const MARKET: &str = "market";

/// Every name this binary registers (what `hub check-config` accepts after `internal:`).
pub const NAMES: [&str; 1] = [MARKET];

/// The marketplace's feed as the exchange's consumer.
pub struct MarketConsumer(pub market::Feed);

impl Consumer for MarketConsumer {
    fn apply<'a>(&'a self, d: Delivered<'a>) -> BoxFuture<'a, Result<(), ConsumerError>> {
        Box::pin(async move {
            let incoming = market::feed::Incoming {
                receipt_id: d.receipt_id,
                partner: d.partner,
                message_type: d.message_type,
                message_id: d.message_id,
                json: d.json,
            };
            match self.0.apply(incoming).await {
                Ok(_) => Ok(()),
                Err(market::feed::FeedError::Retry(e)) => Err(ConsumerError::Retry(e)),
                Err(market::feed::FeedError::Refused(e)) => Err(ConsumerError::Refused(e)),
            }
        })
    }
}
