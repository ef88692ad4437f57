//! placeholder: utf8 (being written)
