# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
import mmcv
import numpy as np
from mmengine import fileio
from mmseg.datasets.transforms import LoadAnnotations
from mmseg.registry import TRANSFORMS

from .load_image_checked import MAX_PIXELS, check_pixel_budget


@TRANSFORMS.register_module()
class LoadAnnotationsChecked(LoadAnnotations):
    """mmseg's ``LoadAnnotations``, checking the label file as stored, before any cast:

    - a file that cannot be decoded raises an error naming it (mmseg's fails with the
      decoder's message, without the path);
    - a label of 3 or 4 channels (a colour-coded label) is an error saying so;
    - values above 255 (a 16-bit PNG) are an error: mmseg casts to 8 bits, so class 256 + c
      would silently become c and 65535 the ignore index;
    - a label whose size differs from its image's is an error naming both files (training
      would resize or pad it out of alignment; validation would fail inside the metric).

    The class range itself is checked by the segmentor (:class:`CheckedEncoderDecoder`), which
    knows the number of classes, at every stage. Without a ``seg_map_path`` (an image given
    to ``inference_model`` or ``MMSegInferencer``) there is no label and the results pass
    through.
    """

    def transform(self, results: dict) -> dict:
        if results.get('seg_map_path') is None:
            return results
        return super().transform(results)

    @staticmethod
    def _unreadable(path: str, e: Exception) -> OSError:
        return OSError(
            f'cannot read the label file {path!r} ({type(e).__name__}: {e}). Restore it '
            'from the dataset\'s source (docs/data.md), or remove its name from the '
            'split file.')

    def _load_seg_map(self, results: dict) -> None:
        path = results.get('seg_map_path')
        try:
            data = fileio.get(path, backend_args=self.backend_args)
        except Exception as e:  # a missing or unreadable file
            raise self._unreadable(path, e) from e
        check_pixel_budget(data, path, MAX_PIXELS)  # a bomb never reaches the decoder
        try:
            stored = mmcv.imfrombytes(data, flag='unchanged', backend=self.imdecode_backend)
            if stored is None:
                raise ValueError('the decoder returned nothing')
        except Exception as e:  # the decoder's errors vary with the backend
            raise self._unreadable(path, e) from e
        stored = stored.squeeze()
        if stored.ndim == 3:
            raise ValueError(
                f'label file {path!r} has {stored.shape[2]} channels ({stored.shape[1]}×'
                f'{stored.shape[0]}×{stored.shape[2]}): a label is one channel of class '
                'indices, and this looks like a colour-coded label (e.g. CamVid\'s '
                'LabeledApproved_full; SegNet\'s trainannot/valannot/testannot folders hold '
                'the class indices). Use the index labels, or map each colour to its class '
                'index.')
        if stored.dtype != np.uint8 and stored.size and int(stored.max()) > 255:
            values = np.unique(stored[stored > 255])
            raise ValueError(
                f'label file {path!r} stores values {values[:10].tolist()} above 255 '
                f'({stored.dtype} image): labels are 8-bit class indices (255 = ignore), and '
                'mmseg would cast them to 8 bits silently (300 would become 44). Convert the '
                'labels to 8-bit class indices.')
        image_shape = results.get('ori_shape') or results.get('img_shape')
        if image_shape is not None and tuple(stored.shape[:2]) != tuple(image_shape[:2]):
            raise ValueError(
                f'label file {path!r} is {stored.shape[1]}×{stored.shape[0]} pixels but its '
                f'image {results.get("img_path", "?")!r} is {image_shape[1]}×{image_shape[0]}'
                ': labels must be pixel-aligned with their images. Re-create the label (or '
                'remove the pair from the split file).')
        super()._load_seg_map(results)
