from .config_check_hook import ConfigCheckHook
from .invalid_loss_hook import StopOnInvalidLossHook

__all__ = ['ConfigCheckHook', 'StopOnInvalidLossHook']
