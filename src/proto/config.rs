//! placeholder
/// placeholder
pub struct Config;
