# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Make a trained checkpoint ready to share, as mmseg's ``tools/misc/publish_model.py`` does:
weights and meta only, the SHA-256's first 8 digits in the name, a ``.sha256`` sidecar.
(mmseg's own tool cannot read mmengine's checkpoints on torch >= 2.6.)

    python tools/misc/publish_model.py work_dirs/run/iter_1000.pth out/refiner.pth
    # -> out/refiner-<sha256[:8]>.pth
"""
import argparse

from mmseg_difnet.checkpoint import publish_checkpoint


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('in_file', help='the checkpoint a run saved')
    parser.add_argument('out_file', help='where to write it (.pth; the hash is added)')
    args = parser.parse_args()
    print(publish_checkpoint(args.in_file, args.out_file))


if __name__ == '__main__':
    main()
