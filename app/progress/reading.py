"""Reading a progress document from a path without trusting what the path is.

The one function that touches the file system in app.progress: ``sawmill
import FILE`` takes any path, and ``/dev/zero`` never ends while a FIFO nobody
writes to would wait for ever.
"""

from __future__ import annotations

import os
from pathlib import Path

from app.progress.document import MAX_BYTES


def read_document(path: Path | str, limit: int = MAX_BYTES) -> bytes:
    """At most ``limit + 1`` bytes of the file at ``path``: enough for ``decode`` to refuse
    a larger one, whatever it is. A FIFO is opened without waiting for a writer, and reads
    as empty when it has none. Raises OSError as ``open`` would.

    The one bounded read of a path a user names: the config file and CI reports are read
    through it too. A pipe is read as far as the limit (``--config <(...)``,
    ``sawmill report /dev/stdin``); so is ``/dev/zero``, then refused as too large."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
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
