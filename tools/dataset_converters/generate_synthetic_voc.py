"""Write the synthetic VOC-layout demo dataset (see mmseg_difnet.datasets.synthetic_voc).

    python tools/dataset_converters/generate_synthetic_voc.py [--out data/synthetic_voc]
        [--train 200] [--val 50]
"""
import argparse

from mmseg_difnet.datasets import generate_synthetic_voc


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/synthetic_voc', help='output directory')
    parser.add_argument('--train', type=int, default=200, help='training images')
    parser.add_argument('--val', type=int, default=50, help='validation images')
    parser.add_argument('--size', type=int, default=128, help='image side in pixels')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    counts = generate_synthetic_voc(args.out, num_train=args.train, num_val=args.val,
                                    size=args.size, seed=args.seed)
    print(f'wrote {counts} to {args.out}/VOCdevkit/VOC2012')


if __name__ == '__main__':
    main()
