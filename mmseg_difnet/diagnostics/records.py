# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""The records of :class:`WalkDiagnosticsHook`: their file, the parameter groups they are
kept by, and reading, tabulating and plotting them; ``tools/analysis_tools/walk_diagnostics.py``
is the command."""
import json
import os.path as osp
from typing import List, Optional

RECORDS_FILE = 'walk_diagnostics.jsonl'  # in the run's work dir

# Parameter groups of a segmentor, first match wins: (group, test on the parameter's name).
GROUPS = (
    ('mu_beta', lambda n: n.endswith(('.mu_logit', '.beta_logit'))),
    ('Psi', lambda n: n.startswith('decode_head.walks.')),
    ('H', lambda n: n.startswith('decode_head.importance.')),
    ('seed_head', lambda n: n.startswith('decode_head.')),
    ('backbone', lambda n: n.startswith('backbone.')),
    ('similarity', lambda n: n.startswith('neck.')),
    ('auxiliary_head', lambda n: n.startswith('auxiliary_head.')),
)
GROUP_ORDER = (*(g for g, _ in GROUPS), 'other')


def parameter_group(name: str) -> str:
    """The diagnostics group of a parameter of a segmentor (``other`` if none)."""
    return next((g for g, test in GROUPS if test(name)), 'other')


def records_path(work_dir: str) -> str:
    return osp.join(work_dir, RECORDS_FILE)


def load_records(work_dir: str) -> List[dict]:
    """The records of a run, in order; a resumed run's records follow its first ones."""
    path = records_path(work_dir)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f'{path} does not exist: train with the diagnostics hook: tools/train.py CONFIG '
            '--diagnose 50 (or custom_hooks += [dict(type=\'WalkDiagnosticsHook\', '
            'interval=50)] in the config).')
    with open(path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    if not records:
        raise ValueError(f'{path} holds no record yet.')
    return records


def _fmt(v, spec='.2e') -> str:
    return '-' if v is None else format(v, spec)


def summary(records: List[dict]) -> str:
    """Text tables: per parameter group the gradient norm and relative update per iteration,
    at the first and last interval; per walk μ, β, the gradient reaching y_t and P_t's state
    at the start and the end."""
    first = next((r for r in records if r['steps']), records[0])
    last = records[-1]
    lines = [f"iterations {records[0]['iter']} .. {last['iter']}; loss "
             f"{_fmt(first.get('loss'), '.3f')} -> {_fmt(last.get('loss'), '.3f')}", '',
             'parameter group   params   grad norm (first / last)   update per iter '
             '(first / last)   ... / |param| (first / last)']

    def per_iter(r, g, key):
        v = r['groups'][g].get(key)
        return None if v is None or not r['steps'] else v / r['steps']
    for g in GROUP_ORDER:
        if g not in last['groups']:
            continue
        a, b = first['groups'][g], last['groups'][g]
        lines.append(f"{g:<16}{b['numel']:>9}   {_fmt(a['grad_rms']):>9} / "
                     f"{_fmt(b['grad_rms']):<9}   {_fmt(per_iter(first, g, 'update')):>9} / "
                     f"{_fmt(per_iter(last, g, 'update')):<9}   "
                     f"{_fmt(per_iter(first, g, 'update_rel')):>9} / "
                     f"{_fmt(per_iter(last, g, 'update_rel'))}")
    if 'mu' in last:
        start = records[0]
        lines += ['', 'walk   mu (start -> end)   beta (start -> end)   |dL/dy_t| (start / end)'
                  '   change |y_t - y_t-1|/|y_t-1|   P entropy/logN   P row max   '
                  'TV(P, P_start)   same-class mass (start -> end)']
        for t in range(len(last['mu'])):
            ps, pe = start['probe'], last['probe']
            name = f'y{t + 1}'
            lines.append(
                f"{t + 1:>4}   {start['mu'][t]:.3f} -> {last['mu'][t]:.3f}      "
                f"{start['beta'][t]:.3f} -> {last['beta'][t]:.3f}        "
                f"{_fmt(ps['grad_norm'][name])} / {_fmt(pe['grad_norm'][name])}      "
                f"{ps['walk_change'][t]:.3f} -> {pe['walk_change'][t]:.3f}           "
                f"{ps['P'][t]['entropy']:.3f} -> {pe['P'][t]['entropy']:.3f}   "
                f"{ps['P'][t]['row_max']:.3f} -> {pe['P'][t]['row_max']:.3f}   "
                f"{pe['P'][t].get('tv_from_start', 0):.3f}            "
                f"{_fmt(ps['P'][t].get('same_class'), '.3f')} -> "
                f"{_fmt(pe['P'][t].get('same_class'), '.3f')}")
        lines += ['', f"|dL/dx| {_fmt(start['probe']['grad_norm']['x'])} -> "
                  f"{_fmt(last['probe']['grad_norm']['x'])}; probe pixels whose argmax the "
                  f"diffusion changes: {start['probe']['argmax_changed']:.2%} -> "
                  f"{last['probe']['argmax_changed']:.2%}"]
    return '\n'.join(lines)


def plot(records: List[dict], path: str, title: Optional[str] = None) -> None:
    """A PNG: relative update per iteration by group (but μ, β); μ_t, β_t; the
    gradient norm reaching each y_t; P_t's entropy; P_t's same-class mass (the similarity
    score, dashed: its chance level), over the iterations."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    it = [r['iter'] for r in records]
    has_walks = 'mu' in records[-1]
    fig, axes = plt.subplots(1, 5 if has_walks else 1, figsize=(25 if has_walks else 6, 4.2))
    axes = list(axes) if has_walks else [axes]
    ax = axes[0]
    for g in GROUP_ORDER[1:]:  # μ, β logits start at 0: their values are panel 2
        pts = [(r['iter'], r['groups'][g]['update_rel'] / r['steps']) for r in records
               if g in r['groups'] and r['steps'] and r['groups'][g]['update_rel']]
        if pts:
            ax.plot(*zip(*pts), label=g, marker='.')
    ax.set(yscale='log', xlabel='iteration', title='update per iteration / |param|')
    ax.legend(fontsize=7)
    if has_walks:
        T = len(records[-1]['mu'])
        for t in range(T):
            axes[1].plot(it, [r['mu'][t] for r in records], label=f'μ{t + 1}')
            axes[1].plot(it, [r['beta'][t] for r in records], '--', label=f'β{t + 1}')
        axes[1].set(xlabel='iteration', title='μ_t, β_t')
        axes[1].legend(fontsize=6, ncol=2)
        def grad(r, name):  # 0 cannot be drawn on a log axis
            return r['probe']['grad_norm'][name] or float('nan')
        for t in range(T):
            axes[2].plot(it, [grad(r, f'y{t + 1}') for r in records], label=f'y{t + 1}')
        axes[2].plot(it, [grad(r, 'x') for r in records], 'k--', label='x')
        axes[2].set(yscale='log', xlabel='iteration', title='|∂L/∂y_t| on the probe frames')
        axes[2].legend(fontsize=7)
        for t in range(T):
            axes[3].plot(it, [r['probe']['P'][t]['entropy'] for r in records], label=f'P{t + 1}')
        axes[3].set(xlabel='iteration', title='row entropy of P_t / log N')
        axes[3].legend(fontsize=7)
        for t in range(T):
            line, = axes[4].plot(it, [r['probe']['P'][t].get('same_class', float('nan'))
                                      for r in records], label=f'P{t + 1}')
            axes[4].plot(it, [r['probe']['P'][t].get('chance', float('nan'))
                              for r in records], '--', color=line.get_color(), lw=0.8)
        axes[4].set(xlabel='iteration', ylim=(0, 1),
                    title='same-class mass of P_t (dashed: chance)')
        axes[4].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
