"""Shared fixtures of the test suite."""
import pytest

from mmseg_difnet.datasets import generate_synthetic_voc


@pytest.fixture(scope='session')
def data_dir(tmp_path_factory):
    """A small synthetic dataset in the VOC-aug layout (8 train, 2 val images of 64×64),
    shared by the tests that run the Runner on files."""
    d = tmp_path_factory.mktemp('data')
    generate_synthetic_voc(str(d), num_train=8, num_val=2, size=64, seed=5)
    return str(d)
