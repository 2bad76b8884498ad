"""The fused P·y against the dense one, values and gradients, per dtype, and which SDPA kernel
the fused path runs (tools/misc/gpu_check.sh runs it on a GPU; any device works).

    python tools/analysis_tools/fused_parity.py [--device cuda] [--N 4096] [--out parity.json]

The reference is the dense path in float64 (float32 on devices without it); each dtype's
fused result is compared with it, against a tolerance fixed per dtype: 1e-4 for float32 and
3e-2 for bfloat16 (8 bits of mantissa), relative to the reference's largest magnitude.

Also P·y with y at its own width (the classes rounded up to 8) instead of padded to
Ψ's: whether a fused kernel takes a value width unlike the query width on this device (on
CUDA the memory-efficient one may; PyTorch's CPU flash kernel does not), its error, and its
time against the padded path's, forward and forward + backward.
"""
import argparse
import json
import sys

import torch
from cost_lib import timed

from mmseg_difnet.models.propagation import dense_propagate, fused_propagate

TOLERANCE = dict(float32=1e-4, bfloat16=3e-2)


def sdpa_ops(psi: torch.Tensor, y: torch.Tensor) -> list:
    """The aten SDPA ops (flash, efficient, math...) one fused call runs."""
    from torch.profiler import profile
    with profile() as prof:
        fused_propagate(psi, y)
    return sorted({e.key for e in prof.key_averages()
                   if 'scaled_dot_product' in e.key or 'flash' in e.key or 'efficient' in e.key})


def case(device: str, dtype: torch.dtype, B: int, N: int, d: int, K: int) -> dict:
    g = torch.Generator().manual_seed(0)
    psi64 = 0.3 * torch.randn(B, N, d, generator=g, dtype=torch.float64)
    y64 = torch.randn(B, N, K, generator=g, dtype=torch.float64)
    w = torch.randn(B, N, K, generator=g, dtype=torch.float64)  # a loss Σ w·(P y)
    ref_dtype = torch.float64 if device == 'cpu' else torch.float32
    ref = [t.to(device, ref_dtype).clone().requires_grad_() for t in (psi64, y64)]
    out_ref = dense_propagate(*ref)
    (out_ref * w.to(device, ref_dtype)).sum().backward()
    mine = [t.to(device, dtype).clone().requires_grad_() for t in (psi64, y64)]
    out = fused_propagate(*mine)
    (out.float() * w.to(device, torch.float32)).sum().backward()

    def rel(a, b):
        return float((a.double() - b.double()).abs().max() / b.double().abs().max())
    errors = dict(value=rel(out.detach(), out_ref.detach()),
                  grad_psi=rel(mine[0].grad, ref[0].grad), grad_y=rel(mine[1].grad, ref[1].grad))
    name = str(dtype).replace('torch.', '')
    tol = TOLERANCE[name]
    return dict(dtype=name, B=B, N=N, d=d, K=K, relative_error=errors, tolerance=tol,
                passed=all(e <= tol for e in errors.values()),
                sdpa_ops=sdpa_ops(mine[0].detach(), mine[1].detach()))


def _time(fn, device: str, repeats: int = 10) -> float:
    fn()  # warm-up
    return timed(fn, torch.device(device), repeats)


def narrow_value(device: str, B: int = 2, N: int = 4096, d: int = 64, K: int = 21) -> dict:
    """P·y with V at width 8·ceil(K/8) through the fused kernels (no math fallback) against
    the padded path (:func:`fused_propagate`): runs?, error, times."""
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel
    g = torch.Generator().manual_seed(0)
    psi = (0.3 * torch.randn(B, N, d, generator=g)).to(device).requires_grad_()
    y = torch.randn(B, N, K, generator=g).to(device).requires_grad_()
    kv = 8 * -(-K // 8)

    def narrow():
        v = F.pad(y, (0, kv - K)).unsqueeze(1)
        q = psi.unsqueeze(1)
        with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION]):
            return F.scaled_dot_product_attention(q, q, v, scale=1.0)[:, 0, :, :K]
    res = dict(device=device, B=B, N=N, d=d, K=K, value_width=kv)
    try:
        out = narrow()
    except RuntimeError as e:
        return dict(res, runs=False, reason=str(e).splitlines()[0][:200])
    ref = dense_propagate(psi.double(), y.double())
    res.update(runs=True, relative_error=float((out.double() - ref).abs().max()
                                               / ref.abs().max()))
    w = torch.randn_like(out)
    for name, fn in (('narrow', narrow), ('padded', lambda: fused_propagate(psi, y))):
        with torch.no_grad():
            res[f'{name}_fwd_s'] = _time(fn, device)
        res[f'{name}_fwd_bwd_s'] = _time(
            lambda fn=fn: torch.autograd.grad((fn() * w).sum(), (psi, y)), device)
    return res


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--N', type=int, default=4096, help='nodes (e.g. a 64×64 grid)')
    parser.add_argument('--out', help='JSON output')
    args = parser.parse_args(argv)
    rows = [case(args.device, dt, 2, args.N, 64, 21) for dt in (torch.float32, torch.bfloat16)]
    for r in rows:
        e = r['relative_error']
        print(f"{args.device} {r['dtype']:8s} N={r['N']}: value {e['value']:.1e}, grad Ψ "
              f"{e['grad_psi']:.1e}, grad y {e['grad_y']:.1e} (tolerance {r['tolerance']:g}): "
              f"{'pass' if r['passed'] else 'FAIL'}; kernels {', '.join(r['sdpa_ops'])}")
    nv = narrow_value(args.device, N=args.N)
    if nv['runs']:
        print(f"{args.device} P·y with y at width {nv['value_width']} (not padded to 64): error "
              f"{nv['relative_error']:.1e}; forward {nv['narrow_fwd_s'] * 1e3:.2f} ms vs padded "
              f"{nv['padded_fwd_s'] * 1e3:.2f} ms, forward + backward "
              f"{nv['narrow_fwd_bwd_s'] * 1e3:.2f} vs {nv['padded_fwd_bwd_s'] * 1e3:.2f} ms")
    else:
        print(f"{args.device}: no fused kernel takes y at width {nv['value_width']} beside Ψ's "
              f"64: {nv['reason']}")
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(device=args.device, cases=rows, narrow_value=nv), f, indent=2)
    return 0 if all(r['passed'] for r in rows) else 1


if __name__ == '__main__':
    sys.exit(main())
