"""The layout's import rules (docs/architecture.md, "Where things live"), read from the source:
which sub-package of mmseg_difnet may import which, and tools/ as scripts over the package."""
import ast
import glob
import os.path as osp

from helpers import ROOT

PKG = osp.join(ROOT, 'mmseg_difnet')
# who may import whom, below to above: a sub-package imports only those named here
ALLOWED = {
    'utils': set(),
    'checkpoint': set(),  # below both models/ and engine/: it knows neither
    'datasets': {'utils'},
    'models': {'checkpoint', 'utils'},
    'evaluation': {'models', 'utils'},
    'deployment': {'checkpoint', 'models', 'utils'},
    'visualization': {'checkpoint', 'datasets', 'models', 'utils'},
    'diagnostics': {'models', 'utils'},  # research instrumentation, apart from run safety
    'engine': {'checkpoint', 'datasets', 'utils'},  # run safety: no model code
}


def _imported_modules(path: str):
    """(line, dotted module) of every import in the file, relative ones resolved."""
    rel = osp.relpath(path, ROOT)[:-3].split(osp.sep)
    package = rel[:-1]  # a module's own package (an __init__'s too)
    for node in ast.walk(ast.parse(open(path).read(), path)):
        if isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = base + (node.module.split('.') if node.module else [])
            yield node.lineno, '.'.join(module)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def test_each_sub_package_imports_only_those_below_it():
    bad = []
    for path in sorted(glob.glob(osp.join(PKG, '*', '*.py'))):
        sub = osp.basename(osp.dirname(path))
        assert sub in ALLOWED, f'{sub}/ is not in the layout of docs/architecture.md'
        for line, module in _imported_modules(path):
            parts = module.split('.')
            if parts[0] == 'mmseg_difnet' and len(parts) > 1 and parts[1] != sub \
                    and parts[1] not in ALLOWED[sub]:
                bad.append(f'{osp.relpath(path, ROOT)}:{line} imports {module}')
    assert not bad, 'imports against the layout: ' + '; '.join(bad)
    assert 'engine' not in ALLOWED['models'] and not ALLOWED['checkpoint'] & {'models', 'engine'}


def test_the_rule_sees_a_relative_import(tmp_path):
    """The check resolves ``from ..engine import x`` inside models/ to mmseg_difnet.engine."""
    fake = tmp_path / 'mmseg_difnet' / 'models' / 'x.py'
    fake.parent.mkdir(parents=True)
    fake.write_text('from ..engine.runner import DifNetRunner\nfrom .norms import y\n')
    import test_import_rules as rules
    old, rules.ROOT = rules.ROOT, str(tmp_path)
    try:
        assert [m for _, m in rules._imported_modules(str(fake))] == [
            'mmseg_difnet.engine.runner', 'mmseg_difnet.models.norms']
    finally:
        rules.ROOT = old


def tool_violations(tools, names, helpers=()):
    """What breaks the tools' rule in the files ``tools``, where ``names`` are the tools'
    module names and ``helpers`` the folders of the helper packages (a folder of tools/ with
    an ``__init__.py``): a file may import the helper package of its own folder, and a
    helper's modules each other."""
    bad = []
    for path in tools:
        where = osp.relpath(path, ROOT)
        folder = osp.dirname(path)
        own = {osp.basename(h) for h in helpers if osp.dirname(h) == folder or h == folder}
        inside = next((h for h in helpers if folder == h), None)
        for line, module in _imported_modules(path):
            top = module.split('.')[0]
            if top in own or (inside and module.startswith(
                    osp.relpath(inside, ROOT).replace(osp.sep, '.'))):
                continue
            if top == 'tools' or top in names:
                bad.append(f'{where}:{line} imports the tool {module}')
        for node in ast.walk(ast.parse(open(path).read(), path)):
            if isinstance(node, ast.Attribute) and node.attr == 'path' and \
                    isinstance(node.value, ast.Name) and node.value.id == 'sys':
                bad.append(f'{where}:{node.lineno} uses sys.path')
            if isinstance(node, ast.Constant) and node.value == '-c':
                bad.append(f'{where}:{node.lineno} runs code from a string (-c)')
    return bad


def test_tools_are_scripts(tmp_path):
    """No file under tools/ imports another tool (shared code lives in the package, or in the
    helper package of the tools' folder), edits sys.path, or runs code kept in a string
    (``python -c``); a file that does is named."""
    files = sorted(glob.glob(osp.join(ROOT, 'tools', '**', '*.py'), recursive=True))
    helpers = sorted(osp.dirname(p) for p in files if osp.basename(p) == '__init__.py')
    assert {osp.basename(h) for h in helpers} == {'cost_lib', 'study_lib', 'parity_lib'}
    names = {osp.splitext(osp.basename(p))[0] for p in files
             if not any(osp.dirname(p) == h for h in helpers)}
    assert len(files) > 20 and not tool_violations(files, names, helpers), '; '.join(
        tool_violations(files, names, helpers))
    fake = tmp_path / 'table.py'
    fake.write_text('import sys\nsys.path.insert(0, ".")\nfrom benchmark import gflops\n'
                    'import subprocess\nsubprocess.run([sys.executable, "-c", "1"])\n')
    assert [b.split(' ', 1)[1] for b in tool_violations([str(fake)], names)] == [
        'imports the tool benchmark', 'uses sys.path', 'runs code from a string (-c)']
