from .config_check_hook import ConfigCheckHook
from .invalid_loss_hook import StopOnInvalidLossHook
from .runner import DifNetRunner, SafeCheckpointHook
from .sync_buffers_hook import SyncBuffersFromRank0Hook

__all__ = ['ConfigCheckHook', 'DifNetRunner', 'SafeCheckpointHook', 'StopOnInvalidLossHook',
           'SyncBuffersFromRank0Hook']
