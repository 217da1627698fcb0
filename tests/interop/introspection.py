"""A small OAuth 2.0 token introspection endpoint (RFC 7662) for the interop Dovecot's oauth2 passdb, as
Dovecot's documented oauth2 setup uses one: POST token=… answers whether the token is active, for whom and
with which scope. Tokens are the test's own: GOOD is active for the interop user with the mail scope,
anything else is inactive. Run: ``python -m tests.interop.introspection ADDRESS PORT PIDFILE``."""

import json
import os
import sys
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer

GOOD = "interop-good-token"
USER = "alice@interop.test"


class Introspection(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # the name http.server calls
        length = min(int(self.headers.get("Content-Length") or 0), 65536)
        form = urllib.parse.parse_qs(self.rfile.read(length).decode("utf-8", "replace"))
        token = (form.get("token") or [""])[0]
        active = {"active": "true", "username": USER, "scope": "mail"}
        answer = active if token.endswith(GOOD) else {"active": "false"}
        body = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # quiet
        return


def main() -> None:
    address, port, pidfile = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    server = HTTPServer((address, port), Introspection)
    with open(pidfile, "w") as handle:
        handle.write(str(os.getpid()))
    server.serve_forever()


if __name__ == "__main__":
    main()
