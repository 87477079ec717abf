//! Replays the fuzz corpus and the saved regressions through the same
//! checks the fuzz targets run, so `cargo test` keeps them fixed.

use std::fs;
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut files: Vec<PathBuf> =
        entries.map(|e| e.unwrap().path()).filter(|p| p.is_file()).collect();
    files.sort();
    files
}

#[test]
fn corpus_and_regressions_pass_every_check() {
    let dirs = ["corpus/never_panics", "corpus/round_trip", "regressions"];
    let mut count = 0;
    for dir in dirs {
        for file in files(&fuzz_dir().join(dir)) {
            let data = fs::read(&file).unwrap();
            nxlog_filter::__fuzz::never_panics(&data);
            nxlog_filter::__fuzz::round_trip(&data);
            count += 1;
        }
    }
    assert!(count >= 10, "expected the committed seed corpus, found {count} files");
}
