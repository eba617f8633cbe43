"""A real SMTP server (aiosmtpd) for Agora's mail tests.

    python smtp_sink.py LOG_FILE

Listens on a port of its own choosing on 127.0.0.1 and prints
`agora-peer-port PORT` on stdout once it accepts connections, so a test never
hands it a port that something else may take first. Every message it receives is
appended to LOG_FILE, as aiosmtpd's Debugging handler prints it.
"""
import asyncio
import sys

from aiosmtpd.handlers import Debugging
from aiosmtpd.smtp import SMTP


async def main(log_path):
    # Line-buffered: a message is in the file as soon as it was received.
    log = open(log_path, "a", buffering=1, encoding="utf-8")
    handler = Debugging(log)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler), host="127.0.0.1", port=0)
    print("agora-peer-port", server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
