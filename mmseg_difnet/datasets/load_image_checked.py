# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Image decoding, one rule for training, testing and inference: strict (a truncated or empty
file is an error naming it, never a partly decoded image trained on or scored: OpenCV decodes
what it can and only warns), and on the stored pixels (an EXIF Orientation tag is ignored:
datasets define their labels on the stored pixels, and mmcv's default decoding would turn a
photo whose tag says "rotate 90°" out of alignment with its label)."""
import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmseg.registry import TRANSFORMS


def check_image_bytes(data: bytes, path: str) -> None:
    """Raise ``ValueError`` naming ``path`` if its bytes are empty or a JPEG / PNG cut short:
    a JPEG must end (after its last scan) with the end-of-image marker FFD9, a PNG with its
    IEND chunk. Other formats pass through to the decoder."""
    fix = ('Copy or extract the file again, or remove it from the split file.')
    if len(data) == 0:
        raise ValueError(f'image file {path!r} is empty (0 bytes). {fix}')
    if data[:2] == b'\xff\xd8' and data.rfind(b'\xff\xd9') < data.rfind(b'\xff\xda'):
        raise ValueError(f'image file {path!r} is truncated: the JPEG ({len(data)} bytes) '
                         f'ends inside its image data, without the end-of-image marker. {fix}')
    if data[:8] == b'\x89PNG\r\n\x1a\n' and b'IEND' not in data[-12:]:
        raise ValueError(f'image file {path!r} is truncated: the PNG ({len(data)} bytes) '
                         f'has no IEND chunk at its end. {fix}')


# mmcv's decoding flags and their variants that keep the stored pixels (no EXIF rotation)
STORED_PIXELS = {'color': 'color_ignore_orientation',
                 'grayscale': 'grayscale_ignore_orientation'}


def imread_checked(path: str, flag: str = 'color') -> np.ndarray:
    """``mmcv.imread`` of a file, after :func:`check_image_bytes`, on its stored pixels (BGR
    for 'color')."""
    data = fileio.get(path)
    check_image_bytes(data, path)
    image = mmcv.imfrombytes(data, flag=STORED_PIXELS.get(flag, flag))
    if image is None:
        raise ValueError(f'image file {path!r} ({len(data)} bytes) is not an image that '
                         'OpenCV can decode (JPEG, PNG, BMP, TIFF, ...).')
    return image


@TRANSFORMS.register_module(name='LoadImageFromFile')
class LoadImageChecked(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` with :func:`check_image_bytes`, on the stored pixels
    (``color_type`` 'color' decodes as 'color_ignore_orientation'). Registered in mmseg's
    scope under mmcv's name, so every mmseg pipeline that loads images from files (training,
    validation, testing, ``inference_model`` on a path) decodes so without a config change;
    mmcv's own registry keeps its class."""

    def transform(self, results: dict) -> dict:
        path = results['img_path']
        data = fileio.get(path, backend_args=self.backend_args)
        if self.ignore_empty and not data:
            return None
        check_image_bytes(data, path)
        img = mmcv.imfrombytes(data, flag=STORED_PIXELS.get(self.color_type, self.color_type),
                               backend=self.imdecode_backend)
        if img is None and self.ignore_empty:
            return None
        if img is None:
            raise ValueError(f'image file {path!r} ({len(data)} bytes) could not be decoded.')
        if self.to_float32:
            img = img.astype(np.float32)
        results.update(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        return results
