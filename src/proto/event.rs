//! placeholder
/// placeholder
pub enum Event {}
