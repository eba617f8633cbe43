#!/usr/bin/env python3
"""A training client for Agora, with the standard library only.

Starts a session on a dataset, reports three rounds with metrics and log
lines, uploads a model file for the last round, and finishes the session.

    AGORA_URL=http://127.0.0.1:3000 AGORA_KEY=agk_... AGORA_DATASET=<id> python3 examples/train_client.py

The key needs read-write access to the dataset (Settings → API keys).
"""

import base64
import hashlib
import json
import math
import os
import random
import sys
import tempfile
import urllib.error
import urllib.request

URL = os.environ.get("AGORA_URL", "http://127.0.0.1:3000").rstrip("/")
KEY = os.environ["AGORA_KEY"]
DATASET = os.environ["AGORA_DATASET"]
NAME = os.environ.get("AGORA_RUN_NAME", "example run (python)")


def call(method, path, body=None):
    """One REST call; errors say what Agora said."""
    data = None if body is None else json.dumps(body, allow_nan=False).encode()
    request = urllib.request.Request(f"{URL}/api/v1{path}", data=data, method=method)
    request.add_header("Authorization", f"Bearer {KEY}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request) as response:
            text = response.read()
            return json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        sys.exit(f"{method} {path}: {error.code} {error.read().decode()}")


def put(url, headers, payload):
    """Sends bytes straight to storage through a presigned URL."""
    request = urllib.request.Request(url, data=payload, method="PUT")
    for name, value in headers:
        request.add_header(name, value)
    with urllib.request.urlopen(request) as response:
        return response.headers.get("ETag")


def md5_base64(payload):
    """The base64 MD5 of bytes: what Agora signs into the upload URL, so
    storage takes exactly these bytes and nothing else."""
    return base64.b64encode(hashlib.md5(payload).digest()).decode()


def upload_artifact(run, round_number, path):
    """Uploads a file as an artifact of a round: one PUT, or parts for large files."""
    size = os.path.getsize(path)
    name = os.path.basename(path)
    with open(path, "rb") as file:
        # Small files declare their MD5 when they start (one presigned PUT);
        # large ones declare each part's when they ask for its URL.
        digest = hashlib.md5()
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
        request = {"name": name, "size": size, "md5": base64.b64encode(digest.digest()).decode()}
        ticket = call("POST", f"/datasets/{DATASET}/runs/{run}/rounds/{round_number}/artifacts", request)
        file.seek(0)
        if ticket.get("put"):
            put(ticket["put"]["url"], ticket["put"]["headers"], file.read())
        else:
            plan = ticket["multipart"]
            for number in range(1, plan["part_count"] + 1):
                file.seek((number - 1) * plan["part_size"])
                payload = file.read(plan["part_size"])
                parts = {"parts": [{"part_number": number, "md5": md5_base64(payload)}]}
                (part,) = call("POST", f"/datasets/{DATASET}/uploads/{ticket['upload_id']}/parts", parts)
                put(part["url"], part["headers"], payload)
    return call("POST", f"/datasets/{DATASET}/uploads/{ticket['upload_id']}/complete", {})


def main():
    params = {"learning_rate": 0.01, "batch_size": 32, "optimizer": "adam"}
    session = call("POST", f"/datasets/{DATASET}/runs", {"name": NAME, "params": params})
    run = session["id"]
    print(f"session {run} started")
    loss = 1.0
    for round_number in range(1, 4):
        loss *= 0.6 + random.random() * 0.1
        accuracy = 1 - loss / 2
        call("POST", f"/datasets/{DATASET}/runs/{run}/logs",
             {"lines": [f"round {round_number}: batch {b} loss {loss + b / 1000:.4f}" for b in range(5)]})
        call("POST", f"/datasets/{DATASET}/runs/{run}/rounds",
             {"round": round_number, "metrics": {"loss": round(loss, 4), "accuracy": round(accuracy, 4)}})
        call("POST", f"/datasets/{DATASET}/runs/{run}/heartbeat")
        print(f"round {round_number}: loss {loss:.4f}")
    with tempfile.TemporaryDirectory() as folder:
        model = os.path.join(folder, "model.h5")
        with open(model, "wb") as file:
            file.write(os.urandom(64 * 1024))
        landed = upload_artifact(run, 3, model)
        print(f"uploaded {landed['path']} ({landed['size']} bytes)")
    call("POST", f"/datasets/{DATASET}/runs/{run}/end", {"status": "finished"})
    print(f"session {run} finished")
    assert math.isfinite(loss)


if __name__ == "__main__":
    main()
