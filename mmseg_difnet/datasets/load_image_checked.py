# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Image decoding, one rule for training, testing and inference: strict (a truncated or empty
file is an error naming it, never a partly decoded image trained on or scored: OpenCV decodes
what it can and only warns), and on the stored pixels (an EXIF Orientation tag is ignored:
datasets define their labels on the stored pixels, and mmcv's default decoding would turn a
photo whose tag says "rotate 90°" out of alignment with its label)."""
import io
import re
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


# what libjpeg reports when it decoded damaged scan data into a complete image (OpenCV prints
# it on stderr and returns the image)
_JPEG_DAMAGE = ('Corrupt JPEG data', 'Premature end of JPEG file', 'Invalid JPEG file')


def check_jpeg_scan(data: bytes, path: str) -> None:
    """Raise ``ValueError`` naming ``path`` if its JPEG scan data is damaged, by a decoder that
    reports corruption itself (libjpeg-turbo through ``simplejpeg``, strict, at 1/8 scale: the
    whole bitstream is decoded, few pixels written). Touches no process-wide state (thread-safe).
    Data that is not a JPEG, or that this decoder cannot handle (CMYK, arithmetic coding),
    passes through to the decoder that makes the image."""
    if data[:2] != b'\xff\xd8':
        return
    import simplejpeg
    try:
        simplejpeg.decode_jpeg(data, colorspace='GRAY', min_factor=8, strict=True)
    except ValueError as e:
        said = str(e).strip()
        if said.startswith(_JPEG_DAMAGE):
            raise ValueError(
                f'image file {path!r} is damaged: the JPEG decoder reported "{said}" (its '
                'image data was changed after it was written; the decoded pixels would be '
                'partly garbage). Copy or extract the file again, or remove it from the '
                'split file.') from None


def decode_checked(data: bytes, path: str, flag: str, backend=None) -> np.ndarray:
    """``mmcv.imfrombytes`` after :func:`check_jpeg_scan`."""
    check_jpeg_scan(data, path)
    return mmcv.imfrombytes(data, flag=flag, backend=backend)


# mmcv's decoding flags and their variants that keep the stored pixels (no EXIF rotation)
STORED_PIXELS = {'color': 'color_ignore_orientation',
                 'grayscale': 'grayscale_ignore_orientation'}


def stored_pixels_flag(color_type: str, backend: Optional[str]) -> str:
    """The flag that decodes ``color_type`` on the stored pixels with mmcv's ``backend``: cv2
    and pillow rotate by EXIF unless told not to; turbojpeg and tifffile never rotate (and
    turbojpeg refuses the ``*_ignore_orientation`` flags)."""
    if backend in (None, 'cv2', 'pillow'):
        return STORED_PIXELS.get(color_type, color_type)
    return color_type


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


@TRANSFORMS.register_module()
class LoadImageChecked(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` (every option: ``backend_args``, ``file_client_args``,
    ``ignore_empty``, ``imdecode_backend``, ``to_float32``, ``color_type``) with the checks of
    :func:`imread_checked`: an empty, truncated or damaged file and a decompression bomb are
    errors naming the file; decoded on the stored pixels (``color_type`` 'color' ignores the
    EXIF orientation, :func:`stored_pixels_flag`). This package's dataset bases use it; mmcv's
    ``LoadImageFromFile`` is left as it is.

    Args:
        max_pixels (int, optional): The most pixels a file may decode to, read from its
            header before decoding (:func:`check_pixel_budget`; a bomb is refused even with
            ``ignore_empty``). Default: 100,000,000.
        **kwargs: Arguments of mmcv's ``LoadImageFromFile``. With ``ignore_empty=True`` a
            file that cannot be read, or is empty, truncated, damaged or undecodable gives
            ``None`` (the sample is skipped), as mmcv's.
    """

    def __init__(self, *, max_pixels: Optional[int] = MAX_PIXELS, **kwargs) -> None:
        super().__init__(**kwargs)
        self.max_pixels = max_pixels

    def _read(self, path: str) -> bytes:
        if self.file_client_args is not None:  # mmcv's deprecated option, honoured as mmcv
            return fileio.FileClient.infer_client(self.file_client_args, path).get(path)
        return fileio.get(path, backend_args=self.backend_args)

    def transform(self, results: dict) -> Optional[dict]:
        path = results['img_path']
        try:
            data = self._read(path)
            check_image_bytes(data, path)
        except (OSError, ValueError):
            if self.ignore_empty:
                return None
            raise
        check_pixel_budget(data, path, self.max_pixels)
        try:
            img = decode_checked(data, path,
                                 stored_pixels_flag(self.color_type, self.imdecode_backend),
                                 self.imdecode_backend)
            if img is None:
                raise ValueError(f'image file {path!r} ({len(data)} bytes) could not be '
                                 'decoded.')
        except ValueError:
            if self.ignore_empty:
                return None
            raise
        if self.to_float32:
            img = img.astype(np.float32)
        results.update(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2])
        return results
