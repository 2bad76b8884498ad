"""The CamVid study's picture: 4 test frames (evenly spaced in the sorted test list, not
picked), each as image, ground truth, DeepLabV2-MV2, DifNet-MV2, DifNet's seed s and the row
of DifNet's last transition matrix P_5 at a pixel of the thinnest class present (pole,
pedestrian, bicyclist, sign, fence; its most interior pixel).

    python tools/studies/camvid_figure.py DEEPLABV2_CKPT DIFNET_CKPT
        --out docs/camvid_test_frames.png
"""
import argparse
import os
import os.path as osp
import sys

import mmcv
import numpy as np
from mmseg.apis import inference_model, init_model
from PIL import Image
from scipy.ndimage import distance_transform_edt

from mmseg_difnet.datasets import imread_checked
from mmseg_difnet.visualization import diffusion_study as ds

CONFIG = 'configs/difnet/{}_mv2-d8_camvid-240x320.py'
THIN = (2, 9, 10, 6, 7)  # pole, pedestrian, bicyclist, signsymbol, fence
SIZE = (320, 240)  # the models' input (w, h)


def thin_pixel(gt: np.ndarray):
    """(x, y, class) of the most interior pixel of the thinnest class present, or None."""
    for c in THIN:
        mask = gt == c
        if mask.sum() >= 20:
            y, x = np.unravel_index(distance_transform_edt(mask).argmax(), mask.shape)
            return int(x), int(y), c
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('deeplabv2_ckpt')
    parser.add_argument('difnet_ckpt')
    parser.add_argument('--camvid', default='../shared/data/camvid')
    parser.add_argument('--out', default='docs/camvid_test_frames.png')
    args = parser.parse_args()
    opts = dict(test_dataloader=dict(dataset=dict(data_root=args.camvid)))
    models = {m: init_model(CONFIG.format(m), ckpt, device='cpu', cfg_options=opts)
              for m, ckpt in (('deeplabv2', args.deeplabv2_ckpt),
                              ('difnet', args.difnet_ckpt))}
    palette = np.array(models['difnet'].dataset_meta['palette'], np.uint8)
    names = sorted(os.listdir(osp.join(args.camvid, 'test')))
    rows = []
    for i in range(4):
        name = names[i * (len(names) // 4)]
        image = mmcv.imresize(imread_checked(osp.join(args.camvid, 'test', name)), SIZE)
        gt = np.asarray(Image.open(osp.join(args.camvid, 'testannot', name)))
        gt = np.asarray(Image.fromarray(gt).resize(SIZE, Image.NEAREST)).copy()
        gt[gt == 11] = 255  # void
        point = thin_pixel(gt)
        pts = [point[:2]] if point else None
        res = ds.study(models['difnet'], image, pts)
        preds = {m: inference_model(model, image).pred_sem_seg.data[0].numpy()
                 for m, model in models.items()}
        rgb = np.ascontiguousarray(image[..., ::-1])
        px, py = res['points'][0]
        heat = ds._heat(res['P_rows'][0, -1], SIZE)
        blend = (0.35 * rgb + 0.65 * heat).astype(np.uint8)
        blend[max(py - 3, 0):py + 4, max(px - 3, 0):px + 4] = (255, 0, 0)
        what = (f'P_5 row at a {models["difnet"].dataset_meta["classes"][point[2]]}'
                if point else 'P_5 row')
        rows.append([(name, rgb), ('ground truth', ds._colour(gt, palette, SIZE)),
                     ('DeepLabV2-MV2', ds._colour(preds['deeplabv2'], palette, SIZE)),
                     ('DifNet-MV2', ds._colour(preds['difnet'], palette, SIZE)),
                     ('DifNet seed s', ds._colour(res['seed_argmax'], palette, SIZE)),
                     (what, blend)])
    ds._grid_figure(rows, args.out, 'CamVid test frames (seed 0 models)')
    Image.open(args.out).convert('RGB').quantize(128).save(args.out, optimize=True)  # small
    print(f'written: {args.out}', file=sys.stderr)


if __name__ == '__main__':
    main()
