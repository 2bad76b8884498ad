"""The parity figures of the docs/deploy.md: each configuration of tests/test_deploy.py
exported (weights with every BN γ non-zero, running statistics from real passes), run in ONNX
Runtime and OpenVINO (f32) beside eager PyTorch; writes benchmarks/deploy_parity.json.

    python tools/deployment/parity_table.py [--out benchmarks/deploy_parity.json]
"""
import argparse
import json
import os.path as osp
import tempfile

import numpy as np
import torch
from parity_lib import PARITY_SIZES as SIZES
from parity_lib import nonzero_bn_checkpoint

from mmseg_difnet.deployment import ExportWrapper, export_onnx
from mmseg_difnet.deployment.build import build_for_export as build
from mmseg_difnet.deployment.segmenter import Segmenter

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


CASES = (('difnet_r18_synthetic.py', 'dynamo', True),
         ('difnet_r18_synthetic.py', 'torchscript', False),
         ('difnet_mv2-d8_camvid-240x320.py', 'dynamo', True),
         ('deeplabv2_mv2-d8_camvid-240x320.py', 'dynamo', True),
         ('difnet-deeplabv3plus_mv2-d8_camvid-240x320.py', 'dynamo', True),
         ('difnet-pspnet_mv2-d8_camvid-240x320.py', 'dynamo', False))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--out', default=osp.join(ROOT, 'benchmarks', 'deploy_parity.json'))
    args = p.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for config, exporter, dynamic in CASES:
            path = osp.join(ROOT, 'configs', 'difnet', config)
            ckpt = nonzero_bn_checkpoint(path, osp.join(tmp, 'model.pth'))
            _, model = build(path, ckpt)
            wrapper = ExportWrapper(model, 'logits')
            out = osp.join(tmp, 'model.onnx')
            export_onnx(wrapper, out, (1, 3, 96, 128), dynamic=dynamic, exporter=exporter,
                        meta=dict(exporter=exporter))
            g = torch.Generator().manual_seed(1)
            for h, w in SIZES if dynamic else SIZES[:1]:
                image = torch.rand(1, 3, h, w, generator=g) * 255
                with torch.no_grad():
                    ref = wrapper(image).numpy()
                    ref64 = wrapper.double()(image.double()).numpy()
                wrapper.float()
                row = dict(config=config, exporter=exporter, dynamic=dynamic, size=[h, w],
                           max_abs_logit=float(np.abs(ref).max()),
                           pytorch_fp32_vs_fp64=float(np.abs(ref - ref64).max()))
                for backend in ('onnxruntime', 'openvino'):
                    got = Segmenter(out, backend).run(image.numpy())
                    row[backend] = dict(max_abs_diff=float(np.abs(got - ref).max()),
                                        argmax_agreement=float(
                                            (got.argmax(1) == ref.argmax(1)).mean()))
                rows.append(row)
                print(json.dumps(row), flush=True)
    with open(args.out, 'w') as f:
        json.dump(dict(torch=torch.__version__, rows=rows), f, indent=1)
    print(f'written: {args.out}')


if __name__ == '__main__':
    main()
