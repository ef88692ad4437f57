//! placeholder: assembler (being written)
