//! cris-guard CLI.
fn main() {}
