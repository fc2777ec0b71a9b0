//! The files `require` may read: those whose real path (symbolic links followed) is
//! inside the context's modules folder. Everything else is [`Kind::Outside`] or
//! missing, and is never read.

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

/// Why [`Confined::read_file`] read nothing.
pub(crate) enum Unread {
    /// The file is outside the root.
    Outside,
    /// There is no regular file there.
    Missing,
    /// It could not be read.
    Io(std::io::Error),
}

impl Confined<'_> {
    /// The bytes of `path` if it is a regular file inside the root. The file read is the
    /// one checked: it is opened first, and the real path of what was opened (from
    /// `/proc/self/fd`, where there is one) must be inside the root — a link swapped in
    /// between the check and the read leads nowhere else. A FIFO is not waited on.
    pub(crate) fn read_file(&self, path: &Path) -> Result<Vec<u8>, Unread> {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        use std::os::unix::io::AsRawFd;
        let real = self.real(path).map_err(|outside| {
            if outside {
                Unread::Outside
            } else {
                Unread::Missing
            }
        })?;
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&real)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => Unread::Missing,
                _ => Unread::Io(e),
            })?;
        let meta = file.metadata().map_err(Unread::Io)?;
        if !meta.is_file() {
            return Err(Unread::Missing);
        }
        if let Ok(opened) = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())) {
            if !opened.starts_with(self.root) {
                return Err(Unread::Outside);
            }
        }
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
        file.read_to_end(&mut bytes).map_err(Unread::Io)?;
        Ok(bytes)
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
        // As Node reads files: bytes that are not UTF-8 become U+FFFD.
        self.read_file(path).ok().map(text_of)
    }
}

/// `bytes` as text, as Node decodes a file: UTF-8, each invalid sequence as U+FFFD.
pub(crate) fn text_of(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

#[cfg(test)]
mod tests {
    use super::{Confined, Unread};

    #[test]
    #[cfg_attr(miri, ignore = "makes files, a link and a FIFO")]
    fn only_regular_files_inside_the_root_are_read() {
        let base = std::env::temp_dir().join(format!("v8rs-fs-{}", std::process::id()));
        let root = base.join("root");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("a.js"), "in").unwrap();
        std::fs::write(base.join("secret.js"), "out").unwrap();
        std::os::unix::fs::symlink(base.join("secret.js"), root.join("link.js")).unwrap();
        let fifo = std::ffi::CString::new(root.join("fifo.js").to_str().unwrap()).unwrap();
        // SAFETY: a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let root = std::fs::canonicalize(&root).unwrap();
        let files = Confined { root: &root };
        assert_eq!(
            files.read_file(&root.join("a.js")).ok(),
            Some(b"in".to_vec())
        );
        assert!(matches!(
            files.read_file(&root.join("link.js")),
            Err(Unread::Outside)
        ));
        // A FIFO is neither waited on nor read.
        assert!(matches!(
            files.read_file(&root.join("fifo.js")),
            Err(Unread::Missing)
        ));
        assert!(matches!(
            files.read_file(&root.join("none.js")),
            Err(Unread::Missing)
        ));
        std::fs::remove_dir_all(&base).unwrap();
    }
}
