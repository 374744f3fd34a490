"""``--qdrant-url``: the real Qdrant client speaking HTTP to loopback servers that are not Qdrant.

No Qdrant server can be installed here (it is not on PyPI, Debian or npm), so the success path of a server
URL is not tested; these tests check that the URL path really goes over HTTP and that a wrong or dead URL
is one error line with exit status 2, not a traceback.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from genforge.cli.main import main


class NotQdrant(BaseHTTPRequestHandler):
    paths: list[str] = []

    def do_GET(self) -> None:
        NotQdrant.paths.append(self.path)
        body = b'{"detail": "Not Found"}'
        self.send_response(404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.md").write_text("# Servers\n\nQdrant keeps vectors on a server for large stores.\n")
    return folder


def test_an_http_server_that_is_not_qdrant_is_a_one_line_error(tmp_path, docs, capsys):
    server = ThreadingHTTPServer(("127.0.0.1", 0), NotQdrant)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        code = main(["rag", "index", str(docs), "--store", str(tmp_path / "s"), "--backend", "qdrant",
                     "--qdrant-url", url])  # fmt: skip
    finally:
        server.shutdown()
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err.startswith(f"error: the Qdrant server at {url} answered HTTP 404")
    assert any(path.startswith("/collections/genforge") for path in NotQdrant.paths)


def test_a_dead_qdrant_url_is_a_one_line_error(tmp_path, docs, capsys):
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = main(["rag", "index", str(docs), "--store", str(tmp_path / "s"), "--backend", "qdrant",
                 "--qdrant-url", f"http://127.0.0.1:{port}"])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert err.startswith(f"error: cannot reach the Qdrant server at http://127.0.0.1:{port}")
