"""Merge the JSON of each tools/misc/gpu_check.sh step into OUT/gpu_check.json, and write
OUT/gpu_check.md: the tables and the GPU targets, each met or missed by how much.

    python tools/analysis_tools/gpu_report.py PARTS_DIR OUT_DIR

Targets, side by side in one run (the paper's numbers in brackets): DifNet-50 inference at
most 1.0× DeepLabV2-101's with concurrent branches (1.08× without); the diffusion at most 10%
of DifNet-50's inference (15%); a training step at most 1.3×; training peak memory at most
1.2×.
"""
import glob
import json
import os.path as osp
import sys

from cost_lib.report import markdown

TARGETS = (  # (name, what, limit)
    ('inference, concurrent branches', 'inference ratio DifNet-50 / DeepLabV2-101', 1.0),
    ('diffusion share', "the diffusion's share of DifNet-50 inference", 0.10),
    ('training step', 'training-step ratio DifNet-50 / DeepLabV2-101', 1.3),
    ('training peak memory', 'training peak-memory ratio DifNet-50 / DeepLabV2-101', 1.2),
)


def measured(parts: dict) -> dict:
    """The value behind each target, where its step ran (fp32 runs)."""
    out = {}
    conc = parts.get('table4_fp32_concurrent', {})
    plain = parts.get('table4_fp32', {})
    if 'inference' in conc:
        out['inference, concurrent branches'] = conc['inference']['ratio']['median']
    if 'inference' in plain:
        out['diffusion share'] = plain['inference']['diffusion_share']
    train = plain.get('train_step')
    if train:
        out['training step'] = train['ratio']['median']
        if 'peak_gib' in train:
            peak = train['peak_gib']
            out['training peak memory'] = peak['difnet50'] / peak['deeplabv2_101']
    return out


def main(parts_dir: str, out_dir: str) -> None:
    parts = {osp.splitext(osp.basename(p))[0]: json.load(open(p))
             for p in sorted(glob.glob(osp.join(parts_dir, '*.json')))}
    values = measured(parts)
    targets = [dict(name=n, what=w, limit=lim, value=values.get(n),
                    met=None if n not in values else values[n] <= lim)
               for n, w, lim in TARGETS]
    with open(osp.join(out_dir, 'gpu_check.json'), 'w') as f:
        json.dump(dict(parts=parts, targets=targets), f, indent=2)
    lines = ['## GPU targets', '', '| target | measured | limit | met |', '|---|---:|---:|---|']
    for t in targets:
        v = '-' if t['value'] is None else f"{t['value']:.3f}"
        met = ('not measured' if t['met'] is None else 'yes' if t['met'] else
               f"no, by {t['value'] / t['limit'] - 1:+.0%}")
        lines.append(f"| {t['what']} | {v} | {t['limit']:g} | {met} |")
    for name, part in parts.items():
        if name == 'parity':
            lines += ['', f"## Fused vs dense P·y ({part['device']})", '',
                      '| dtype | N | value | grad Ψ | grad y | tolerance | passed | SDPA ops |',
                      '|---|---:|---:|---:|---:|---:|---|---|']
            for c in part['cases']:
                e = c['relative_error']
                lines.append(f"| {c['dtype']} | {c['N']} | {e['value']:.1e} | "
                             f"{e['grad_psi']:.1e} | {e['grad_y']:.1e} | {c['tolerance']:g} | "
                             f"{c['passed']} | {', '.join(c['sdpa_ops'])} |")
        else:
            lines += ['', f'## {name}', '', markdown(part)]
    with open(osp.join(out_dir, 'gpu_check.md'), 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main(*sys.argv[1:3])
