"""Writing the files a command is asked for (`plan --out`, `report --out`, `import --output`).

Each is written beside its target under a temporary name and renamed over it once whole: a
write that fails part-way (a full disk, a file-size limit) leaves the file that was there as
it was, rather than truncated to what fitted. `import --output stores.yaml` is the case
that matters: that file is the config.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from dropstream_sync.errors import SettingsError


def check_folder_of(path: str, flag: str) -> None:
    """Refuse, before anything is read from DropStream, a FILE whose folder is missing, is
    not a folder or cannot be written: `plan --out` found out only once the whole account
    had been read and planned, and then printed no plan either."""
    folder = Path(os.path.realpath(path)).parent
    shown = os.path.dirname(path) or "."
    if not folder.exists():
        raise SettingsError(f"{flag} {path}: the folder {shown} does not exist; create it first")
    if not folder.is_dir():
        raise SettingsError(f"{flag} {path}: {shown} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SettingsError(
            f"{flag} {path}: the folder {shown} cannot be written (permission denied); "
            f"give {flag} a path in a folder you can write"
        )


def write_whole(path: str, write: Callable[[TextIO], object]) -> None:
    """`write` the file at `path` (UTF-8), all or nothing; SettingsError naming it."""
    temporary: Path | None = None
    try:
        try:
            found: os.stat_result | None = os.stat(path)
        except FileNotFoundError:
            found = None
        if found is not None and not stat.S_ISREG(found.st_mode):
            # A device or a pipe (/dev/stdout, a FIFO) cannot be renamed over: written as is.
            with open(path, "w", encoding="utf-8") as stream:
                write(stream)
            return
        # A symlink is followed (the file it names is replaced, the link kept), as an
        # ordinary open for writing would.
        target = Path(os.path.realpath(path))
        temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        with open(temporary, "x", encoding="utf-8") as stream:
            write(stream)
        if found is not None:
            os.chmod(temporary, stat.S_IMODE(found.st_mode))  # the file keeps its permissions
        os.replace(temporary, target)
    except BaseException as exc:
        # Whatever stopped the write (also an error rendering it, or Ctrl-C), the half-made
        # file goes; the one at `path` was never touched.
        if temporary is not None:
            with contextlib.suppress(OSError):
                temporary.unlink()
        if isinstance(exc, OSError):
            raise SettingsError(f"cannot write {path}: {exc.strerror}") from None
        raise
