//! The files `require` may read: those whose real path (symbolic links followed) is
//! inside the context's modules folder. Everything else is [`Kind::Outside`] or
//! missing, and is never opened.

use std::path::{Path, PathBuf};

use crate::engine::node::resolve::{Files, Kind};

/// A view of the disk confined to `root` (a canonical path).
pub(crate) struct Confined<'r> {
    /// The canonical modules folder.
    pub(crate) root: &'r Path,
}

impl Confined<'_> {
    /// The real path of `path` if it exists and is inside the root; `Err(true)` when
    /// it exists outside, `Err(false)` when it does not exist.
    pub(crate) fn real(&self, path: &Path) -> Result<PathBuf, bool> {
        if !path.starts_with(self.root) {
            return Err(true);
        }
        match std::fs::canonicalize(path) {
            Ok(real) if real.starts_with(self.root) => Ok(real),
            Ok(_) => Err(true),
            Err(_) => Err(false),
        }
    }
}

impl Files for Confined<'_> {
    fn kind(&self, path: &Path) -> Kind {
        match self.real(path) {
            Ok(real) => match std::fs::metadata(real) {
                Ok(meta) if meta.is_file() => Kind::File,
                Ok(meta) if meta.is_dir() => Kind::Dir,
                _ => Kind::Missing,
            },
            Err(true) => Kind::Outside,
            Err(false) => Kind::Missing,
        }
    }

    fn read(&self, path: &Path) -> Option<String> {
        let real = self.real(path).ok()?;
        // As Node reads files: bytes that are not UTF-8 become U+FFFD.
        std::fs::read(real).ok().map(text_of)
    }
}

/// `bytes` as text, as Node decodes a file: UTF-8, each invalid sequence as U+FFFD.
pub(crate) fn text_of(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}
