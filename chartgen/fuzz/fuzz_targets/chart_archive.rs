//! Fuzz target: a chart archive from the network never panics the reader, and whatever it
//! accepts holds only relative, `..`-free paths within Helm's size limits.
#![no_main]

use chartgen::chart::{MAX_FILE_SIZE, archive_files};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(files) = archive_files(data) {
        for (name, body) in files {
            assert!(!name.starts_with('/') && !name.starts_with(".."), "{name}");
            assert!(body.len() as u64 <= MAX_FILE_SIZE);
        }
    }
    let _ = chartgen::chart::load_archive(data);
});
