"""moto's S3 server: the second, independent S3 implementation the storage
tests run against.

    python moto_s3.py

What `moto_server` serves, on a port of its own choosing on 127.0.0.1. It
prints `agora-peer-port PORT` on stdout once the socket listens, so a test
never hands it a port that something else may take first.
"""
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

server = make_server("127.0.0.1", 0, DomainDispatcherApplication(create_backend_app), threaded=True)
print("agora-peer-port", server.server_port, flush=True)
server.serve_forever()
