# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Image decoding, one rule for training, testing and inference: strict (a truncated or empty
file is an error naming it, never a partly decoded image trained on or scored: OpenCV decodes
what it can and only warns), and on the stored pixels (an EXIF Orientation tag is ignored:
datasets define their labels on the stored pixels, and mmcv's default decoding would turn a
photo whose tag says "rotate 90°" out of alignment with its label)."""
import io
import os
import re
import sys
import tempfile
import warnings
from typing import Optional, Tuple

import mmcv
import numpy as np
from mmcv.transforms import LoadImageFromFile
from mmengine import fileio
from mmseg.registry import TRANSFORMS
from PIL import Image


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


# The most pixels a file may decode to: 100 megapixels (a 12k × 8k photo; 300 MB as BGR). A
# decompression bomb (a 20000 × 20000 PNG is 1.1 MB on disk) is refused from its header,
# before the decoder asks the allocator for gigabytes. The option: ``max_pixels`` of the
# loaders and of :func:`imread_checked`, ``--max-pixels`` of tools/infer.py.
MAX_PIXELS = 100_000_000


def _header_size(data: bytes) -> Optional[Tuple[int, int]]:
    """(width, height) from a PNG's IHDR or a JPEG's start-of-frame, else PIL's lazy open (the
    header only); None where neither knows the format."""
    if data[:8] == b'\x89PNG\r\n\x1a\n' and data[12:16] == b'IHDR':
        return int.from_bytes(data[16:20], 'big'), int.from_bytes(data[20:24], 'big')
    if data[:2] == b'\xff\xd8':
        i = 2
        while i + 9 < len(data) and data[i] == 0xFF:
            marker = data[i + 1]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):  # a frame
                return (int.from_bytes(data[i + 7:i + 9], 'big'),
                        int.from_bytes(data[i + 5:i + 7], 'big'))
            i += 2 + int.from_bytes(data[i + 2:i + 4], 'big')
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                return im.size
    except Image.DecompressionBombError as e:  # PIL's own limit: it gives the count only
        n = int(re.search(r'\((\d+) pixels\)', str(e)).group(1))
        return n, 1
    except Exception:  # noqa: BLE001  (not a format PIL knows: the decoder decides)
        return None


def check_pixel_budget(data: bytes, path: str, max_pixels: Optional[int] = MAX_PIXELS) -> None:
    """Raise ``ValueError`` naming ``path`` when the image its header describes has more than
    ``max_pixels`` pixels (None: no limit). Reads the header only, never the pixel data;
    formats whose header is not known pass through to the decoder."""
    size = None if max_pixels is None else _header_size(data)
    if size is None or size[0] * size[1] <= max_pixels:
        return
    w, h = size
    shape = f'{w}×{h} = {w * h:,}' if h > 1 else f'{w:,}'
    raise ValueError(
        f'image file {path!r} ({len(data):,} bytes) is {shape} pixels by its header, over the '
        f'limit of {max_pixels:,} ({3 * w * h / 2**30:.1f} GiB to decode as BGR). A file that '
        'small with that many pixels is a decompression bomb; if the image is genuine, resize '
        "it first, or raise the limit (the loaders' max_pixels, tools/infer.py --max-pixels).")


# what libjpeg says, on stderr only, when it decoded damaged scan data into a complete image
_JPEG_DAMAGE = (b'Corrupt JPEG data', b'Premature end of JPEG file', b'Invalid JPEG file')


def decode_checked(data: bytes, path: str, flag: str, backend=None) -> np.ndarray:
    """``mmcv.imfrombytes``; for a JPEG, libjpeg's warnings (written to the process's stderr,
    never returned: OpenCV hands back the damaged image) are caught and a damaged scan is a
    ``ValueError`` naming the file. Other output of the decode goes on to stderr."""
    if data[:2] != b'\xff\xd8':
        return mmcv.imfrombytes(data, flag=flag, backend=backend)
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as err:
        os.dup2(err.fileno(), 2)
        try:
            img = mmcv.imfrombytes(data, flag=flag, backend=backend)
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        err.seek(0)
        said = err.read()
    if any(m in said for m in _JPEG_DAMAGE):
        line = said.decode(errors='replace').strip().splitlines()[0]
        raise ValueError(f'image file {path!r} is damaged: the JPEG decoder reported "{line}" '
                         '(its image data was changed after it was written; the decoded '
                         'pixels would be partly garbage). Copy or extract the file again, or '
                         'remove it from the split file.')
    if said:
        sys.stderr.write(said.decode(errors='replace'))
    return img


# mmcv's decoding flags and their variants that keep the stored pixels (no EXIF rotation)
STORED_PIXELS = {'color': 'color_ignore_orientation',
                 'grayscale': 'grayscale_ignore_orientation'}


def imread_checked(path: str, flag: str = 'color',
                   max_pixels: Optional[int] = MAX_PIXELS) -> np.ndarray:
    """``mmcv.imread`` of a file, after :func:`check_image_bytes` and
    :func:`check_pixel_budget`, on its stored pixels (BGR for 'color')."""
    data = fileio.get(path)
    check_image_bytes(data, path)
    check_pixel_budget(data, path, max_pixels)
    image = decode_checked(data, path, STORED_PIXELS.get(flag, flag))
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
    mmcv's own registry keeps its class.

    Args:
        max_pixels (int, optional): The most pixels a file may decode to, read from its
            header before decoding (:func:`check_pixel_budget`). Default: 100,000,000.
        **kwargs: Arguments of mmcv's ``LoadImageFromFile``.
    """

    def __init__(self, *, max_pixels: Optional[int] = MAX_PIXELS, **kwargs) -> None:
        super().__init__(**kwargs)
        self.max_pixels = max_pixels

    def transform(self, results: dict) -> dict:
        path = results['img_path']
        data = fileio.get(path, backend_args=self.backend_args)
        if self.ignore_empty and not data:
            return None
        check_image_bytes(data, path)
        check_pixel_budget(data, path, self.max_pixels)
        img = decode_checked(data, path, STORED_PIXELS.get(self.color_type, self.color_type),
                             self.imdecode_backend)
        if img is None and self.ignore_empty:
            return None
        if img is None:
            raise ValueError(f'image file {path!r} ({len(data)} bytes) could not be decoded.')
        if self.to_float32:
            img = img.astype(np.float32)
        results.update(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        return results
