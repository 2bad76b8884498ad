# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""A small synthetic segmentation dataset in exactly the VOC 2012 + SBD-aug layout, built so
that the seed branch alone cannot recover what pixel similarity can.

Every image is tiled into irregular regions (a Voronoi partition with wavy boundaries), each
of its own random colour and texture. Some regions are objects of one of four classes (VOC
ids 1, 7, 12, 15: aeroplane, car, dog, person): the class is told by a small cue, a square
of the class's colour at the region's centre, and nothing else; the label covers the whole
region. Colour says nothing about the class, so a classifier must carry the cue's class to
the region's exact, irregular extent: a stride-8 score map blurs it, while diffusion along
colour similarity can follow it. Background regions have no cue.
"""
import os
import os.path as osp
from typing import Dict

import numpy as np
from mmseg.datasets import PascalVOCDataset
from PIL import Image

CLASS_IDS = (1, 7, 12, 15)
# colour of each class's cue (the only thing that tells the class)
CLASS_COLOURS = {1: (200, 60, 50), 7: (60, 170, 70), 12: (60, 80, 200), 15: (210, 190, 60)}


def voc_palette() -> list:
    """The PASCAL VOC colour map of its PNG label files, 256 RGB triples flattened: mmseg's
    21 class colours (``PascalVOCDataset.METAINFO``), black up to 254 and VOC's void colour
    (224, 224, 192) at 255."""
    palette = [c for rgb in PascalVOCDataset.METAINFO['palette'] for c in rgb]
    palette += [0] * (255 * 3 - len(palette))
    return palette + [224, 224, 192]


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Value noise in [0, 1]: random values on a coarse grid, bilinearly upsampled."""
    coarse = rng.random((h // cell + 2, w // cell + 2)).astype(np.float32)
    img = Image.fromarray((coarse * 255).astype(np.uint8)).resize(
        (w + 2 * cell, h + 2 * cell), Image.BILINEAR)
    return np.asarray(img, np.float32)[cell:cell + h, cell:cell + w] / 255.0


def make_sample(rng: np.random.Generator, size: int):
    """One (image (size, size, 3) uint8 RGB, label (size, size) uint8) pair."""
    h = w = size
    n = int(rng.integers(5, 9))
    centres = rng.uniform(0.1, 0.9, (n, 2)) * size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    # wavy boundaries: distances to the centres perturbed by smooth noise
    dist = np.stack([np.hypot(yy - cy, xx - cx) for cy, cx in centres])
    dist += 0.18 * size * np.stack([_smooth_noise(rng, h, w, max(size // 8, 2)) for _ in
                                    range(n)])
    region = dist.argmin(0)
    colours = rng.uniform(40, 215, (n, 3))
    img = colours[region] + 35 * (_smooth_noise(rng, h, w, 4)[..., None] - 0.5)
    label = np.zeros((h, w), np.uint8)
    cue = max(size // 24, 2)  # half side of the cue square
    for r in rng.permutation(n)[:int(rng.integers(1, 4))]:
        cls = int(rng.choice(CLASS_IDS))
        inside = region == r
        if inside.sum() < (2 * cue + 1) ** 2 * 3:
            continue  # too small to hold a cue
        ys, xs = np.nonzero(inside)  # the cue sits at the region pixel nearest its mean
        k = np.argmin((ys - ys.mean()) ** 2 + (xs - xs.mean()) ** 2)
        cy, cx = int(ys[k]), int(xs[k])
        img[max(cy - cue, 0):cy + cue + 1, max(cx - cue, 0):cx + cue + 1] = CLASS_COLOURS[cls]
        label[inside] = cls
    img = img + rng.normal(0, 5, img.shape)
    # unlike VOC, no boundary band is ignored: boundaries are what diffusion should get right
    return np.clip(img, 0, 255).astype(np.uint8), label


def generate_synthetic_voc(out_dir: str, *, num_train: int = 200, num_val: int = 50,
                           size: int = 128, seed: int = 0) -> Dict[str, int]:
    """Write the dataset under ``out_dir/VOCdevkit/VOC2012`` in the VOC-aug layout.

    ``JPEGImages/*.jpg``, ``SegmentationClass/*.png`` (train + val) and
    ``SegmentationClassAug/*.png`` (train) as palette PNGs, and
    ``ImageSets/Segmentation/{train,val,aug}.txt`` (the training images are split between
    ``train.txt`` and ``aug.txt``, as VOC and SBD are): the files that mmseg's
    ``_base_/datasets/pascal_voc12_aug.py`` reads. Returns the number of images per split.
    """
    root = osp.join(out_dir, 'VOCdevkit', 'VOC2012')
    dirs = {k: osp.join(root, k) for k in
            ('JPEGImages', 'SegmentationClass', 'SegmentationClassAug',
             'ImageSets/Segmentation')}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(seed)
    palette = voc_palette()
    names = {'train': [f'syn_train_{i:05d}' for i in range(num_train)],
             'val': [f'syn_val_{i:05d}' for i in range(num_val)]}
    for split, split_names in names.items():
        for name in split_names:
            img, label = make_sample(rng, size)
            Image.fromarray(img).save(osp.join(dirs['JPEGImages'], name + '.jpg'), quality=95)
            png = Image.fromarray(label, mode='P')
            png.putpalette(palette)
            png.save(osp.join(dirs['SegmentationClass'], name + '.png'))
            if split == 'train':
                png.save(osp.join(dirs['SegmentationClassAug'], name + '.png'))
    seg_sets = dirs['ImageSets/Segmentation']
    half = (num_train + 1) // 2
    for fname, split_names in (('train.txt', names['train'][:half]),
                               ('aug.txt', names['train'][half:]), ('val.txt', names['val'])):
        with open(osp.join(seg_sets, fname), 'w') as f:
            f.write('\n'.join(split_names) + '\n')
    return {split: len(v) for split, v in names.items()}
