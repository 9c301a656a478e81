//! Loom models for corral-core. Filled in by the concurrency-proof issue.
