//! Fails when a test module in `tests/it/` is not declared in `main.rs`, so that no test
//! file is silently left out of the binary.

use std::fs;
use std::path::Path;

#[test]
fn every_module_is_registered() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("it");
    let main = fs::read_to_string(dir.join("main.rs")).expect("tests/it/main.rs is readable");
    let mut missing = Vec::new();
    for entry in fs::read_dir(&dir).expect("tests/it is readable") {
        let path = entry.expect("directory entry").path();
        let name = match path.file_stem().and_then(|s| s.to_str()) {
            Some(name) if name != "main" => name.to_owned(),
            _ => continue,
        };
        let is_module = path.extension().is_some_and(|e| e == "rs") || path.is_dir();
        if is_module && !main.lines().any(|l| l.trim() == format!("mod {name};")) {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "modules not registered in tests/it/main.rs: {missing:?}"
    );
}
