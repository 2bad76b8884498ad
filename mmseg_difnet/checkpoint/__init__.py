from .fit import (
                  CHECK_MODES,
                  FINE_TUNE_OPT_OUT,
                  CheckpointMisfit,
                  check_checkpoint_fits,
                  check_load,
                  check_state_fits,
                  classifier_keys,
                  load_fitting_checkpoint,
)
from .integrity import checkpoints_newest_first, newest_valid_checkpoint, verify_checkpoint
from .loading import checked_loading
from .publishing import publish_checkpoint
from .reading import read_checkpoint, state_dict_of, walk_params_from_checkpoint
from .safe_checkpoint_hook import SafeCheckpointHook
from .saving import checkpoint_bytes, remove_partial_saves, save_atomically
from .seed import load_seed_checkpoint, map_plain_checkpoint
from .weights_only import mmengine_checkpoint_globals

__all__ = ['CHECK_MODES', 'FINE_TUNE_OPT_OUT', 'CheckpointMisfit', 'SafeCheckpointHook',
           'checked_loading', 'check_checkpoint_fits', 'check_load', 'check_state_fits',
           'checkpoint_bytes', 'checkpoints_newest_first', 'classifier_keys',
           'load_fitting_checkpoint', 'mmengine_checkpoint_globals',
           'load_seed_checkpoint', 'map_plain_checkpoint', 'newest_valid_checkpoint',
           'publish_checkpoint',
           'read_checkpoint', 'remove_partial_saves', 'save_atomically', 'state_dict_of',
           'verify_checkpoint',
           'walk_params_from_checkpoint']
