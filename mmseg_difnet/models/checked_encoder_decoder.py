# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""mmseg's ``EncoderDecoder`` with the checks that turn silent wrong results into errors: its
labels, its input, its config's part arguments; its checkpoints are checked by
:mod:`mmseg_difnet.checkpoint`."""
import difflib
import inspect
import re
from typing import Optional

from mmseg.models.segmentors import EncoderDecoder
from mmseg.registry import MODELS
from mmseg.utils import OptSampleList, SampleList
from torch import Tensor

from ..checkpoint import CHECK_MODES, check_load, load_seed_checkpoint
from ..utils.exporting import exporting


def check_labels(data_samples: OptSampleList, num_classes: int, ignore_index: int,
                 stage: str) -> None:
    """Every label is a class index or the ignore index, or a ``ValueError`` names the file.

    Out of range, a label is silently skipped by mmseg's metric (changing the mIoU) or fails
    deep inside the loss.
    """
    for sample in data_samples or []:
        if 'gt_sem_seg' not in sample:
            continue
        label = sample.gt_sem_seg.data
        bad = label[(label >= num_classes) | (label < 0)]
        bad = bad[bad != ignore_index].unique()
        if bad.numel():
            raise ValueError(
                f'{stage}: label values {bad.tolist()[:10]} in '
                f'{sample.get("seg_map_path", "?")} lie outside [0, {num_classes}) and are '
                f'not the ignore index {ignore_index}: set decode_head.num_classes to the '
                "number of classes, or convert the labels (mmseg's dataset converters; "
                'reduce_zero_label=True for datasets whose 0 is background to ignore).')


def explain_unknown_argument(error: TypeError, parts: dict) -> Optional[TypeError]:
    """For "X.__init__() got an unexpected keyword argument 'a'" raised while building the
    parts (``backbone``, ``neck``, ``decode_head``, ``auxiliary_head`` configs), a
    ``TypeError`` naming the config key, the class and the closest argument it takes."""
    m = re.search(r"got an unexpected keyword argument '(\w+)'", str(error))
    if m is None:
        return None
    arg = m.group(1)
    for part, cfgs in parts.items():
        many = isinstance(cfgs, (list, tuple))
        for i, cfg in enumerate(cfgs if many else [cfgs]):
            if not isinstance(cfg, dict) or arg not in cfg:
                continue
            cls = MODELS.get(cfg['type']) if isinstance(cfg.get('type'), str) else cfg.get('type')
            if not inspect.isclass(cls):
                continue
            takes = sorted({n for c in inspect.getmro(cls) if '__init__' in vars(c)
                            for n, p in inspect.signature(c.__init__).parameters.items()
                            if n != 'self' and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)})
            if arg in takes:
                continue  # not this part's mistake
            near = difflib.get_close_matches(arg, takes, n=1)
            key = f'model.{part}' + (f'[{i}]' if many else '')
            return TypeError(f'{key}.{arg}={cfg[arg]!r}: {cls.__name__} takes no argument '
                             f'{arg!r}' + (f' (did you mean {near[0]!r}?)' if near else '')
                             + '. Fix the key in the config (or --cfg-options).')
    return None


@MODELS.register_module()
class CheckedEncoderDecoder(EncoderDecoder):
    """``EncoderDecoder`` that checks, in training (:meth:`check_batch`, on the batch before it
    reaches the device), validation and testing alike, that the labels are class indices and
    that the input holds no NaN/Inf (one NaN pixel would turn the whole prediction into
    class 0 through the softmax), and that a checkpoint loaded into it is of this model
    (:meth:`_load_from_state_dict`).

    Args:
        seed_checkpoint (str, optional): A plain mmseg model's checkpoint (``backbone``,
            ``decode_head``, ``auxiliary_head``) to start from when the weights are
            initialised (a fresh run; ``load_from`` and ``--resume`` load over it). Under a
            :class:`DiffusionHead` its decode head becomes the seed head and H, the walks and
            the similarity branch start from their init (:func:`map_plain_checkpoint`); a
            checkpoint of another model or class count is refused. Default: None.
        check_checkpoint (bool | str): True: refuse a checkpoint whose keys or shapes do
            not fit the model, on every path that loads one. 'new_classes': fine-tuning from
            a checkpoint of another number of classes (a zoo model on one's own data): the
            heads' tensors of the other class count (classifiers, H) start from their init,
            everything else must fit. False: mmengine loads what fits and logs the rest.
            Default: True.
        **kwargs: Arguments of mmseg's ``EncoderDecoder``.
    """

    def __init__(self, *, seed_checkpoint: Optional[str] = None, check_checkpoint: bool = True,
                 **kwargs) -> None:
        try:
            super().__init__(**kwargs)
        except TypeError as e:  # a misspelt argument of a part: name the key, and the fix
            better = explain_unknown_argument(e, {k: kwargs.get(k) for k in (
                'backbone', 'neck', 'decode_head', 'auxiliary_head')})
            if better is None:
                raise
            raise better from e
        if check_checkpoint not in CHECK_MODES:
            raise ValueError(f'model.check_checkpoint={check_checkpoint!r} is not one of '
                             f'{CHECK_MODES}.')
        self.seed_checkpoint = seed_checkpoint
        self.check_checkpoint = check_checkpoint

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs) -> None:
        """Every load of a state dict into the whole model comes here first, whoever calls
        it: the Runner's ``load_from`` and resume, mmengine's plain Runner under ``mim test``
        whatever the config's hooks, mmseg's ``init_model``, ``model.load_state_dict``. One
        of another architecture or class count is refused (:func:`check_load`)."""
        check_load(self, state_dict, prefix, self.check_checkpoint)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    def init_weights(self) -> None:
        """Every module's own init, then the plain model's weights of ``seed_checkpoint``
        (:func:`load_seed_checkpoint`)."""
        super().init_weights()
        if self.seed_checkpoint is not None:
            load_seed_checkpoint(self, self.seed_checkpoint)

    def _check(self, inputs, data_samples: OptSampleList, stage: str) -> None:
        """Labels in [0, num_classes) or the ignore index, and a finite input: a tensor
        (B, C, H, W) or the dataloader's list of (C, H, W) tensors, where an integer input
        (an image file's pixels) is finite by its type."""
        if exporting():  # a graph cannot branch on tensor data; the inputs are symbolic
            return
        check_labels(data_samples, self.decode_head.num_classes,
                     self.decode_head.ignore_index, stage)
        images = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        bad = sum(int((~x.isfinite()).sum()) for x in images if x.is_floating_point())
        if bad:
            paths = [s.get('img_path', '?') for s in data_samples or []]
            raise ValueError(
                f'{stage}: the input of {paths or "this batch"} holds {bad} NaN/Inf values: '
                'the prediction would be meaningless. Check the image (or the array given to '
                'inference_model).')

    def check_batch(self, data: dict, stage: str = 'training') -> None:
        """:meth:`_check` on a batch as the dataloader gives it (``inputs``, a list of
        (C, H, W) tensors, and ``data_samples``), before the data preprocessor moves it to
        the device: on the CPU, so the device never waits for the check. Training's check:
        the package's ``ConfigCheckHook`` calls it before every iteration (``loss`` itself
        does not check, so the step stays free of host-device syncs)."""
        self._check(data.get('inputs', []), data.get('data_samples'), stage)

    def predict(self, inputs: Tensor, data_samples: OptSampleList = None) -> SampleList:
        self._check(inputs, data_samples, 'validation/test')
        return super().predict(inputs, data_samples)
