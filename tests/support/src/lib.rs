//! Helpers shared by the integration tests in `tests/`, compiled once
//! instead of once per test binary.

pub mod bin;
