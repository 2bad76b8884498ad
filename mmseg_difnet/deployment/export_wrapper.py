# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""A segmentor as one exportable graph: an RGB image in, logits or the label map out, at the
image's size, with the model's test-time preprocessing inside (channel order, mean/std, the
padding of its data preprocessor) so that a service feeds pixels and reads classes."""
import hashlib
import json
import os.path as osp
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import Tensor

from ..models.data_preprocessor import DifNetDataPreProcessor, test_size_padding

OUTPUTS = ('logits', 'labels')
EXPORTERS = ('dynamo', 'torchscript')


class ExportWrapper(nn.Module):
    """``image`` (B, 3, H, W), float RGB in 0..255 -> logits (B, K, H, W) or labels
    (B, H, W) int64, as mmseg's whole-image ``predict`` gives them for that image.

    Args:
        segmentor (nn.Module): An mmseg ``EncoderDecoder`` (the package's included), in
            eval mode, with its ``data_preprocessor``.
        output (str): 'logits' or 'labels' (the argmax over classes). Default: 'labels'.
    """

    def __init__(self, segmentor: nn.Module, output: str = 'labels') -> None:
        super().__init__()
        if output not in OUTPUTS:
            raise ValueError(f'output={output!r} is not one of {OUTPUTS}.')
        mode = (segmentor.test_cfg or {}).get('mode', 'whole')
        if mode != 'whole':
            raise ValueError(
                f"model.test_cfg.mode={mode!r}: the export takes the whole image in one pass, "
                "as mode='whole'; export with --cfg-options model.test_cfg.mode=whole (and "
                'feed images of the size the model was tested at).')
        self.segmentor, self.output = segmentor, output
        pre = segmentor.data_preprocessor
        self.rgb_model = bool(getattr(pre, 'channel_conversion', False))  # BGR in -> RGB
        self.normalize = bool(getattr(pre, '_enable_normalize', False))
        self.pad_val = float(getattr(pre, 'pad_val', 0))
        self.eval()  # the TorchScript exporter restores a training wrapper with train(True),
        # which would leave every BatchNorm of the segmentor in training mode after export

    def padding(self, h, w):
        """(left, right, top, bottom) of the model's test-time padding of an (h, w) image."""
        pre = self.segmentor.data_preprocessor
        if isinstance(pre, DifNetDataPreProcessor):  # black before normalisation, centred
            return pre.padding(h, w) if pre.test_pad_cfg else (0, 0, 0, 0)
        cfg = getattr(pre, 'test_cfg', None) or {}  # mmseg's: bottom right, after normalising
        return test_size_padding(h, w, cfg.get('size', None), cfg.get('size_divisor', None),
                            'bottom_right')

    def forward(self, image: Tensor) -> Tensor:
        B, C, H, W = image.shape
        pre = self.segmentor.data_preprocessor
        x = image if self.rgb_model else image.flip(1)  # the channel order the model takes
        left, right, top, bottom = pads = self.padding(H, W)
        if all(isinstance(p, int) and p == 0 for p in pads):  # none: no Pad node in the graph
            pads = None
        before = isinstance(pre, DifNetDataPreProcessor)
        if before and pads:  # the pixels of the padding are pad_val, then normalised with the image
            x = F.pad(x, (left, right, top, bottom), value=self.pad_val)
        if self.normalize:
            x = (x - pre.mean) / pre.std  # (B, 3, H', W')
        if not before and pads:
            x = F.pad(x, (left, right, top, bottom), value=self.pad_val)
        meta = dict(img_shape=x.shape[2:], pad_shape=x.shape[2:])
        logits = self.segmentor.encode_decode(x, [meta] * B)  # (B, K, H', W')
        logits = logits[:, :, top:top + H, left:left + W]  # (B, K, H, W)
        return logits if self.output == 'logits' else logits.argmax(1)


def metadata(cfg, checkpoint: Optional[str], wrapper: ExportWrapper, exporter: str,
             shape: Sequence, dynamic: bool) -> Dict[str, str]:
    """What a service needs besides the graph, as strings (ONNX metadata_props)."""
    model = wrapper.segmentor
    pre = model.data_preprocessor
    meta = dataset_meta(cfg)
    sha = None
    if checkpoint and osp.isfile(checkpoint):
        with open(checkpoint, 'rb') as f:  # streamed: a checkpoint may be large
            sha = hashlib.file_digest(f, 'sha256').hexdigest()
    info = dict(
        input='image: float32 (B, 3, H, W), RGB, 0..255 (uint8 values as float)',
        output=('logits: float32 (B, K, H, W)' if wrapper.output == 'logits'
                else 'labels: int64 (B, H, W), class indices'),
        preprocessing_in_graph=(
            f"{'RGB' if wrapper.rgb_model else 'BGR'} channel order; "
            + (f'(x - mean) / std with mean {[round(v, 3) for v in pre.mean.flatten().tolist()]} '
               f'and std {[round(v, 3) for v in pre.std.flatten().tolist()]}; '
               if wrapper.normalize else 'no normalisation; ')
            + describe_test_padding(pre)
            + '; logits resized to the padded size, the padding cropped'),
        preprocessing_outside='resize the image as the test pipeline does, if it resizes: '
                              + test_resize(cfg),
        classes=json.dumps(meta.get('classes')), palette=json.dumps(meta.get('palette')),
        num_classes=str(model.decode_head.num_classes), exporter=exporter,
        align_corners=str(bool(model.decode_head.align_corners)),
        shape=('dynamic H, W; traced at ' if dynamic else 'fixed ') + 'x'.join(map(str, shape)),
        torch=torch.__version__, config=osp.basename(cfg.filename or '?'),
        checkpoint=osp.basename(checkpoint) if checkpoint else 'none (initial weights)',
        checkpoint_sha256=sha or '-', model=type(model).__name__)
    return {k: str(v) for k, v in info.items()}


def describe_test_padding(pre) -> str:
    if isinstance(pre, DifNetDataPreProcessor):
        cfg = pre.test_pad_cfg
        where = 'centred' if pre.test_pad_position == 'centre' else 'bottom right'
        return (f'padded {where} with {pre.pad_val} before normalising to {dict(cfg)}'
                if cfg else 'no test padding')
    cfg = getattr(pre, 'test_cfg', None)
    return (f'padded bottom right with {pre.pad_val} after normalising to {dict(cfg)}'
            if cfg else 'no test padding')


def dataset_meta(cfg) -> dict:
    """classes and palette of the config's test dataset, through mmseg's registry."""
    from mmseg.registry import DATASETS
    try:
        ds = cfg.test_dataloader.dataset
        cls = DATASETS.get(ds.type)
        return dict(cls.METAINFO) if cls is not None else {}
    except (AttributeError, KeyError):
        return {}


def test_resize(cfg) -> str:
    try:
        steps = [s for s in cfg.test_dataloader.dataset.pipeline if s.get('type') == 'Resize']
    except (AttributeError, KeyError):
        steps = []
    if not steps:
        return 'none in the test pipeline'
    s = steps[0]
    return f"Resize(scale={tuple(s.get('scale', ()))}, keep_ratio={s.get('keep_ratio', False)})"


def export_onnx(wrapper: ExportWrapper, out: str, shape: Sequence[int], *,
                dynamic: bool = False, exporter: str = 'dynamo', opset: int = 18,
                external_data: bool = False, meta: Optional[Dict[str, str]] = None) -> str:
    """Export ``wrapper`` to ``out`` at ``shape`` (B, 3, H, W), fixed or with dynamic batch,
    H and W; write ``meta`` into the model and beside it as ``out + '.json'``. Returns
    ``out``. ``exporter``: 'dynamo' (torch.export, torch's default) or 'torchscript' (the
    tracer; what mmdeploy 1.3 uses)."""
    import onnx
    if exporter not in EXPORTERS:
        raise ValueError(f'exporter={exporter!r} is not one of {EXPORTERS}.')
    image = torch.rand(*shape) * 255
    wrapper.eval()
    kwargs = dict(input_names=['image'], output_names=[wrapper.output], opset_version=opset)
    with torch.no_grad():
        if exporter == 'dynamo':
            if dynamic:
                dim = torch.export.Dim.DYNAMIC
                kwargs['dynamic_shapes'] = {'image': {0: dim, 2: dim, 3: dim}}
            torch.onnx.export(wrapper, (image,), out, dynamo=True,
                              external_data=external_data, **kwargs)
        else:
            if dynamic:
                out_axes = {0: 'batch', 1: 'height', 2: 'width'} if wrapper.output == 'labels' \
                    else {0: 'batch', 2: 'height', 3: 'width'}
                kwargs['dynamic_axes'] = {'image': {0: 'batch', 2: 'height', 3: 'width'},
                                          wrapper.output: out_axes}
            torch.onnx.export(wrapper, (image,), out, dynamo=False, **kwargs)
    model = onnx.load(out, load_external_data=False)
    for k, v in (meta or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.save(model, out)
    with open(out + '.json', 'w') as f:
        json.dump(meta or {}, f, indent=1)
    print_log(f'exported {out} ({exporter}, {"dynamic" if dynamic else "fixed"} '
              f'{"x".join(map(str, shape))}) and its metadata {out}.json', logger='current')
    return out
