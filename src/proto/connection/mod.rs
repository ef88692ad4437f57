//! placeholder
/// placeholder
pub struct Connection;
/// placeholder
pub enum Role {}
