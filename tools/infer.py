"""Segment one's own image with a trained model: the colour overlay, and with --sheet the
diffusion study (Fig. 2-4, Table 3) of that image.

    python tools/infer.py CONFIG CHECKPOINT IMAGE [--out DIR] [--sheet] [--device cpu]
        [--max-side PIXELS] [--warn-nodes N] [--backend {pytorch,onnxruntime,openvino}]

With --backend onnxruntime or openvino, CHECKPOINT is the model exported by
tools/deployment/pytorch2onnx.py (its .onnx, with OUT.onnx.json beside it): the image goes
through the config's test pipeline (its resize), the exported graph, and back to the image's
size as mmseg does it (the logits resized bilinearly, then the argmax), so the picture is the
one the PyTorch model gives; an export with --output labels (the default) is resized by
nearest neighbour, so pixels at class boundaries differ (docs/deploy.md).

Writes DIR/<image>_pred.png (class indices), DIR/<image>_overlay.png and, with --sheet,
DIR/<image>_study/summary.png and the interactive page DIR/<image>_walks.html (click a pixel,
see its row of every P_t; tools/analysis_tools/visualize_diffusion.py --html makes it too).
A large diffusion grid (more than --warn-nodes nodes) is explained and each walk reported:
P·y is O(N²) in the nodes; --max-side shrinks the image.
mmseg's ``MMSegInferencer(model=CONFIG, weights=CHECKPOINT)``
works as well (the configs import this package).
"""
import argparse
import os
import os.path as osp
import sys

import mmcv
import numpy as np
from mmengine.config import Config
from mmseg.apis import inference_model, init_model
from PIL import Image

from mmseg_difnet.checkpoint import load_fitting_checkpoint
from mmseg_difnet.datasets import imread_checked
from mmseg_difnet.datasets.load_image_checked import MAX_PIXELS
from mmseg_difnet.deployment import switch_to_deploy
from mmseg_difnet.utils import for_one_process, output_dir_error, walk_progress
from mmseg_difnet.visualization import diffusion_study as ds


def fail(message: str) -> None:
    print(f'infer.py: {message}', file=sys.stderr)
    sys.exit(2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=' '.join(__doc__.split('\n\n')[0].split()))
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('image')
    parser.add_argument('--out', default='work_dirs/infer')
    parser.add_argument('--sheet', action='store_true',
                        help='also write the diffusion study of the image and its interactive page '
                             '(models with diffusion)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--max-side', type=int, help='resize the image (keeping its aspect) '
                        'so that its longer side is at most this before inference; the '
                        'prediction is resized back. The walks cost O(N²) in the grid nodes.')
    parser.add_argument('--warn-nodes', type=int, default=10000,
                        help='above this many diffusion-grid nodes, say so and show progress')
    parser.add_argument('--backend', choices=('pytorch', 'onnxruntime', 'openvino'),
                        default='pytorch')
    parser.add_argument('--threads', type=int, help='CPU threads of the onnx backends')
    parser.add_argument('--max-pixels', type=int, default=MAX_PIXELS,
                        help='refuse an image whose header gives more pixels than this, '
                        'before decoding it (a decompression bomb); default %(default)s')
    args = parser.parse_args(argv)
    if args.backend != 'pytorch' and (args.sheet or args.max_side):
        fail(f'--backend {args.backend} runs the exported graph: --sheet and --max-side need '
             'the PyTorch model (--backend pytorch).')
    error = output_dir_error(args.out, '--out')
    if error:
        fail(error)
    if osp.isdir(args.image):
        fail(f'{args.image!r} is a folder: infer.py takes one image. For every image of a '
             f'folder: for f in {args.image.rstrip("/")}/*.png; do python tools/infer.py '
             'CONFIG CHECKPOINT "$f" --out OUT; done (or tools/test.py on a dataset config).')
    if not osp.isfile(args.image):
        fail(f'cannot read the image {args.image!r}: not a file.')
    try:
        image = imread_checked(args.image, max_pixels=args.max_pixels)  # BGR; named if bad
    except ValueError as e:
        fail(f'cannot read the image {args.image!r}: {e}')
    if not osp.isfile(args.checkpoint):
        fail(f'no checkpoint file {args.checkpoint!r}.')
    cfg = Config.fromfile(args.config)
    if args.backend != 'pytorch':
        try:
            pred, palette = exported_prediction(cfg, args.checkpoint, image, args.backend,
                                                args.threads)
        except (ValueError, FileNotFoundError) as e:
            fail(str(e))
        return write(args, image, pred, np.asarray(palette, dtype=np.uint8))
    model = init_model(for_one_process(cfg), device=args.device)
    if args.sheet and not hasattr(model.decode_head, 'trace'):
        fail(f'--sheet: {args.config} has a {type(model.decode_head).__name__}, not a diffusion '
             'head (DifNetHead or DiffusionHead): there is no diffusion to show. Drop --sheet, '
             'or use a config with diffusion.')
    try:
        load_fitting_checkpoint(model, args.checkpoint)
    except ValueError as e:
        fail(str(e))
    switch_to_deploy(model)  # the walks' inference form: the same output, faster
    H, W = image.shape[:2]
    scale = min(1.0, args.max_side / max(H, W)) if args.max_side else 1.0
    small = mmcv.imrescale(image, scale) if scale < 1 else image
    try:
        with walk_progress(model, args.warn_nodes):
            result = inference_model(model, small)
    except ValueError as e:  # the model's input checks (size, values) name the problem
        fail(f'cannot segment {args.image!r} ({small.shape[1]}×{small.shape[0]} pixels): {e}')
    pred = result.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
    if scale < 1:
        pred = mmcv.imresize(pred, (W, H), interpolation='nearest')
    write(args, image, pred, ds.palette_of(model))
    if args.sheet:
        name = osp.splitext(osp.basename(args.image))[0]
        paths = ds.write_figures(ds.study(model, image), image,
                                 osp.join(args.out, f'{name}_study'), ds.palette_of(model))
        print(f'diffusion sheet: {paths["summary"]}')
        from mmseg_difnet.visualization.diffusion_page import write_page
        info = write_page(model, image, osp.join(args.out, f'{name}_walks.html'),
                          title=f'DifNet walks: {osp.basename(args.image)}')
        print(f'interactive page: {info["path"]} ({info["bytes"] / 1e6:.1f} MB): open it in a '
              'browser and click a pixel to see its row of every P_t')


