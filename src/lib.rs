//! cris-guard library.
