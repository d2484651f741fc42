//! The `simulated` feed kind (to be written).
use super::{BankFeed, BankProfile, FeedError};
pub const KIND: &str = "simulated";
pub fn factory(_p: &BankProfile) -> Result<Box<dyn BankFeed>, FeedError> {
    Err(FeedError::Other("not yet".into()))
}
pub fn parse_profile(_p: &BankProfile) -> Result<(), FeedError> { Ok(()) }
