"""Where an exported model's time goes in ONNX Runtime: the share of each operator type
(ORT's own profiler), beside eager PyTorch's (torch.profiler), on one image.

    python tools/deployment/profile_onnx.py CONFIG MODEL.onnx [--threads 1] [--runs 10]

MODEL.onnx comes from tools/deployment/pytorch2onnx.py with --output logits; the PyTorch
side runs the same wrapper (preprocessing, model, logits at the image's size) with the
checkpoint recorded beside it, or initial weights if none.
"""
import argparse
import collections
import json
import os
import tempfile

import numpy as np
import torch

from mmseg_difnet.deployment import ExportWrapper
from mmseg_difnet.deployment.build import build_for_export as build


def ort_profile(path: str, image: np.ndarray, threads: int, runs: int) -> dict:
    """Seconds per run of each ONNX operator type, from ORT's profiler."""
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    opts.enable_profiling = True
    opts.profile_file_prefix = os.path.join(tempfile.mkdtemp(), 'ort')
    sess = ort.InferenceSession(path, opts, providers=['CPUExecutionProvider'])
    sess.run(None, {'image': image})  # warm-up, profiled too: dropped below
    for _ in range(runs):
        sess.run(None, {'image': image})
    events = json.load(open(sess.end_profiling()))
    per_op = collections.Counter()
    runs_seen = [e for e in events if e.get('name') == 'model_run']
    for e in events:
        if e.get('cat') == 'Node' and e['name'].endswith('_kernel_time'):
            per_op[e['args']['op_name']] += e['dur'] / 1e6
    n = len(runs_seen)
    return {k: v / n for k, v in per_op.most_common()}


def torch_profile(wrapper, image: np.ndarray, threads: int, runs: int) -> dict:
    from torch.profiler import ProfilerActivity, profile
    torch.set_num_threads(threads)
    x = torch.from_numpy(image)
    with torch.no_grad():
        wrapper(x)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(runs):
                wrapper(x)
    rows = sorted(prof.key_averages(), key=lambda r: -r.self_cpu_time_total)
    return {r.key: r.self_cpu_time_total / 1e6 / runs for r in rows[:12]}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('config')
    p.add_argument('model')
    p.add_argument('--checkpoint', default='none')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--runs', type=int, default=10)
    p.add_argument('--shape', type=int, nargs=2, default=(240, 320))
    p.add_argument('--out', help='JSON of both profiles')
    args = p.parse_args()
    image = np.random.default_rng(0).uniform(0, 255, (1, 3, *args.shape)).astype(np.float32)
    _, model = build(args.config, args.checkpoint)
    res = dict(onnxruntime=ort_profile(args.model, image, args.threads, args.runs),
               pytorch=torch_profile(ExportWrapper(model, 'logits'), image, args.threads,
                                     args.runs), threads=args.threads, shape=args.shape)
    for name, ops in res.items():
        if not isinstance(ops, dict):
            continue
        total = sum(ops.values())
        print(f'\n{name}: {total:.3f} s per image in the {len(ops)} op types listed')
        for op, s in list(ops.items())[:10]:
            print(f'  {op:40s} {s:.4f} s  {s / total:5.1%}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(res, f, indent=1)


if __name__ == '__main__':
    main()
