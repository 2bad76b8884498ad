# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The RSS peak of one deployed model segmenting 3 images, in a fresh process (run as a
module from tools/analysis_tools, not imported: :mod:`.deploy_cost`):

    python -m cost_lib.deploy_memory_case BACKEND MODEL.onnx H W CONFIG

prints the peak in MB. The pytorch process holds torch and mmseg; the others load
the package's ``deployment/segmenter.py`` by its path, with numpy and their runtime only.
"""
import importlib.util
import os.path as osp
import sys

import numpy as np


def main(backend: str, path: str, h: int, w: int, config: str) -> float:
    image = np.random.default_rng(0).uniform(0, 255, (1, 3, h, w)).astype(np.float32)
    if backend == 'pytorch':
        import torch

        from cost_lib.deploy_cost import deploy_model
        torch.set_num_threads(1)
        model = deploy_model(config)
        with torch.no_grad():
            for _ in range(3):
                model(torch.from_numpy(image))
    else:
        # the installed package's file, found without importing the package (torch, mmseg)
        package = importlib.util.find_spec('mmseg_difnet').submodule_search_locations[0]
        file = osp.join(package, 'deployment', 'segmenter.py')
        spec = importlib.util.spec_from_file_location('segmenter', file)
        segmenter = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(segmenter)
        run = segmenter.Segmenter(path, backend, 1).run
        for _ in range(3):
            run(image)
    # VmHWM, not ru_maxrss: Linux carries the parent's peak into a child's ru_maxrss at fork
    with open('/proc/self/status') as f:
        return int(next(line for line in f if line.startswith('VmHWM')).split()[1]) / 1024


if __name__ == '__main__':
    print(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]))
