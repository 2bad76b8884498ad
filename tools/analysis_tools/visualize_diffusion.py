"""The mechanism study of the DifNet paper (Fig. 2-4, Table 3) for one image.

    python tools/analysis_tools/visualize_diffusion.py CONFIG CHECKPOINT IMAGE [--gt LABEL]
        [--points X,Y ...] [--out DIR] [--html PAGE] [--device cpu] [--cfg-options K=V ...]

Writes fig2.png, fig3.png, fig4.png, table3.txt/json and the one-sheet summary.png to DIR;
with --html, the interactive page instead (one self-contained HTML file: click a pixel, see
its row of every P_t; docs/diffusion_study.md); with a post-processed model's config
(configs/refiner/*_refiner.py, the base model's CHECKPOINT), the page of the learned refiner's
P. IMAGE may be a folder: with --html, PAGE is
then a folder with one page per image and an index.html (--gt: the folder of their labels,
same names, .png).
"""
import argparse
import glob
import os.path as osp

import numpy as np
from mmengine.config import Config, DictAction
from mmseg.apis import init_model
from PIL import Image

from mmseg_difnet.checkpoint import load_fitting_checkpoint
from mmseg_difnet.datasets import imread_checked
from mmseg_difnet.visualization import diffusion_study as ds


def point(text):
    x, y = (int(v) for v in text.split(','))
    return x, y


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('image')
    parser.add_argument('--gt', help='label PNG of the image (palette indices)')
    parser.add_argument('--points', type=point, nargs='+', help='pixels x,y for Fig. 3')
    parser.add_argument('--out', default='work_dirs/diffusion_study')
    parser.add_argument('--html', metavar='PAGE',
                        help='write the interactive page (IMAGE a folder: a folder of pages)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. '
                             'model.post_processor.checkpoint=REFINER_CKPT')
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    try:  # a checkpoint of another model (a DeepLabV2's in a DifNet config) stops here
        model = load_fitting_checkpoint(init_model(cfg, device=args.device), args.checkpoint)
    except (ValueError, FileNotFoundError) as e:
        raise SystemExit(f'visualize_diffusion.py: {e}')
    refiner = type(getattr(model, 'post', None)).__name__ == 'Refiner'
    if args.html and (refiner or hasattr(model.decode_head, 'trace')):
        return pages(model, args)
    if not hasattr(model.decode_head, 'trace'):
        raise SystemExit(
            f'{args.config}: the decode head is {type(model.decode_head).__name__}, not a '
            'diffusion head (DifNetHead or DiffusionHead): there is no diffusion to show'
            + (' but the learned refiner\'s P: add --html PAGE.' if refiner else '.'))
    try:
        image = imread_checked(args.image)  # BGR, as mmseg's pipelines
    except (ValueError, FileNotFoundError) as e:  # an empty, truncated or non-image file
        raise SystemExit(f'visualize_diffusion.py: {e}')
    gt = np.asarray(Image.open(args.gt)) if args.gt else None
    try:
        result = ds.study(model, image, args.points)
    except ValueError as e:  # a point outside the image
        raise SystemExit(f'visualize_diffusion.py: {e}')
    paths = ds.write_figures(result, image, args.out, ds.palette_of(model), gt)
    print(ds.format_table3(result['mu'], result['beta']))
    print('\n'.join(f'{k}: {v}' for k, v in paths.items()))


def pages(model, args) -> None:
    """The interactive page of each image (one, or every image of a folder)."""
    from mmseg_difnet.visualization.diffusion_page import write_index, write_page
    folder = osp.isdir(args.image)
    images = sorted(f for f in glob.glob(osp.join(args.image, '*'))
                    if f.lower().endswith(IMAGE_EXTS)) if folder else [args.image]
    if folder and not images:
        raise SystemExit(f'visualize_diffusion.py: the folder {args.image!r} holds no image '
                         f'({", ".join(IMAGE_EXTS)}).')
    written = []
    for path in images:
        name = osp.splitext(osp.basename(path))[0]
        gt = args.gt
        if folder and gt:
            gt = osp.join(args.gt, name + '.png')
        try:
            image = imread_checked(path)
            label = np.asarray(Image.open(gt)) if gt else None
        except (ValueError, FileNotFoundError, OSError) as e:
            raise SystemExit(f'visualize_diffusion.py: {e}')
        out = osp.join(args.html, name + '.html') if folder else args.html
        what = 'DifNet walks' if hasattr(model.decode_head, 'trace') else "the refiner's P"
        info = write_page(model, image, out, label, title=f'{what}: {osp.basename(path)}')
        written.append(info)
        print(f'page: {out} ({info["bytes"] / 1e6:.1f} MB, {info["walks"]} walks on '
              f'{info["nodes"]} nodes, {info["seconds"]:.1f} s): open it in a browser, '
              'click a pixel')
    if folder:
        print(f'index: {write_index(written, osp.join(args.html, "index.html"))}')


IMAGE_EXTS = ('.jpg', '.jpeg', '.png', '.bmp')


if __name__ == '__main__':
    main()
