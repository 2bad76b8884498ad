"""Why the walks learn (or not): summarise a run trained with WalkDiagnosticsHook.

    python tools/train.py CONFIG --diagnose 50      # or tools/train.sh CONFIG GPUS --diagnose 50
    python tools/analysis_tools/walk_diagnostics.py WORK_DIR [--png FILE] [--title TEXT]

Prints per parameter group the gradient norm and the update relative to the parameters, and
per walk μ_t, β_t, the gradient reaching y_t and the state of P_t; writes a figure
(default <work_dir>/walk_diagnostics.png).
"""
import argparse
import os.path as osp

from mmseg_difnet.diagnostics import load_records, plot, summary


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dir', help='work dir of a run trained with WalkDiagnosticsHook')
    parser.add_argument('--png', help='figure path (default <work_dir>/walk_diagnostics.png)')
    parser.add_argument('--title', help='figure title')
    args = parser.parse_args()
    records = load_records(args.work_dir)
    print(summary(records))
    png = args.png or osp.join(args.work_dir, 'walk_diagnostics.png')
    plot(records, png, args.title)
    print(f'figure: {png}')


if __name__ == '__main__':
    main()
