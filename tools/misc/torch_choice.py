"""Which torch build tools/misc/setup_env.sh installs, and when its one workaround applies.

    python tools/misc/torch_choice.py install-args            # pip arguments for torch+torchvision
    python tools/misc/torch_choice.py workaround ERROR_FILE   # pip arguments of the fix, or exit 1

The user's pip configuration (index, mirror, proxy, find-links) is always honoured, and the
version is the pin of requirements/constraints.txt. TORCH_INDEX_URL selects the build (e.g.
https://download.pytorch.org/whl/cu126 for CUDA 12.6 wheels). The workaround is applied only
when it is needed:
some machines offer a local CPU-only torch wheel (pip's find-links) with a local version label
(2.13.0+cpu) with which the registry's torchvision fails to import ("operator torchvision::nms
does not exist"); then torch is reinstalled as the exact public version (``torch===2.13.0``,
which no local label matches), still through the user's configuration.
"""
import os
import os.path as osp
import re
import sys
from typing import List, Mapping, Optional

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
BROKEN_TORCHVISION = 'torchvision::nms does not exist'


def pinned(package: str, constraints: str) -> str:
    """The version of ``package`` pinned in the constraints file."""
    with open(constraints) as f:
        for line in f:
            m = re.match(rf'\s*{re.escape(package)}==([^\s#]+)', line)
            if m:
                return m.group(1)
    raise ValueError(f'{package} is not pinned (==) in {constraints}')


def install_args(env: Mapping[str, str]) -> List[str]:
    """pip arguments that install torch and torchvision."""
    args = ['torch', 'torchvision']
    if env.get('TORCH_INDEX_URL'):
        args = ['--index-url', env['TORCH_INDEX_URL'], *args]
    return args


def workaround_args(import_error: str, installed_torch: str, version: str
                    ) -> Optional[List[str]]:
    """The fix for a torchvision that fails to import, or None when the known cause (a
    local CPU-only torch build) is not what happened."""
    if BROKEN_TORCHVISION not in import_error or '+' not in installed_torch:
        return None
    return [f'torch==={version}']  # replaces the local build, with the public one's deps


def main(argv: List[str]) -> int:
    constraints = osp.join(ROOT, 'requirements', 'constraints.txt')
    version = pinned('torch', constraints)
    if argv[:1] == ['install-args']:
        print(' '.join(install_args(os.environ)))
        return 0
    if argv[:1] == ['workaround'] and len(argv) == 2:
        import importlib.metadata
        with open(argv[1]) as f:
            error = f.read()
        fix = workaround_args(error, importlib.metadata.version('torch'), version)
        if fix is None:
            return 1
        print(' '.join(fix))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
