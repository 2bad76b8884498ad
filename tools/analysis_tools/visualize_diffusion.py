"""The mechanism study of the DifNet paper (Fig. 2-4, Table 3) for one image.

    python tools/analysis_tools/visualize_diffusion.py CONFIG CHECKPOINT IMAGE [--gt LABEL]
        [--points X,Y ...] [--out DIR] [--device cpu]

Writes fig2.png, fig3.png, fig4.png, table3.txt/json and the one-sheet summary.png to DIR.
"""
import argparse

import numpy as np
from mmseg.apis import init_model
from PIL import Image

from mmseg_difnet.datasets import imread_checked
from mmseg_difnet.engine.config_check_hook import load_fitting_checkpoint
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
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()
    try:  # a checkpoint of another model (a DeepLabV2's in a DifNet config) stops here
        model = load_fitting_checkpoint(init_model(args.config, device=args.device),
                                        args.checkpoint)
    except (ValueError, FileNotFoundError) as e:
        raise SystemExit(f'visualize_diffusion.py: {e}')
    if not hasattr(model.decode_head, 'trace'):
        raise SystemExit(f'{args.config}: the decode head is {type(model.decode_head).__name__}'
                         ', not a diffusion head (DifNetHead or DiffusionHead): there is no '
                         'diffusion to show.')
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


if __name__ == '__main__':
    main()
