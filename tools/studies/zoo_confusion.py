"""What a pilot run predicts for each class's pixels on the val frames (docs/studies/zoo.md,
"Pilot"): row-normalised confusion (rows: label, columns: prediction, %), printed as markdown
and written as JSON; how a flagged head's missing class is examined.

    python tools/studies/zoo_confusion.py RUN_DIR [RUN_DIR ...] [--json OUT.json]
        [--data-root ../shared/data/camvid] [--split val]
"""
import argparse
import glob
import json
import os.path as osp

import numpy as np
from mmengine.config import Config
from mmseg.apis import inference_model, init_model
from PIL import Image

import mmseg_difnet  # noqa: F401  (registers the modules)
from mmseg_difnet.datasets import CamVidDataset, imread_checked
from mmseg_difnet.utils import for_one_process

CLASSES = CamVidDataset.METAINFO['classes']


def confusion(run_dir: str, data_root: str, split: str) -> np.ndarray:
    """(K, K) pixel counts, rows the label, columns the prediction (void skipped)."""
    cfg = for_one_process(Config.fromfile(glob.glob(osp.join(run_dir, '*.py'))[0]))
    with open(osp.join(run_dir, 'last_checkpoint')) as f:
        model = init_model(cfg, f.read().strip(), device='cpu')
    K = len(CLASSES)
    counts = np.zeros((K, K), np.int64)
    for img in sorted(glob.glob(osp.join(data_root, split, '*.png'))):
        label = np.asarray(Image.open(osp.join(data_root, split + 'annot', osp.basename(img))))
        pred = inference_model(model, imread_checked(img)).pred_sem_seg.data[0].numpy()
        keep = label < K
        counts += np.bincount(label[keep] * K + pred[keep], minlength=K * K).reshape(K, K)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('runs', nargs='+', help='run dirs (their config copy and checkpoint)')
    parser.add_argument('--data-root', default=osp.join('..', 'shared', 'data', 'camvid'))
    parser.add_argument('--split', default='val')
    parser.add_argument('--json', help='write the counts here')
    args = parser.parse_args()
    out = {}
    for run in args.runs:
        c = confusion(run, args.data_root, args.split)
        out[osp.basename(osp.normpath(run))] = c.tolist()
        pct = 100 * c / np.maximum(c.sum(1, keepdims=True), 1)
        print(f'\n{run} ({args.split}; rows: label, columns: prediction, % of the row)\n')
        print('| label | ' + ' | '.join(CLASSES) + ' |')
        print('|---|' + '---:|' * len(CLASSES))
        for k, name in enumerate(CLASSES):
            print(f'| {name} | ' + ' | '.join(f'{v:.1f}' for v in pct[k]) + ' |')
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(dict(split=args.split, classes=CLASSES, counts=out), f)


if __name__ == '__main__':
    main()
