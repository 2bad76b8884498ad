"""What the parity tools of this folder share (parity_table.py, the deployment tests): the
sizes exported models are compared at, and a checkpoint with every BatchNorm away from its
initial values. Part of the repository, not of the installed package."""
import torch

from mmseg_difnet.deployment.build import build_for_export

PARITY_SIZES = [(96, 128), (100, 130), (90, 121)]  # multiples of 8, and not


def nonzero_bn_checkpoint(config: str, path: str, size=(96, 128)) -> str:
    """Write to ``path`` the config's model with every BN γ in U(0.5, 1.5), β in U(-0.2, 0.2)
    and running statistics from three training-mode passes (logits of a trained model's
    scale; mmseg's ResNet starts some γ at 0, which an exporter may fold away). The same
    weights on every run: the layers' own initialisation draws from torch's global generator,
    and so do dropout's draws in the passes: both seeded inside a fork of it (the caller's
    generator is left as it was)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        _, model = build_for_export(config, 'none', deploy=False)  # a training checkpoint
        g = torch.Generator().manual_seed(0)
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.weight.data = torch.rand(m.weight.shape, generator=g) + 0.5
                m.bias.data = (torch.rand(m.bias.shape, generator=g) - 0.5) * 0.4
                m.momentum = None  # a cumulative average over the passes
                m.reset_running_stats()
        model.train()
        with torch.no_grad():
            for _ in range(3):
                model((torch.rand(2, 3, *size, generator=g) * 255 - 120) / 58, mode='tensor')
        torch.save({'state_dict': model.eval().state_dict(), 'meta': {}}, path)
        return path
