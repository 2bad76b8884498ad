# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""One training per work dir: an exclusive ``flock`` on ``<work_dir>/.train.lock``, which the
kernel releases when its holder dies, so that a crashed run never blocks the next."""
import fcntl
import os
import os.path as osp
import socket
import time
from typing import Optional


def _try_lock(f) -> Optional[str]:
    """Take the exclusive lock of the open lock file ``f``: None, or the holder's text when
    another process holds it."""
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return None
    except BlockingIOError:
        f.seek(0)
        return f.read().strip() or 'another process'


class WorkDirLock:
    """The lock of one work dir: :meth:`holder` asks who trains there, :meth:`acquire` takes
    it (or raises naming the holder), :meth:`release` gives it back."""

    def __init__(self, work_dir: str) -> None:
        self.work_dir = work_dir
        self.path = osp.join(work_dir, '.train.lock')
        self._file = None

    def holder(self) -> Optional[str]:
        """Who trains in the work dir now (the lock's text), or None when no one does."""
        if not osp.isfile(self.path):
            return None
        with open(self.path, 'a+') as f:  # closing it releases a lock taken here
            return _try_lock(f)

    def acquire(self) -> None:
        """Take the lock for this process, writing its pid, host and start into the file;
        ``RuntimeError`` naming the holder when a running training has it."""
        f = open(self.path, 'a+')
        holder = _try_lock(f)
        if holder is not None:
            f.close()
            raise RuntimeError(
                f'the work dir {self.work_dir!r} is in use by a running training ({holder}; '
                f'lock {self.path}). Two runs in one work dir would mix their checkpoints and '
                'logs: wait for it to end or stop it, or give this run another --work-dir.')
        f.seek(0)
        f.truncate()
        f.write(f'pid {os.getpid()} on {socket.gethostname()}, started '
                f'{time.strftime("%Y-%m-%d %H:%M:%S")}\n')
        f.flush()
        self._file = f  # held (and the lock with it) until release() or the process dies

    def release(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
