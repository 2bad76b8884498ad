"""tools/misc/setup_env.sh's torch decision (tools/misc/torch_choice.py): the user's pip
configuration is honoured, TORCH_INDEX_URL selects the build, and the CPU-wheel workaround
applies only to the breakage it fixes."""
import importlib.util
import os.path as osp
import subprocess
import sys

from helpers import ROOT

SCRIPT = osp.join(ROOT, 'tools', 'misc', 'torch_choice.py')
spec = importlib.util.spec_from_file_location('torch_choice', SCRIPT)
torch_choice = importlib.util.module_from_spec(spec)
spec.loader.exec_module(torch_choice)
BROKEN = ("RuntimeError: operator torchvision::nms does not exist\n")


def test_install_args_honour_the_user_configuration():
    assert torch_choice.install_args({}) == ['torch', 'torchvision']  # no config override
    url = 'https://download.pytorch.org/whl/cu126'
    assert torch_choice.install_args({'TORCH_INDEX_URL': url}) == [
        '--index-url', url, 'torch', 'torchvision']


def test_workaround_only_for_a_local_cpu_wheel():
    assert torch_choice.workaround_args(BROKEN, '2.13.0+cpu', '2.13.0') == ['torch===2.13.0']
    assert torch_choice.workaround_args(BROKEN, '2.13.0', '2.13.0') is None  # another cause
    assert torch_choice.workaround_args('ImportError: libcudart.so.12', '2.13.0+cpu',
                                        '2.13.0') is None


def test_version_comes_from_the_constraints_file():
    assert torch_choice.pinned('torch', osp.join(ROOT, 'requirements', 'constraints.txt')) \
        == '2.13.0'


def test_command_line(tmp_path):
    err = tmp_path / 'err.txt'
    err.write_text('ModuleNotFoundError: No module named torchvision')
    out = subprocess.run([sys.executable, SCRIPT, 'workaround', str(err)],
                         capture_output=True, text=True)
    assert out.returncode == 1 and out.stdout == ''  # not the known breakage: no fix
    out = subprocess.run([sys.executable, SCRIPT, 'install-args'], capture_output=True,
                         text=True, env={'TORCH_INDEX_URL': 'https://mirror/whl'})
    assert out.stdout.split() == ['--index-url', 'https://mirror/whl', 'torch', 'torchvision']
