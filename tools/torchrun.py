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
- A worker that fails otherwise (an error, or a kill by the system) ends the launcher with
  exit 1 and one line naming the rank and how it ended and saying how to resume, instead of
  torchrun's ChildFailedError traceback.
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
        rank, first = e.get_first_failure()
        how = (f'killed by {signal.Signals(-first.exitcode).name}' if first.exitcode < 0 else
               f'exit {first.exitcode}')
        print(f'torchrun: rank {rank} failed first ({how}); the other workers were stopped. '
              'Its error is above (a kill by the system, e.g. SIGKILL from the out-of-memory '
              'killer, leaves none). A training continues from its last checkpoint with the '
              'same command plus --resume.', file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == '__main__':
    main()
