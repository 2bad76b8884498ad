# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""A small synthetic segmentation dataset in exactly the VOC 2012 + SBD-aug layout.

Every image is a textured background with a few objects of four classes (VOC ids 1, 7, 12,
15: aeroplane, car, dog, person). The class is given by the object's colour family, but the
objects are thin or irregular (rings, bars, blobs) and their interiors carry texture close to
the background's, so a stride-8 classifier finds coarse, fragmented seeds and the extent and
boundaries of each object have to come from pixel similarity: the job of the diffusion.
"""
import os
import os.path as osp
from typing import Dict

import numpy as np
from PIL import Image

CLASS_IDS = (1, 7, 12, 15)
# mean RGB colour of each class; objects vary around it
CLASS_COLOURS = {1: (200, 60, 50), 7: (60, 170, 70), 12: (60, 80, 200), 15: (210, 190, 60)}


def voc_palette() -> list:
    """The PASCAL VOC colour map, as used by its PNG label files."""
    palette = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette += [r, g, b]
    return palette


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: int) -> np.ndarray:
    """Value noise in [0, 1]: random values on a coarse grid, bilinearly upsampled."""
    coarse = rng.random((h // cell + 2, w // cell + 2)).astype(np.float32)
    img = Image.fromarray((coarse * 255).astype(np.uint8)).resize(
        (w + 2 * cell, h + 2 * cell), Image.BILINEAR)
    return np.asarray(img, np.float32)[cell:cell + h, cell:cell + w] / 255.0


def _shape_mask(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w
    r = rng.uniform(0.12, 0.3) * min(h, w)
    kind = rng.integers(3)
    if kind == 0:  # ring
        d = np.hypot(yy - cy, xx - cx)
        return (d < r) & (d > r * rng.uniform(0.45, 0.7))
    if kind == 1:  # rotated bar
        a = rng.uniform(0, np.pi)
        u = (xx - cx) * np.cos(a) + (yy - cy) * np.sin(a)
        v = -(xx - cx) * np.sin(a) + (yy - cy) * np.cos(a)
        return (np.abs(u) < r * 1.4) & (np.abs(v) < r * rng.uniform(0.15, 0.35))
    # blob: a circle with a wavy radius
    ang = np.arctan2(yy - cy, xx - cx)
    k, phase = rng.integers(3, 6), rng.uniform(0, 2 * np.pi)
    return np.hypot(yy - cy, xx - cx) < r * (1 + 0.35 * np.sin(k * ang + phase))


def make_sample(rng: np.random.Generator, size: int):
    """One (image (size, size, 3) uint8 RGB, label (size, size) uint8) pair."""
    h = w = size
    base = rng.uniform(90, 170, 3)
    tex = _smooth_noise(rng, h, w, 6)[..., None] - 0.5
    img = base + 90 * tex * rng.uniform(0.5, 1.0, 3)
    label = np.zeros((h, w), np.uint8)
    for _ in range(rng.integers(1, 4)):
        cls = int(rng.choice(CLASS_IDS))
        mask = _shape_mask(rng, h, w)
        colour = np.array(CLASS_COLOURS[cls]) + rng.normal(0, 15, 3)
        obj_tex = _smooth_noise(rng, h, w, 4)[..., None] - 0.5
        # the interior is only partly the class colour: patches fall back towards the
        # background, so that the object has to be completed from its similar neighbours
        blend = np.clip(0.55 + 1.6 * (_smooth_noise(rng, h, w, 8) - 0.5), 0.15, 1)[..., None]
        obj = blend * colour + (1 - blend) * img + 40 * obj_tex
        img = np.where(mask[..., None], obj, img)
        label[mask] = cls
    img = img + rng.normal(0, 6, img.shape)
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
