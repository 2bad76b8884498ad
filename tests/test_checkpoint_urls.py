"""A checkpoint fetched by URL is read as a local file is: weights-only and verified. mmengine's
own http(s) loader unpickles with weights_only=False (torch.hub.load_state_dict_from_url), so
a URL could run code through load_from or a pretrained init_cfg."""
import functools
import http.server
import threading

import pytest
import torch
from helpers import Payload

from mmseg_difnet.checkpoint import checked_loading


@pytest.fixture
def server(tmp_path, monkeypatch):
    """A local HTTP server over tmp_path/www; torch's hub cache in tmp_path/hub."""
    www = tmp_path / 'www'
    www.mkdir()
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'hub'))
    torch.hub.set_dir(str(tmp_path / 'hub'))
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(www))
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield www, f'http://127.0.0.1:{httpd.server_address[1]}'
    httpd.shutdown()


def test_a_url_checkpoint_that_would_run_code_is_refused(server, tmp_path):
    from mmengine.runner.checkpoint import _load_checkpoint
    www, url = server
    marker = tmp_path / 'code_ran'
    torch.save({'state_dict': {}, 'meta': Payload(marker)}, www / 'evil.pth')
    with checked_loading(), pytest.raises(Exception, match='Weights only load failed'):
        _load_checkpoint(f'{url}/evil.pth', map_location='cpu')
    assert not marker.exists(), 'the payload ran'


def test_a_url_checkpoint_of_mmengine_loads_and_is_verified(server):
    from mmengine.logging import HistoryBuffer
    from mmengine.runner.checkpoint import _load_checkpoint
    www, url = server
    buf = HistoryBuffer()
    buf.update(2.0)
    torch.save({'state_dict': {'w': torch.arange(3.)}, 'meta': {},
                'message_hub': {'log_scalars': {'loss': buf}}}, www / 'ok.pth')
    with checked_loading():
        ckpt = _load_checkpoint(f'{url}/ok.pth', map_location='cpu')
    assert ckpt['state_dict']['w'].tolist() == [0., 1., 2.]
    assert ckpt['message_hub']['log_scalars']['loss'].current() == 2.0
    (www / 'ok.pth.sha256').write_text('0' * 64)  # not fetched: the cached file is read
    with checked_loading(), pytest.raises(RuntimeError, match='cannot fetch the checkpoint'):
        _load_checkpoint(f'{url}/missing.pth', map_location='cpu')


def test_pretrained_weights_that_cannot_be_fetched_name_the_fix():
    from mmengine.runner.checkpoint import CheckpointLoader
    with checked_loading(), pytest.raises(
            RuntimeError, match=r"cannot fetch the pretrained weights "
            r"'torchvision://no_such_net' .* point the config at the file, .*"
            r'model.backbone.init_cfg.checkpoint=/path/to/file.pth'):
        CheckpointLoader.load_checkpoint('torchvision://no_such_net')
