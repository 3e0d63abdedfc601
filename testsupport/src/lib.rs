//! Test support: starts real third-party servers on loopback for tests.
