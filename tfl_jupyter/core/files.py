"""Writing files so that a failure never leaves half a file or clobbers the old one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def check_writable(path: str | os.PathLike) -> Path:
    """Fail early, before a long conversion, if ``path`` cannot be written.

    Raises
    ------
    ValueError
        The folder is missing, the path is a folder, or it is not writable.
    """
    target = Path(path).expanduser()
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise ValueError(f"output path {str(target)!r} is a folder: give a file name, e.g. {str(target / 'model.tflite')!r}")
    if not folder.is_dir():
        raise ValueError(f"cannot write {str(target)!r}: folder {str(folder)!r} does not exist (create it with os.makedirs)")
    if not os.access(folder, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise ValueError(f"cannot write {str(target)!r}: permission denied; choose another output path")
    return target


def write_atomically(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    target = check_writable(path)
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent or ".")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    return target
