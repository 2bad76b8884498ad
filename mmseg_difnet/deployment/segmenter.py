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
import threading
import warnings
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


def check_rgb(rgb, where: str = 'Segmenter') -> np.ndarray:
    """An (H, W, 3) RGB image as the exported graph takes it (0..255), checked: a value that
    is not one raises ``ValueError``/``TypeError`` naming it and the fix; an integer image of
    another dtype within 0..255 is converted (with a warning). Never a silent wrong answer:
    a float image in 0..1 would be read as nearly black (9.8% agreement), a 16-bit one as
    saturated (7.2%), NaN as class 0 everywhere."""
    if not isinstance(rgb, np.ndarray):
        raise TypeError(f'{where}: the image is a {type(rgb).__name__}, not a numpy array: '
                        'give np.asarray(image) of shape (H, W, 3), RGB, uint8.')
    if rgb.ndim == 3 and rgb.shape[0] == 3 and rgb.shape[2] != 3:
        raise ValueError(f'{where}: an image of shape {rgb.shape} looks channel-first; give '
                         '(H, W, 3): rgb.transpose(1, 2, 0).')
    if rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f'{where}: an image of shape {rgb.shape}: give (H, W, 3), RGB '
                         '(a grey image: np.repeat(img[..., None], 3, 2)).')
    if rgb.shape[0] < 1 or rgb.shape[1] < 1:
        raise ValueError(f'{where}: the image is empty ({rgb.shape[0]}×{rgb.shape[1]}).')
    if rgb.dtype == np.uint8:
        return rgb
    if rgb.dtype == np.bool_ or not np.issubdtype(rgb.dtype, np.number):
        raise TypeError(f'{where}: an image of dtype {rgb.dtype}: give uint8 RGB, 0..255.')
    if np.issubdtype(rgb.dtype, np.floating):
        bad = int((~np.isfinite(rgb)).sum())
        if bad:
            raise ValueError(f'{where}: the image holds {bad} NaN/Inf values: the prediction '
                             'would be meaningless. Check how the array was made.')
    lo, hi = float(rgb.min()), float(rgb.max())
    if lo < 0 or hi > 255:
        hint = (' A 16-bit image: (img / 257).astype(np.uint8).' if hi <= 65535 and lo >= 0
                else '')
        raise ValueError(f'{where}: the image values span {lo:g}..{hi:g} ({rgb.dtype}); the '
                         f'model takes RGB in 0..255.{hint}')
    if np.issubdtype(rgb.dtype, np.floating) and hi <= 1.0:
        raise ValueError(f'{where}: a {rgb.dtype} image with values in {lo:g}..{hi:g} looks '
                         'scaled to 0..1; the model takes 0..255: give '
                         '(img * 255).round().astype(np.uint8), or an image in 0..255.')
    if np.issubdtype(rgb.dtype, np.integer):
        warnings.warn(f'{where}: an {rgb.dtype} image in 0..255 is converted to uint8.')
        return rgb.astype(np.uint8)
    return rgb  # float in 0..255: the graph's own input type


class Segmenter:
    """An exported segmentor on ONNX Runtime or OpenVINO (CPU).

    Args:
        path (str): The .onnx file.
        backend (str): 'onnxruntime' or 'openvino'. Default: 'onnxruntime'.
        threads (int, optional): Threads of the backend's CPU pool (None: its default).
        precision (str): OpenVINO's inference precision: 'f32' (the exported model's), or
            'bf16' / 'f16', which OpenVINO picks by itself on CPUs with such units (about
            0.4 logit off here, on a CPU with AMX). Default: 'f32'.

    One Segmenter may serve several threads at once: ONNX Runtime's session is safe across
    threads, and on OpenVINO each calling thread gets its own inference request. A model
    exported at a fixed size refuses another size by name (``fixed_size``).
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
            dims = self._session.get_inputs()[0].shape
        else:
            import openvino as ov
            core = ov.Core()
            config = {'INFERENCE_PRECISION_HINT': precision}
            if threads:
                config['INFERENCE_NUM_THREADS'] = threads
            self._compiled = core.compile_model(core.read_model(path), 'CPU', config)
            # one inference request per calling thread: a compiled model's own request
            # (``compiled(x)``) is shared, and concurrent calls overwrite each other's input
            # and output tensors
            self._requests = threading.local()
            self.meta = read_metadata(path)  # OpenVINO does not read ONNX metadata_props
            dims = [d.get_length() if d.is_static else None
                    for d in self._compiled.input(0).get_partial_shape()]
        if not self.meta:
            raise ValueError(
                f'{path!r} carries no export metadata (neither in the model nor in '
                f'{path}.json beside it): it was not written by '
                'tools/deployment/pytorch2onnx.py, or its sidecar was not copied with it; '
                'the input convention (RGB, 0..255) cannot be checked. Copy the .json too, '
                'or re-export.')
        self.classes = json.loads(self.meta.get('classes', 'null'))
        self.palette = json.loads(self.meta.get('palette', 'null'))
        # (H, W) of a model exported at a fixed size, None where a side is dynamic
        self.fixed_size = tuple(d if isinstance(d, int) else None for d in dims[2:4])
        self.path = path

    def run(self, image: np.ndarray) -> np.ndarray:
        """The graph's output for ``image``, float32 (B, 3, H, W), RGB, 0..255."""
        if not isinstance(image, np.ndarray):
            raise TypeError(f'Segmenter.run: the input is a {type(image).__name__}: give a '
                            'float32 numpy array (B, 3, H, W), RGB, 0..255.')
        if image.ndim != 4 or image.shape[1] != 3 or 0 in image.shape:
            raise ValueError(f'image of shape {image.shape}: the model takes (B, 3, H, W), '
                             'RGB, 0..255 (an (H, W, 3) array: call the Segmenter itself).')
        for side, got, want in zip(('height', 'width'), image.shape[2:], self.fixed_size):
            if want is not None and got != want:
                raise ValueError(
                    f'an image of {side} {got} ({tuple(image.shape)}): {self.path!r} was '
                    f'exported for a fixed {self.fixed_size[0]}×{self.fixed_size[1]} (H×W) '
                    'input. Resize the image to that size, or export a model that takes any '
                    'size: tools/deployment/pytorch2onnx.py ... --dynamic.')
        image = np.ascontiguousarray(image, dtype=np.float32)
        if self.backend == 'onnxruntime':  # InferenceSession.run is safe across threads
            return self._session.run(None, {'image': image})[0]
        request = getattr(self._requests, 'request', None)
        if request is None:
            request = self._requests.request = self._compiled.create_infer_request()
        # a copy: the request's output tensor is overwritten by this thread's next call
        return request.infer({0: image})[0].copy()

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """(H, W, 3) RGB uint8 (0..255) -> (H, W) int64 class indices (:func:`check_rgb`)."""
        rgb = check_rgb(rgb)
        out = self.run(rgb.transpose(2, 0, 1)[None])[0]
        return out.argmax(0) if out.ndim == 3 else out.astype(np.int64)
