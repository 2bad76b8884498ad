"""The README and docs/ stay true to the tree: every tools/ and configs/ path they name exists,
and every pointer of the code, configs and tools to a README section (README, "Use")
names a heading the README has."""
import glob
import os.path as osp
import re
import subprocess

from helpers import ROOT

PATH = re.compile(r'(?<![\w/.-])((?:tools|configs)/[\w./{},-]+\.(?:py|sh|yaml))')
SECTION = re.compile(r'README(?:\.md)?(?:\'s|,)\s+\\?"([^"\\]+)\\?"')


def expand(path):
    """configs/difnet/difnet_r{18,34}_voc.py -> both names."""
    m = re.search(r'\{([^{}]+)\}', path)
    if not m:
        return [path]
    return [q for part in m[1].split(',')
            for q in expand(path[:m.start()] + part + path[m.end():])]


def documents():
    return [osp.join(ROOT, 'README.md')] + sorted(glob.glob(osp.join(ROOT, 'docs', '**', '*.md'),
                                                             recursive=True))


def test_every_tool_and_config_the_documents_name_exists():
    missing = []
    for doc in documents():
        for m in PATH.finditer(open(doc).read()):
            for p in expand(m[1].rstrip('.,')):
                if '*' not in p and not osp.exists(osp.join(ROOT, p)):
                    missing.append(f'{osp.relpath(doc, ROOT)}: {p}')
    assert not missing, missing


def test_every_pointer_to_a_readme_section_names_a_heading():
    headings, fenced = [], False
    for line in open(osp.join(ROOT, 'README.md')):
        fenced ^= line.startswith('```')
        if line.startswith('#') and not fenced:
            headings.append(re.sub(r'^#+\s*', '', line).strip())
    files = subprocess.run(['git', 'ls-files', 'mmseg_difnet', 'tools', 'configs', 'tests',
                            'Makefile'], cwd=ROOT, capture_output=True, text=True).stdout.split()
    bad = []
    for f in files:
        if not f.endswith(('.py', '.sh', '.yaml', 'Makefile')):
            continue
        text = ' '.join(open(osp.join(ROOT, f)).read().split())  # one line: quotes may wrap
        text = re.sub(r"""['"] ['"]""", '', text)  # Python's implicit string concatenation
        text = re.sub(r' # ', ' ', text)  # a comment wrapped over lines
        for m in SECTION.finditer(text):
            if not any(h.startswith(m[1].strip()) for h in headings):
                bad.append(f'{f}: {m[1]!r}')
    assert not bad, bad


DOC = re.compile(r'(?<![\w/.-])(docs/[\w./-]+\.(?:md|png))')


def test_every_document_the_code_and_the_documents_point_to_exists():
    files = subprocess.run(['git', 'ls-files', 'mmseg_difnet', 'tools', 'configs', 'tests',
                            'Makefile', 'README.md', 'docs'], cwd=ROOT, capture_output=True,
                           text=True).stdout.split()
    missing = []
    for f in files:
        if not f.endswith(('.py', '.sh', '.yaml', '.md', 'Makefile')):
            continue
        for m in DOC.finditer(open(osp.join(ROOT, f)).read()):
            if not osp.exists(osp.join(ROOT, m[1].rstrip('.'))):
                missing.append(f'{f}: {m[1]}')
    assert not missing, missing
