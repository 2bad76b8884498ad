from .checked_loading_hook import CheckedLoadingHook
from .config_check_hook import ConfigCheckHook
from .invalid_loss_hook import StopOnInvalidLossHook
from .runner import DifNetRunner
from .save_on_signal_hook import SaveOnSignalHook
from .sync_buffers_hook import SyncBuffersFromRank0Hook

__all__ = ['CheckedLoadingHook', 'ConfigCheckHook', 'DifNetRunner', 'SaveOnSignalHook',
           'StopOnInvalidLossHook', 'SyncBuffersFromRank0Hook']
