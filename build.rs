//! Validates every WGSL shader in `shaders/` with naga, so a broken shader fails the build
//! rather than the user's session.

use std::path::Path;

fn main() {
    let folder = Path::new("shaders");
    println!("cargo:rerun-if-changed=shaders");
    println!("cargo:rerun-if-changed=assets/stegnet.bpk");
    let mut entries: Vec<_> = std::fs::read_dir(folder)
        .expect("the shaders/ folder exists")
        .map(|entry| entry.expect("readable shaders/ entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "wgsl"))
        .collect();
    entries.sort();
    for path in entries {
        println!("cargo:rerun-if-changed={}", path.display());
        let source = std::fs::read_to_string(&path).expect("readable shader");
        let module = naga::front::wgsl::parse_str(&source).unwrap_or_else(|error| {
            panic!(
                "{}",
                error.emit_to_string_with_path(&source, &path.display().to_string())
            )
        });
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::all(),
        )
        .validate(&module)
        .unwrap_or_else(|error| {
            panic!(
                "{}",
                error.emit_to_string_with_path(&source, &path.display().to_string())
            )
        });
    }
}
