"""The walk learns: a regression test of the mechanism, not of an equation.

A toy task where the seed is sparse and noisy and the image's regions carry the labels:
random Voronoi regions, each of one class and one random colour (colour says nothing about
the class), a seed that knows the class at a few pixels per region and is wrong or silent
elsewhere. A tiny similarity network and three walks are trained on the final output only;
diffusing the seed along colour similarity must make it markedly more accurate, and μ must
move. A change (init, fused path, dtype) that keeps the equation tests green but stops the
walk from learning fails here.
"""
import torch
import torch.nn as nn
from mmseg.registry import MODELS

import mmseg_difnet  # noqa: F401  (registers RandomWalk)

K, S = 4, 16  # classes, image side (= diffusion grid: N = 256)


def toy_batch(g, B=8, regions=6):
    ys, xs = torch.meshgrid(torch.arange(S), torch.arange(S), indexing='ij')
    centres = torch.randint(0, S, (B, regions, 2), generator=g)
    d = (ys[None, None] - centres[..., 0, None, None]) ** 2 + \
        (xs[None, None] - centres[..., 1, None, None]) ** 2  # (B, R, S, S)
    region = d.argmin(1)  # (B, S, S)
    cls = torch.randint(0, K, (B, regions), generator=g)
    colour = torch.rand(B, regions, 3, generator=g)
    label = torch.gather(cls, 1, region.flatten(1)).view(B, S, S)
    image = torch.stack([torch.gather(colour[..., c], 1, region.flatten(1)).view(B, S, S)
                         for c in range(3)], 1)
    image = image + 0.03 * torch.randn(image.shape, generator=g)
    seed = torch.zeros(B, K, S, S)
    known = torch.rand(B, S, S, generator=g) < 0.08  # 8% of the pixels know their class
    seed.scatter_(1, label[:, None], known[:, None].float())
    wrong = torch.rand(B, S, S, generator=g) < 0.03  # and 3% are confidently wrong
    noise_cls = torch.randint(0, K, (B, S, S), generator=g)
    seed += 0.8 * wrong[:, None] * nn.functional.one_hot(noise_cls, K).permute(0, 3, 1, 2)
    return image, seed, label


def accuracy(scores, label):
    return (scores.argmax(1) == label).float().mean().item()


def test_walks_learn_to_diffuse_a_sparse_seed():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    sim = nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 16, 1))
    walks = nn.ModuleList(MODELS.build(dict(type='RandomWalk', in_channels=16))
                          for _ in range(3))
    params = [*sim.parameters(), *walks.parameters()]
    opt = torch.optim.Adam(params, lr=1e-2)
    for _ in range(120):
        image, seed, label = toy_batch(g)
        f, y = sim(image), seed
        for walk in walks:
            y = walk(f, y, seed)
        loss = nn.functional.cross_entropy(y * 5, label)  # logits: y is a probability-like map
        opt.zero_grad()
        loss.backward()
        opt.step()
    walks.eval()
    image, seed, label = toy_batch(torch.Generator().manual_seed(123), B=32)
    with torch.no_grad():
        f, y = sim(image), seed
        for walk in walks:
            y = walk(f, y, seed)
    seed_acc, out_acc = accuracy(seed, label), accuracy(y, label)
    mus = [w.mu.item() for w in walks]
    print(f'seed accuracy {seed_acc:.3f}, diffused {out_acc:.3f}, mu {mus}')
    assert out_acc > seed_acc + 0.25, (seed_acc, out_acc)
    assert max(abs(m - 0.5) for m in mus) > 0.05, mus
