# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Signals of the processes around the trainer: torchrun workers die with their launcher, and
DataLoader workers leave SIGTERM and SIGUSR1 to the trainer, which saves on them
(:class:`SaveOnSignalHook`)."""
import ctypes
import os
import signal
import threading


def die_with_parent() -> None:
    """A torchrun worker is killed when its launcher dies (even by kill -9). SIGKILL, not
    SIGTERM: SIGTERM asks for a save at the next iteration (SaveOnSignalHook), which would
    wait on ranks that may be gone."""
    try:
        libc = ctypes.CDLL('libc.so.6', use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:  # not Linux: nothing to do
        pass


def leave_signals_to_the_trainer(worker_id: int, init_fn=None) -> None:
    """A DataLoader worker's start: SIGTERM and SIGUSR1 go to :func:`_worker_signals`, then
    ``init_fn`` runs.

    A scheduler signals every process of the job (Slurm, systemd, ``kill -TERM -<pgid>``);
    a worker killed by it would end the trainer with "DataLoader worker (pid N) is killed by
    signal" before the trainer can save. The trainer ends its workers itself (a sentinel
    through their queue, or SIGTERM), and a worker whose trainer is gone exits by itself
    (PyTorch's watchdog)."""
    signals = {signal.SIGTERM, signal.SIGUSR1}
    signal.pthread_sigmask(signal.SIG_BLOCK, signals)  # inherited by later threads
    threading.Thread(target=_worker_signals, args=(os.getppid(), signals), daemon=True,
                     name='leave_signals_to_the_trainer').start()
    if init_fn is not None:
        init_fn(worker_id)


def _worker_signals(trainer: int, signals: set) -> None:
    """In a worker: take each SIGTERM / SIGUSR1 with its sender; on the trainer's SIGTERM
    (its shutdown of the workers) exit at once, with status 0 (the trainer asked: no
    "worker exited unexpectedly" error), ignore every other."""
    while True:
        info = signal.sigwaitinfo(signals)
        if info.si_signo == signal.SIGTERM and info.si_pid == trainer:
            os._exit(0)
