# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
from contextlib import ExitStack

from mmengine.hooks import Hook
from mmseg.registry import HOOKS

from ..checkpoint import checked_loading


@HOOKS.register_module()
class CheckedLoadingHook(Hook):
    """The package's checkpoint loading (:func:`mmseg_difnet.checkpoint.checked_loading`:
    weights-only whatever the scheme, integrity verified) for one run of any Runner, from
    ``before_run`` (before the weights are initialised, loaded or resumed) to ``after_run``.

    The runtime base sets it in ``default_hooks`` (a config's ``custom_hooks`` do not drop
    it), so mmseg's own scripts (``mim test`` builds mmengine's plain ``Runner``) load this
    package's checkpoints as its tools do. A run that raises ends without ``after_run``:
    the loaders stay this package's until the process ends.
    """

    priority = 'HIGHEST'

    def __init__(self) -> None:
        self._stack = ExitStack()

    def before_run(self, runner) -> None:
        self._stack.enter_context(checked_loading())

    def after_run(self, runner) -> None:
        self._stack.close()
