//! The finance marketplace (REQUIREMENTS D2–D4, D6, D9): resident institutions' products with
//! the operators' review and a public list with filters; enterprises' financing demands with
//! the operators' review; matching of demands with products both ways, with the reasons;
//! the 需求市场 where institutions see demands without the enterprise's identity, take one
//! (抢单: exactly one winner, decided by the store), and handle it (return, disburse, delete);
//! the enterprise confirms the winner, which only then learns who it is; once a demand has
//! ended both sides rate each other (D8), and organisations earn points in a ledger (D12).
//! Enterprises apply online for products and the institutions answer (D3); every step tells
//! the other side by in-site message; operators set feedback deadlines, and a job on every node
//! reminds late institutions once per step and counts it against their rating.
//!
//! Amounts are integer fen, rates integer basis points, terms months. Every change is audited;
//! every read is scoped to the reader's organisation.

pub mod applications;
mod assign;
pub mod deadlines;
mod error;
pub mod feed;
pub mod institutions;
pub mod matching;
pub mod messages;
mod model;
pub mod money;
mod notice;
pub mod points;
pub mod ratings;
mod rule;
mod service;
mod sign_in;

pub use applications::{
    Application, ApplicationEvent, ApplicationForm, ApplicationStatus, Step, StepForm,
};
pub use assign::Assignable;
pub use deadlines::Deadline;
pub use error::MarketError;
pub use feed::{Feed, MarketConfig, RawMarket};
pub use institutions::{Institution, InstitutionProfile};
pub use messages::{Inbox, Message};
pub use model::{
    Choices, Decision, Demand, DemandEvent, DemandForm, DemandInput, DemandStatus, DemandView,
    Enterprise, INSTITUTION_KINDS, LOAN_METHODS, PRODUCT_KINDS, Product, ProductFilter,
    ProductForm, ProductInput, ProductSort, ProductStatus, action_label, label,
};
pub use points::{Points, PointsEntry, PointsRule};
pub use ratings::{HeldRating, Rating, RatingSummary};
pub use rule::Rule;
pub use service::{Market, MarketFigures, MarketItem, Member, filter_products};
pub use sign_in::SignInPoints;
