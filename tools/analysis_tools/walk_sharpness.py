"""How sharp the transition matrices are: the mean over nodes of the row maximum of every P_t
(1 = each node diffuses to one node only, 1/N = uniform), for a DifNet config at
initialisation (several init seeds; BN in training mode, as at the first step) or from a
checkpoint (eval mode), on the first validation images.

    python tools/analysis_tools/walk_sharpness.py CONFIG [--checkpoint CKPT] [--seeds 0 1 2]
        [--images 4]
        [--cfg-options k=v ...]
"""
import argparse

import numpy as np
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS, MODELS

from mmseg_difnet.checkpoint import load_fitting_checkpoint
from mmseg_difnet.utils import sync_bn_to_bn


@torch.no_grad()
def row_max(model, inputs) -> np.ndarray:
    """Mean row maximum of each P_t, (T,), over the images of ``inputs``."""
    data = model.data_preprocessor(inputs, False)
    head = model.decode_head
    trace = head.trace(model.extract_feat(data['inputs']))
    return np.array([P.max(-1).values.mean().item() for P in head.transition_matrices(trace)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--checkpoint')
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--images', type=int, default=4)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    init_default_scope('mmseg')
    sync_bn_to_bn(cfg)
    dataset = DATASETS.build(cfg.val_dataloader.dataset)
    samples = [dataset[i] for i in range(args.images)]
    inputs = dict(inputs=[s['inputs'] for s in samples],
                  data_samples=[s['data_samples'] for s in samples])
    for seed in args.seeds:
        torch.manual_seed(seed)
        model = MODELS.build(cfg.model)
        model.init_weights()
        if args.checkpoint:
            load_fitting_checkpoint(model, args.checkpoint)
        # at initialisation, as at the first training step: BN normalises with the batch's
        # statistics (its running ones are still 0 and 1); a checkpoint: eval mode
        r = row_max(model.eval() if args.checkpoint else model.train(), inputs)
        what = args.checkpoint or f'init seed {seed}'
        print(f'{what}: mean row max of P_1..P_{len(r)}: ' + ', '.join(f'{v:.3f}' for v in r)
              + f' (mean {r.mean():.3f})')
        if args.checkpoint:
            break


if __name__ == '__main__':
    main()
