# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Let torch's weights-only unpickler read mmengine's own checkpoints, and nothing more.

Since torch 2.6 ``torch.load`` is weights-only by default and refuses the ``meta`` that
mmengine 0.10 writes: its message hub pickles ``HistoryBuffer`` objects (numpy arrays, and
``getattr(HistoryBuffer, 'min')``-style references to their statistics methods). So
``init_model``, ``mim test --checkpoint``, ``load_from`` and ``--resume`` fail on mmengine's
checkpoints. Switching weights-only off (``weights_only=False``,
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD``) would let any checkpoint run code. Instead, where this
package loads (:func:`.loading.checked_loading`), torch's allowlist holds exactly what those
checkpoints hold: the ``HistoryBuffer`` class, numpy array reconstruction, and a ``getattr``
that only resolves the statistics methods of ``HistoryBuffer`` and refuses everything else.
"""
import pickle

import numpy as np
from mmengine.logging.history_buffer import HistoryBuffer


def _history_buffer_getattr(obj, name):
    """``builtins.getattr`` as the unpickler sees it: only ``HistoryBuffer.<statistic>``."""
    if obj is HistoryBuffer and isinstance(name, str) and \
            name in HistoryBuffer._statistics_methods:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refused getattr({obj!r}, {name!r}) in a checkpoint: only the statistics methods '
        "of mmengine's HistoryBuffer may be looked up. The file is not a plain mmengine "
        'checkpoint; load it only if you trust its source.')


def _numpy_globals():
    multiarray = np.core.multiarray
    dtypes = [type(np.dtype(t)) for t in ('b', 'u1', 'i1', 'i2', 'i4', 'i8', 'f2', 'f4',
                                          'f8', 'u2', 'u4', 'u8', '?')]
    return [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype, *dtypes]


def mmengine_checkpoint_globals() -> list:
    """What mmengine's checkpoints hold, for torch's weights-only allowlist
    (``torch.serialization.safe_globals``)."""
    HistoryBuffer()  # it sets its statistics methods when first instantiated
    return [HistoryBuffer, *_numpy_globals(), (_history_buffer_getattr, 'builtins.getattr')]
