"""A small Flask service monitored by flask-monitoringdashboard: the remote
peer Agora's monitoring tests add as a source and fetch from.

    python peer_app.py DATABASE_FILE

Routes: /hello (fast), /slow (about 20 ms), /fail (answers 500). The
dashboard is at /dashboard with user `admin`, password `PEER_PASSWORD`
(default `peer-pass`) and security token `PEER_TOKEN` (default
`peer-token-0123456789`). It listens on a port of its own choosing on
127.0.0.1 and prints `agora-peer-port PORT` on stdout once the socket
listens, so a test never hands it a port that something else may take first.
"""
import collections
import collections.abc
import os
import sys
import time

# flask-monitoringdashboard 2.0.x (through its plotly 2.7) imports ABCs from
# `collections`, which Python 3.10 removed: alias them back.
for _name in ("Mapping", "MutableMapping", "Sequence", "MutableSequence", "Iterable", "Callable", "Set", "MutableSet"):
    if not hasattr(collections, _name):
        setattr(collections, _name, getattr(collections.abc, _name))

import flask
import flask_monitoringdashboard as dashboard

database = sys.argv[1]
app = flask.Flask(__name__)


@app.route("/hello")
def hello():
    return "hello"


@app.route("/slow")
def slow():
    time.sleep(0.02)
    return "slow"


@app.route("/fail")
def fail():
    return "failed on purpose", 500


dashboard.config.database_name = "sqlite:///" + database
dashboard.config.username = "admin"
dashboard.config.password = os.environ.get("PEER_PASSWORD", "peer-pass")
dashboard.config.security_token = os.environ.get("PEER_TOKEN", "peer-token-0123456789")
dashboard.config.monitor_level = 1
if hasattr(dashboard.config, "timezone"):
    import pytz

    dashboard.config.timezone = pytz.timezone("UTC")
dashboard.bind(app)

if __name__ == "__main__":
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    print("agora-peer-port", server.server_port, flush=True)
    server.serve_forever()
