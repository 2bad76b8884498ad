# Copyright (c) mmseg-difnet contributors. Licensed under the Apache License 2.0.
"""Output paths checked before the work they would receive: a tool that infers or exports for
seconds to minutes must not fail at the end on where it writes."""
import os
import os.path as osp


def output_dir_error(path: str, what: str) -> str:
    """Why ``path`` cannot be (or become) the folder ``what`` writes into, or ''."""
    if osp.islink(path) and not osp.exists(path):
        return (f'{what} {path!r} is a symbolic link to {os.readlink(path)!r}, which does not '
                'exist: remove the link or give another folder.')
    if osp.exists(path) and not osp.isdir(path):
        return f'{what} {path!r} is an existing file, not a folder: give a folder.'
    parent = path
    while not osp.exists(parent):  # the nearest existing folder must be writable
        parent = osp.dirname(parent) or '.'
    if not os.access(parent, os.W_OK | os.X_OK):
        return f'{what} {path!r} cannot be written ({parent!r} is not writable).'
    return ''


def output_file_error(path: str, what: str) -> str:
    """Why the file ``path`` cannot be written, or '': its folder must exist and be
    writable, and the path must not be a folder."""
    folder = osp.dirname(osp.abspath(path))
    if osp.isdir(path):
        return (f'{what} {path!r} is a folder: give a file name, e.g. '
                f'{osp.join(path, "model.onnx")!r}.')
    if not osp.isdir(folder):
        return (f'{what} {path!r}: the folder {folder!r} does not exist: create it first '
                f'(mkdir -p {folder}) or give another path.')
    if not os.access(folder, os.W_OK | os.X_OK):
        return f'{what} {path!r} cannot be written: the folder {folder!r} is not writable.'
    return ''
