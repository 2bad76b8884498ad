"""torchrun (``python -m torch.distributed.run``) as a scheduler's signals expect it; run by
tools/train.sh and tools/test.sh with torchrun's arguments.

- SIGUSR1 (Slurm's ``--signal=USR1@60``) is relayed to the workers like SIGTERM, SIGINT,
  SIGHUP and SIGQUIT (``--signals-to-handle``); torchrun alone does not catch it, dies, and
  its workers with it, before they can save.
- The workers get ``--shutdown-timeout`` seconds (default 120, ``TORCHRUN_SHUTDOWN_TIMEOUT``)
  to finish their iteration and save before torchrun kills them (torchrun's default is 30).
- A launcher stopped by a signal, or whose workers all stopped on one (they exit with
  128 + the signal after saving), exits with 128 + that signal and a one-line message, as a
  single process would, instead of torchrun's exit 1 with a traceback.
"""
import os
import signal
import sys

from torch.distributed.elastic.multiprocessing.api import SignalException
from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
from torch.distributed.run import main as torchrun

STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)  # the signals the trainer saves on


def with_defaults(argv):
    """``argv`` with this launcher's signals and shutdown timeout unless given there."""
    given = {a.split('=')[0].replace('_', '-') for a in argv if a.startswith('--')}
    first = []
    if '--signals-to-handle' not in given:
        first.append('--signals-to-handle=SIGTERM,SIGINT,SIGHUP,SIGQUIT,SIGUSR1')
    if '--shutdown-timeout' not in given:
        first.append(f'--shutdown-timeout={os.environ.get("TORCHRUN_SHUTDOWN_TIMEOUT", 120)}')
    return first + list(argv)


def stopped(signum: int, how: str) -> None:
    name = signal.Signals(signum).name
    print(f'torchrun: {name}: {how}; exit {128 + signum}.', file=sys.stderr, flush=True)
    sys.exit(128 + signum)


def main(argv=None) -> None:
    try:
        torchrun(with_defaults(sys.argv[1:] if argv is None else argv))
    except SignalException as e:
        stopped(int(e.sigval), 'relayed to the workers, which stop at the next iteration '
                '(a training saves a checkpoint first)')
    except ChildFailedError as e:
        codes = {f.exitcode for f in e.failures.values()}
        if len(codes) == 1 and codes.pop() - 128 in STOP_SIGNALS:
            stopped(next(iter(e.failures.values())).exitcode - 128,
                    'every failed worker stopped on it (a training saves a checkpoint first)')
        raise


if __name__ == '__main__':
    main()
