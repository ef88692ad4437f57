//! placeholder: mask (being written)
