//! Build script of the `chartgen` crate: link the `chartgen` binary as a position-dependent
//! executable.
//!
//! `chartgen template` runs for a few milliseconds, and a PIE build spends a noticeable part of
//! that in the dynamic loader applying ~15,000 relative relocations (and copying the pages
//! they touch). A non-PIE executable has them resolved at link time. The library is unchanged.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if os == "linux" {
        println!("cargo:rustc-link-arg-bin=chartgen=-no-pie");
    }
}
