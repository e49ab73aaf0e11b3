"""Output files and directories: checked before the work, written whole or not at all.

A run that fails half-way (disk full, interrupted) must never leave a truncated file where
a good one was: every output is written to a temporary file beside it and renamed into
place (atomic on POSIX), and a path that cannot be written is refused before any mining.
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from aiimpact.errors import InputError


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def writable_dir(path: str | os.PathLike, what: str) -> Path:
    """*path* as a directory this process can create and write; else an :class:`InputError`.

    Nothing is created: the nearest existing ancestor must be a writable directory.
    """
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise InputError(f"{what} {path} is a file, not a directory")
    base = _nearest_existing(path.absolute())
    if not base.is_dir():
        raise InputError(f"{what} {path} cannot be created: {base} is a file")
    if not os.access(base, os.W_OK | os.X_OK):
        raise InputError(f"{what} {path} is not writable (permission denied on {base})")
    return path


def writable_file(path: str | os.PathLike, what: str, suffixes: tuple[str, ...] = ()) -> Path:
    """*path* as a file this process can write (its directory may not exist yet).

    *suffixes*, when given, are the accepted endings (``(".csv", ".json")``).
    """
    path = Path(path).expanduser()
    if suffixes and path.suffix.lower() not in suffixes:
        endings = (
            ", ".join(suffixes[:-1]) + " or " + suffixes[-1] if len(suffixes) > 1 else suffixes[0]
        )
        raise InputError(f"{what} {path} must end in {endings}")
    if path.is_dir():
        raise InputError(f"{what} {path} is a directory")
    if path.exists() and not os.access(path, os.W_OK):
        raise InputError(f"{what} {path} is not writable (permission denied)")
    base = _nearest_existing(path.absolute().parent)
    if not base.is_dir():
        raise InputError(f"{what} {path} cannot be written: {base} is a file")
    if not os.access(base, os.W_OK | os.X_OK):
        raise InputError(f"{what} {path} cannot be written: permission denied on {base}")
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside *path*; on success it replaces *path*, else it is removed.

    An :class:`OSError` while writing (disk full, say) becomes an :class:`InputError` that
    names the file; the file that was there before is left untouched.

    Examples
    --------
    >>> with atomic_output("out.csv") as tmp:   # doctest: +SKIP
    ...     df.to_csv(tmp, index=False)
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror}") from None
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # as an ordinary new file, not mkstemp's 0600
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        reason = "no space left on device" if exc.errno == errno.ENOSPC else exc.strerror
        raise InputError(f"cannot write {path}: {reason}; it is left as it was") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
