//! placeholder
/// placeholder
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseCode(pub u16);
impl CloseCode {
    /// placeholder
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// placeholder
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// placeholder
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
}
/// placeholder
pub struct CloseFrame;
