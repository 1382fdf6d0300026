"""Reading a progress document from a path without trusting what the path is.

The one function that touches the file system in app.progress: ``sawmill
import FILE`` takes any path, and ``/dev/zero`` never ends while a FIFO nobody
writes to would wait for ever.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from app.progress.document import MAX_BYTES


def read_document(path: Path | str, limit: int = MAX_BYTES, *, only_files: bool = False) -> bytes:
    """At most ``limit + 1`` bytes of the file at ``path``: enough for ``decode`` to refuse
    a larger one, whatever it is. A FIFO is opened without waiting for a writer, and reads
    as empty when it has none. Raises OSError as ``open`` would.

    The one bounded read of a path a user names: the config file and CI reports are read
    through it too, with ``only_files``, which refuses anything but a regular file (a
    device, a FIFO, a folder) with an OSError saying so."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        if only_files and not stat.S_ISREG(os.fstat(fd).st_mode):  # asked of what was opened: no race
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        os.set_blocking(fd, True)  # a pipe with a writer is then read as the writer goes
        chunks, left = [], limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)
