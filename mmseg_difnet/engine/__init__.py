from .config_check_hook import ConfigCheckHook
from .invalid_loss_hook import StopOnInvalidLossHook
from .runner import DifNetRunner, SafeCheckpointHook
from .save_on_signal_hook import SaveOnSignalHook
from .sync_buffers_hook import SyncBuffersFromRank0Hook
from .walk_diagnostics_hook import WalkDiagnosticsHook

__all__ = ['ConfigCheckHook', 'DifNetRunner', 'SafeCheckpointHook', 'SaveOnSignalHook',
           'StopOnInvalidLossHook',
           'SyncBuffersFromRank0Hook', 'WalkDiagnosticsHook']
