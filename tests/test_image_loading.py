"""LoadImageChecked: mmcv's options honoured, damaged JPEGs found without touching the
process's stderr (thread-safe)."""
import os
import threading

import cv2
import numpy as np
import pytest
from mmseg.registry import TRANSFORMS

import mmseg_difnet  # noqa: F401  (registers LoadImageChecked)
from mmseg_difnet.datasets.load_image_checked import check_jpeg_scan, stored_pixels_flag


def _jpegs(tmp_path):
    g = np.random.default_rng(0)
    img = cv2.GaussianBlur(g.integers(0, 256, (120, 160, 3), dtype=np.uint8), (5, 5), 0)
    good = cv2.imencode('.jpg', img)[1].tobytes()
    bad = bytearray(good)
    sos, end = bad.find(b'\xff\xda'), bad.rfind(b'\xff\xd9')
    at, n = sos + 20 + (end - sos) // 3, int(0.4 * (end - sos))
    bad[at:at + n] = bytes(n)
    (tmp_path / 'good.jpg').write_bytes(good)
    (tmp_path / 'bad.jpg').write_bytes(bytes(bad))
    return str(tmp_path / 'good.jpg'), str(tmp_path / 'bad.jpg'), img


def test_damaged_jpegs_are_told_from_good_ones_in_threads_and_stderr_is_untouched(tmp_path):
    """Four threads decoding good and damaged JPEGs: every good one accepted, every damaged one
    refused, file descriptor 2 the same file throughout (the check used to point it at a
    temporary file around each decode)."""
    good, bad, _ = _jpegs(tmp_path)
    load = TRANSFORMS.build(dict(type='LoadImageChecked'))
    fd2 = os.fstat(2)
    verdicts, moved = [], []

    def work(k):
        for i in range(40):
            path = bad if (i + k) % 2 else good
            try:
                load({'img_path': path})
                verdicts.append((path, 'ok'))
            except ValueError as e:
                verdicts.append((path, 'damaged' if 'is damaged' in str(e) else str(e)))
            st = os.fstat(2)
            if (st.st_dev, st.st_ino) != (fd2.st_dev, fd2.st_ino):
                moved.append(i)

    threads = [threading.Thread(target=work, args=(k, )) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert moved == []
    assert sorted(set(verdicts)) == sorted({(good, 'ok'), (bad, 'damaged')})
    assert len(verdicts) == 160


def test_jpeg_variants_a_strict_decoder_cannot_read_pass_to_opencv():
    import io

    from PIL import Image
    img = np.full((32, 40, 3), 128, np.uint8)
    for mode, kw in (('CMYK', {}), ('RGB', dict(progressive=True)), ('L', {})):
        b = io.BytesIO()
        Image.fromarray(img).convert(mode).save(b, 'JPEG', **kw)
        check_jpeg_scan(b.getvalue(), f'{mode}.jpg')  # no error


def test_mmcv_options_are_honoured(tmp_path):
    good, bad, img = _jpegs(tmp_path)
    missing = str(tmp_path / 'missing.jpg')
    # ignore_empty: what cannot be read or decoded gives None, as mmcv's
    skip = TRANSFORMS.build(dict(type='LoadImageChecked', ignore_empty=True))
    (tmp_path / 'empty.jpg').write_bytes(b'')
    (tmp_path / 'junk.jpg').write_bytes(b'not an image at all')
    for path in (missing, bad, str(tmp_path / 'empty.jpg'), str(tmp_path / 'junk.jpg')):
        assert skip({'img_path': path}) is None, path
    assert skip({'img_path': good})['img'].shape == (120, 160, 3)
    strict = TRANSFORMS.build(dict(type='LoadImageChecked'))
    with pytest.raises(FileNotFoundError):
        strict({'img_path': missing})
    # file_client_args (mmcv's deprecated option): the backend it names reads the file
    with pytest.warns(DeprecationWarning):
        fc = TRANSFORMS.build(dict(type='LoadImageChecked',
                                   file_client_args=dict(backend='disk')))
    np.testing.assert_array_equal(fc({'img_path': good})['img'],
                                  strict({'img_path': good})['img'])
    # another decoding backend: pillow takes the stored-pixels flag, turbojpeg the plain one
    pil = TRANSFORMS.build(dict(type='LoadImageChecked', imdecode_backend='pillow'))
    assert pil({'img_path': good})['img'].shape == (120, 160, 3)
    assert stored_pixels_flag('color', 'pillow') == 'color_ignore_orientation'
    assert stored_pixels_flag('color', 'turbojpeg') == 'color'
    assert stored_pixels_flag('grayscale', 'cv2') == 'grayscale_ignore_orientation'
    out = TRANSFORMS.build(dict(type='LoadImageChecked', to_float32=True,
                                color_type='grayscale'))({'img_path': good})
    assert out['img'].dtype == np.float32 and out['img'].shape == (120, 160)
