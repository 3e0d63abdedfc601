//! Iter8 experiment engine.
