# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Run an exported model (tools/deployment/pytorch2onnx.py) with numpy and ONNX Runtime or
OpenVINO alone: no torch, mmcv, mmengine or mmseg. A service may copy this one file.

    from segmenter import Segmenter          # or mmseg_difnet.deployment.segmenter
    seg = Segmenter('difnet.onnx', backend='onnxruntime', threads=2)
    labels = seg(rgb)                        # (H, W) uint8 RGB -> (H, W) int64 classes
    logits = seg.run(rgb[None].transpose(0, 3, 1, 2).astype('float32'))  # the graph's output

The graph holds the model's preprocessing (channel order, mean/std, test padding) and
returns the label map or the logits at the input's size (``seg.meta['output']``). Resize
the image first if the config's test pipeline resizes (``seg.meta['preprocessing_outside']``).
"""
import json
import os.path as osp
from typing import Dict, Optional

import numpy as np

BACKENDS = ('onnxruntime', 'openvino')


def read_metadata(path: str) -> Optional[Dict[str, str]]:
    """The export's metadata: its sidecar ``path + '.json'``, else None."""
    side = path + '.json'
    if osp.isfile(side):
        with open(side) as f:
            return json.load(f)
    return None


class Segmenter:
    """An exported segmentor on ONNX Runtime or OpenVINO (CPU).

    Args:
        path (str): The .onnx file.
        backend (str): 'onnxruntime' or 'openvino'. Default: 'onnxruntime'.
        threads (int, optional): Threads of the backend's CPU pool (None: its default).
        precision (str): OpenVINO's inference precision: 'f32' (the exported model's), or
            'bf16' / 'f16', which OpenVINO picks by itself on CPUs with such units (about
            0.4 logit off here, on a CPU with AMX). Default: 'f32'.
    """

    def __init__(self, path: str, backend: str = 'onnxruntime',
                 threads: Optional[int] = None, precision: str = 'f32') -> None:
        if backend not in BACKENDS:
            raise ValueError(f'backend={backend!r} is not one of {BACKENDS}.')
        if not osp.isfile(path):
            raise FileNotFoundError(f'no exported model {path!r}: export one with '
                                    'tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT OUT.onnx.')
        self.backend = backend
        if backend == 'onnxruntime':
            import onnxruntime as ort
            opts = ort.SessionOptions()
            if threads:
                opts.intra_op_num_threads = threads
                opts.inter_op_num_threads = 1
            self._session = ort.InferenceSession(path, opts, providers=['CPUExecutionProvider'])
            meta = self._session.get_modelmeta().custom_metadata_map  # inside the model
            self.meta = dict(meta) if meta else read_metadata(path)
        else:
            import openvino as ov
            core = ov.Core()
            config = {'INFERENCE_PRECISION_HINT': precision}
            if threads:
                config['INFERENCE_NUM_THREADS'] = threads
            self._compiled = core.compile_model(core.read_model(path), 'CPU', config)
            self.meta = read_metadata(path)  # OpenVINO does not read ONNX metadata_props
        if not self.meta:
            raise ValueError(
                f'{path!r} carries no export metadata (neither in the model nor in '
                f'{path}.json beside it): it was not written by '
                'tools/deployment/pytorch2onnx.py, or its sidecar was not copied with it; '
                'the input convention (RGB, 0..255) cannot be checked. Copy the .json too, '
                'or re-export.')
        self.classes = json.loads(self.meta.get('classes', 'null'))
        self.palette = json.loads(self.meta.get('palette', 'null'))

    def run(self, image: np.ndarray) -> np.ndarray:
        """The graph's output for ``image``, float32 (B, 3, H, W), RGB, 0..255."""
        if image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(f'image of shape {image.shape}: the model takes (B, 3, H, W), '
                             'RGB, 0..255 (an (H, W, 3) array: call the Segmenter itself).')
        image = np.ascontiguousarray(image, dtype=np.float32)
        if self.backend == 'onnxruntime':
            return self._session.run(None, {'image': image})[0]
        return self._compiled(image)[0]

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) RGB uint8 -> (H, W) int64 class indices."""
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f'an image of shape {rgb.shape}: give (H, W, 3), RGB '
                             '(a grey image: np.repeat(img[..., None], 3, 2)).')
        out = self.run(rgb.transpose(2, 0, 1)[None])[0]
        return out.argmax(0) if out.ndim == 3 else out.astype(np.int64)
