//! placeholder
/// placeholder
pub enum OpCode {}
/// placeholder
pub struct FrameHeader;