def exported_prediction(cfg, path: str, image: np.ndarray, backend: str, threads=None):
    """(H, W) classes of a BGR image by the exported graph, as mmseg's inference_model."""
    import torch
    import torch.nn.functional as F
    from mmcv.transforms import Compose
    from mmengine.registry import init_default_scope

    from mmseg_difnet.deployment.segmenter import Segmenter
    if not path.endswith('.onnx'):
        raise ValueError(f'--backend {backend} takes the exported model (.onnx) in place of '
                         f'the checkpoint, not {path!r}: export it with '
                         'tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT OUT.onnx.')
    seg = Segmenter(path, backend, threads)
    init_default_scope(cfg.get('default_scope', 'mmseg'))
    steps = [dict(t, type='LoadImageFromNDArray') if 'LoadImage' in t['type'] else t
             for t in cfg.test_pipeline if 'LoadAnnotations' not in t['type']]
    data = Compose(steps)(dict(img=image))  # the test pipeline's resize
    small = data['inputs'].numpy()[::-1]  # (3, h, w) BGR uint8 -> RGB
    out = seg.run(small[None].astype(np.float32))[0]
    H, W = image.shape[:2]
    if out.ndim == 3:  # logits (K, h, w): resized as mmseg's postprocess_result, then argmax
        logits = F.interpolate(torch.from_numpy(out)[None], size=(H, W), mode='bilinear',
                               align_corners=seg.meta.get('align_corners') == 'True')
        pred = logits[0].argmax(0).numpy().astype(np.uint8)
    else:
        pred = mmcv.imresize(out.astype(np.uint8), (W, H), interpolation='nearest')
    palette = seg.palette or ds.palette_of(None)
    return pred, palette


def write(args, image: np.ndarray, pred: np.ndarray, palette: np.ndarray) -> None:
    os.makedirs(args.out, exist_ok=True)
    name = osp.splitext(osp.basename(args.image))[0]
    Image.fromarray(pred).save(osp.join(args.out, f'{name}_pred.png'))
    colour = palette[np.clip(pred, 0, len(palette) - 1)]
    overlay = (0.5 * image[..., ::-1] + 0.5 * colour).astype(np.uint8)
    Image.fromarray(overlay).save(osp.join(args.out, f'{name}_overlay.png'))
    print(f'prediction: {osp.join(args.out, name)}_pred.png, overlay: '
          f'{osp.join(args.out, name)}_overlay.png')


if __name__ == '__main__':
    main()
