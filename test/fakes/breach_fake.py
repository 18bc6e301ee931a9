#!/usr/bin/python3
"""A local HTTPS fake of a breached-password range service.

Serves GET <anything>/range/<prefix> the way the k-anonymity range APIs
do: one "SUFFIX:COUNT" line per known SHA-1 under the prefix, plus padding
lines with a count of 0.  It records every request path in requests.log
and whether the prefix was exactly five hex characters, so a test can
assert that no more of the hash left the server.

usage: breach_fake.py DIR PASSWORD...
  DIR holds server.crt/server.key; the fake writes DIR/port (the port it
  listens on, 127.0.0.1) and DIR/requests.log.  The PASSWORDs are the
  "breached" ones it knows.  The password list also accepts "pad:PASSWORD",
  listed with a count of 0 (padding), which must not count as breached.
"""
import hashlib
import http.server
import os
import re
import ssl
import sys


def main():
    folder = sys.argv[1]
    known = {}
    for arg in sys.argv[2:]:
        count = 42
        if arg.startswith("pad:"):
            arg, count = arg[4:], 0
        known[hashlib.sha1(arg.encode("utf-8")).hexdigest().upper()] = count
    log_path = os.path.join(folder, "requests.log")

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            match = re.search(r"/range/(.*)$", self.path)
            prefix = match.group(1) if match else ""
            ok = re.fullmatch(r"[0-9A-Fa-f]{5}", prefix) is not None
            with open(log_path, "a") as log:
                log.write("%s five_hex=%s\n" % (self.path, "yes" if ok else "no"))
            if not ok:
                self.send_response(400)
                self.end_headers()
                return
            lines = ["%s:%d" % (h[5:], c) for h, c in sorted(known.items())
                     if h.startswith(prefix.upper())]
            lines += ["%035X:0" % i for i in range(3)]
            body = "\r\n".join(lines).encode("ascii")
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(folder, "server.crt"),
                            os.path.join(folder, "server.key"))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(os.path.join(folder, "port.tmp"), "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(os.path.join(folder, "port.tmp"), os.path.join(folder, "port"))
    server.serve_forever()


if __name__ == "__main__":
    main()
