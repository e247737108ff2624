//! File writing that never leaves a half-written file and never clobbers inputs.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Writes `path` through a temporary file in the same folder, renamed into place only
/// after `write` succeeded and the data reached the disk.
pub fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> io::Result<()>,
) -> io::Result<()> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut temp = tempfile::Builder::new()
        .prefix(".stegnet-partial-")
        .tempfile_in(&folder)?;
    write(temp.as_file_mut())?;
    temp.as_file_mut().flush()?;
    // Temporary files are private (0600); the result gets the usual mode of a new file, or
    // keeps the mode of the file it replaces.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode());
        temp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    temp.as_file().sync_all()?;
    temp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Why an output path may not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    #[error("refusing to write {0}: it is one of the input files")]
    IsInput(String),
    #[error("refusing to overwrite {0}: it already exists (pass --force to replace it)")]
    Exists(String),
    #[error("cannot write {path}: folder {folder} does not exist")]
    NoFolder { path: String, folder: String },
}

/// Checks that `output` may be written: never an input, and an existing file only with
/// `force`.
pub fn check_output(output: &Path, inputs: &[&Path], force: bool) -> Result<(), OutputError> {
    let shown = || output.display().to_string();
    if let Some(folder) = output.parent().filter(|p| !p.as_os_str().is_empty())
        && !folder.is_dir()
    {
        return Err(OutputError::NoFolder {
            path: shown(),
            folder: folder.display().to_string(),
        });
    }
    if !output.exists() {
        return Ok(());
    }
    let target = output.canonicalize().ok();
    if inputs
        .iter()
        .any(|input| input.canonicalize().ok() == target && target.is_some())
    {
        return Err(OutputError::IsInput(shown()));
    }
    if !force {
        return Err(OutputError::Exists(shown()));
    }
    Ok(())
}

/// Creates and returns a new, empty folder `PARENT/<prefix>-<seconds since 1970>` (suffixed
/// `-1`, `-2`, ... if taken), creating `parent` if needed: each run writes into a folder of
/// its own, so nothing earlier is overwritten.
pub fn new_folder(parent: &Path, prefix: &str) -> anyhow::Result<PathBuf> {
    use anyhow::Context;
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create the folder {}", parent.display()))?;
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for attempt in 0.. {
        let name = match attempt {
            0 => format!("{prefix}-{seconds}"),
            n => format!("{prefix}-{seconds}-{n}"),
        };
        let folder = parent.join(name);
        match std::fs::create_dir(&folder) {
            Ok(()) => return Ok(folder),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(e).with_context(|| format!("cannot create {}", folder.display()));
            }
        }
    }
    unreachable!("some folder name is free")
}
