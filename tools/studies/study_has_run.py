"""Exit 0 if a study's JSON keeps the run (finished in an earlier session), 1 if not: the study
scripts skip such a run (tools/studies/study_common.sh).

    python tools/studies/study_has_run.py STUDY.json ARM_seedN
"""
import argparse
import sys

from study_lib import has_run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('json', help="the study's JSON (benchmarks/<study>.json)")
    parser.add_argument('name', help='the run: <arm>_seed<N>')
    args = parser.parse_args(argv)
    return 0 if has_run(args.json, args.name) else 1


if __name__ == '__main__':
    sys.exit(main())
