"""Export a model of a config to ONNX: an RGB image (0..255) in, the label map or the logits
out at the image's size, the model's test-time preprocessing inside the graph, and its
metadata (classes, palette, preprocessing, exporter) in the model and in OUT.onnx.json.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT OUT.onnx [--shape H W]
        [--dynamic] [--output {labels,logits}] [--exporter {dynamo,torchscript}]
        [--opset 18] [--external-data] [--verify] [--cfg-options ...]

--exporter dynamo (torch.export; torch's default) handles --dynamic H/W at any size;
torchscript (the tracer, as mmdeploy 1.3 calls it) records the walks' pooling sizes as
constants, so it exports fixed sizes only. --verify runs the graph in ONNX Runtime on a
random image (and on another size with --dynamic) and prints the largest logit difference
from PyTorch. Run it with the shape the test pipeline gives (e.g. 240 320 for CamVid).
"""
import argparse
import os.path as osp
import sys

import numpy as np
import torch

from mmseg_difnet.deployment import ExportWrapper, export_onnx, metadata
from mmseg_difnet.deployment.build import build_for_export
from mmseg_difnet.utils import CfgOptionsAction, output_file_error


def verify(wrapper, out: str, shape, dynamic: bool) -> float:
    from mmseg_difnet.deployment.segmenter import Segmenter
    seg = Segmenter(out)
    sizes = [tuple(shape[2:])] + ([(shape[2] + 5, shape[3] + 3)] if dynamic else [])
    worst = 0.0
    logits = ExportWrapper(wrapper.segmentor, 'logits')
    for h, w in sizes:
        image = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(0)) * 255
        with torch.no_grad():
            ref = logits(image).numpy()
        got = seg.run(image.numpy())
        if wrapper.output == 'logits':
            diff = float(np.abs(got - ref).max())
            print(f'verify {h}×{w}: max |Δlogit| {diff:.2e} (logits up to '
                  f'{np.abs(ref).max():.1f}), argmax agreement '
                  f'{(got.argmax(1) == ref.argmax(1)).mean():.2%}')
            worst = max(worst, diff)
        else:
            print(f'verify {h}×{w}: label agreement {(got == ref.argmax(1)).mean():.2%}')
    return worst


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help="the trained model's .pth ('none': initial weights)")
    parser.add_argument('out', help='the .onnx file to write (and OUT.json beside it)')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'), default=(512, 512),
                        help='the image size traced (fixed, or the example with --dynamic)')
    parser.add_argument('--batch', type=int, default=1)
    parser.add_argument('--dynamic', action='store_true', help='any batch, H and W')
    parser.add_argument('--output', choices=('labels', 'logits'), default='labels')
    parser.add_argument('--exporter', choices=('dynamo', 'torchscript'), default='dynamo')
    parser.add_argument('--opset', type=int, default=18)
    parser.add_argument('--external-data', action='store_true',
                        help='weights in a file beside the model (needed above 2 GB; dynamo)')
    parser.add_argument('--verify', action='store_true')
    parser.add_argument('--cfg-options', nargs='+', action=CfgOptionsAction)
    args = parser.parse_args(argv)
    error = output_file_error(args.out, 'the output')
    if error:
        sys.exit(f'pytorch2onnx.py: {error}')
    if args.checkpoint != 'none' and not osp.isfile(args.checkpoint):
        sys.exit(f'pytorch2onnx.py: no checkpoint file {args.checkpoint!r} (or give none).')
    if args.dynamic and args.exporter == 'torchscript':
        sys.exit('pytorch2onnx.py: --dynamic needs --exporter dynamo: the TorchScript tracer '
                 "records the walks' pooling sizes as constants, so its graph is wrong at any "
                 'other size.')
    if args.external_data and args.exporter == 'torchscript':
        sys.exit('pytorch2onnx.py: --external-data is written by --exporter dynamo.')
    cfg, model = build_for_export(args.config, args.checkpoint, args.cfg_options)
    try:
        wrapper = ExportWrapper(model, args.output)
    except ValueError as e:
        sys.exit(f'pytorch2onnx.py: {e}')
    shape = (args.batch, 3, *args.shape)
    meta = metadata(cfg, None if args.checkpoint == 'none' else args.checkpoint, wrapper,
                    args.exporter, shape, args.dynamic)
    export_onnx(wrapper, args.out, shape, dynamic=args.dynamic, exporter=args.exporter,
                opset=args.opset, external_data=args.external_data, meta=meta)
    print(f'written: {args.out} and {args.out}.json ({args.exporter}, '
          f"{'dynamic' if args.dynamic else 'fixed'} {args.shape[0]}×{args.shape[1]}, "
          f'output {args.output})')
    if args.verify:
        verify(wrapper, args.out, shape, args.dynamic)


if __name__ == '__main__':
    main()
