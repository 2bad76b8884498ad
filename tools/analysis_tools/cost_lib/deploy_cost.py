# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The deployed models: DeepLabV2-MV2, DifNet-MV2 (240×320) and DifNet-50 (505×505) exported
to ONNX (dynamo exporter, fixed size, every BN γ non-zero), eager PyTorch against ONNX Runtime
and OpenVINO (f32), interleaved at 1 and 2 threads, on the same image and graph (preprocessing,
model, logits at the image's size); peak memory is the RSS peak of a fresh process that loads
one backend's model and segments 3 images (:data:`MEMORY_CASE`). ``tools/analysis_tools/
benchmark.py --sections deploy`` is the command."""
import os
import os.path as osp
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List

import numpy as np
import torch
from mmengine.registry import init_default_scope
from mmseg.registry import MODELS

from mmseg_difnet.deployment import ExportWrapper, export_onnx, switch_to_deploy
from mmseg_difnet.deployment.segmenter import Segmenter

from .inference_cost import model_cfg
from .timing import interleaved, ratio_stats

# run as a script by its path: the ONNX Runtime and OpenVINO processes hold numpy and their
# runtime only, as a service would (this package's import would load torch and mmseg)
MEMORY_CASE = 'cost_lib.deploy_memory_case'  # run with -m from tools/analysis_tools
TOOLS = osp.dirname(osp.dirname(osp.abspath(__file__)))

DEPLOY_MODELS = (('DeepLabV2-MV2', 'deeplabv2_mv2-d8_camvid-240x320.py', (240, 320)),
                 ('DifNet-MV2', 'difnet_mv2-d8_camvid-240x320.py', (240, 320)),
                 ('DifNet-50', 'difnet_r50_voc.py', (505, 505)))
DEPLOY_BACKENDS = ('pytorch', 'onnxruntime', 'openvino')


def deploy_model(config: str):
    """The model of the config file ``config`` with every BN γ in U(0.5, 1.5) (mmseg's
    ResNet starts some at 0, which an exporter may fold away), its walks in their deploy
    form, in an ExportWrapper giving logits."""
    init_default_scope('mmseg')
    model = MODELS.build(model_cfg(config)).eval()
    g = torch.Generator().manual_seed(0)
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.weight.data = torch.rand(m.weight.shape, generator=g) + 0.5
    switch_to_deploy(model)
    return ExportWrapper(model, 'logits')


def deploy_runners(wrapper, path: str, threads: int) -> Dict[str, Callable]:
    """{backend: fn(image)} for one exported model at ``threads`` threads."""
    torch.set_num_threads(threads)

    def eager(image):
        with torch.no_grad():
            return wrapper(torch.from_numpy(image))
    return dict(pytorch=eager, onnxruntime=Segmenter(path, 'onnxruntime', threads).run,
                openvino=Segmenter(path, 'openvino', threads).run)


def deploy_table(rounds: int, repeats: int, configs_dir: str, threads_list=(1, 2)
                 ) -> List[Dict]:
    """Eager PyTorch vs ONNX Runtime vs OpenVINO per model (:data:`DEPLOY_MODELS`, configs
    under ``configs_dir``) and thread count."""
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, config, (h, w) in DEPLOY_MODELS:
            wrapper = deploy_model(osp.join(configs_dir, config))
            path = osp.join(tmp, f'{name}.onnx')
            t0 = time.perf_counter()
            export_onnx(wrapper, path, (1, 3, h, w), exporter='dynamo',
                        meta=dict(config=config, exporter='dynamo', output='logits'))
            export_s = time.perf_counter() - t0
            image = np.random.default_rng(0).uniform(0, 255, (1, 3, h, w)).astype(np.float32)
            peak = {}
            for backend in DEPLOY_BACKENDS:
                out = subprocess.run([sys.executable, '-m', MEMORY_CASE, backend, path, str(h),
                                      str(w), osp.join(configs_dir, config)],
                                     capture_output=True, text=True, cwd=TOOLS)
                if out.returncode:
                    raise RuntimeError(f'the memory case {backend} {name} failed:\n'
                                       + out.stderr[-3000:])
                peak[backend] = float(out.stdout.strip().splitlines()[-1])
            for threads in threads_list:
                runners = deploy_runners(wrapper, path, threads)
                times = interleaved({k: (lambda f=f: f(image)) for k, f in runners.items()},
                                    torch.device('cpu'), rounds, repeats)
                rows.append(dict(
                    model=name, config=config, size=[h, w], threads=threads,
                    export_s=export_s, seconds={k: statistics.median(v)
                                                for k, v in times.items()},
                    per_round=times, peak_rss_mb=peak,
                    ratio={k: ratio_stats(times[k], times['pytorch'])
                           for k in ('onnxruntime', 'openvino')}))
                print(deploy_markdown(dict(device_name='', deploy=rows[-1:])), flush=True)
    torch.set_num_threads(os.cpu_count() or 1)
    return rows


def deploy_markdown(results: Dict) -> str:
    lines = [f"### Deployed models: eager PyTorch vs ONNX Runtime vs OpenVINO "
             f"({results['device_name']})", '',
             'Logits at the image size, preprocessing included; medians of interleaved '
             'rounds; ratio to eager PyTorch: median (min-max over rounds); peak RSS of a '
             'fresh process (1 thread).', '',
             '| model | size | threads | PyTorch (s) | ONNX Runtime (s) | OpenVINO (s) '
             '| ORT / PyTorch | OpenVINO / PyTorch | peak MB PyTorch / ORT / OpenVINO |',
             '|---|---|---:|---:|---:|---:|---:|---:|---|']
    for r in results['deploy']:
        s, q, p = r['seconds'], r['ratio'], r['peak_rss_mb']
        lines.append(
            f"| {r['model']} | {r['size'][0]}×{r['size'][1]} | {r['threads']} | "
            f"{s['pytorch']:.3f} | {s['onnxruntime']:.3f} | {s['openvino']:.3f} | "
            + ' | '.join(f"{q[k]['median']:.2f}× ({q[k]['min']:.2f}-{q[k]['max']:.2f})"
                         for k in ('onnxruntime', 'openvino'))
            + f" | {p['pytorch']:.0f} / {p['onnxruntime']:.0f} / {p['openvino']:.0f} |")
    return '\n'.join(lines)
