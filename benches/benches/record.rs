//! Recording benches (filled in next).
fn main() {}
