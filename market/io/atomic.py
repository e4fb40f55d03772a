"""Writing files and folders so that readers never see them half-written."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def write_text(path: Path, text: str) -> None:
    """Write via a temporary file beside ``path``, then rename it into place."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_folders(out: Path) -> list[Path]:
    """Remove the temporary siblings ``.<name>.<pid>.*`` of ``out`` that a killed writer
    left behind (its process no longer runs; a name without a process id is older than
    this rule and stale too). A live writer's folder is left alone."""
    out = Path(out)
    parent = out.resolve().parent
    removed = []
    for path in parent.glob(f".{out.name}.*"):
        if not path.is_dir():
            continue
        pid = path.name[len(out.name) + 2 :].split(".", 1)[0]
        if pid.isascii() and pid.isdigit() and _alive(int(pid)):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


@contextmanager
def replaced_folder(out: Path) -> Iterator[Path]:
    """Yield an empty temporary sibling of ``out`` (``.<name>.<pid>.<random>``); when the
    block ends without an error it replaces ``out`` whole, otherwise it is removed and
    ``out`` is untouched. Temporary siblings left by a killed writer are removed first."""
    out = Path(out)
    out.resolve().parent.mkdir(parents=True, exist_ok=True)
    remove_stale_folders(out)
    prefix = f".{out.name}.{os.getpid()}."
    tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=out.resolve().parent))
    try:
        yield tmp
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
