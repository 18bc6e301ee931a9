#!/usr/bin/env python3
"""Raw HTTP over verified TLS, for what curl cannot send: smuggling shapes,
trickled headers and bodies, many half-open connections, pipelining.

Usage: raw.py PORT CAFILE MODE [ARG]
  send PAYLOAD     send PAYLOAD (Python escapes: \\r\\n), print the answers
  slowloris SECS   send a request line, then one header every SECS seconds
  slowbody         Content-Length: 1000000, then 1 byte a second
  flood N          N connections with half-sent headers, then GET /healthz
  silent N         N plain TCP connections that never complete TLS: most
                   send nothing, the others part of a ClientHello, a whole
                   ClientHello and then nothing, a bare record-header
                   fragment, or bytes that are not TLS; waits (up to 30 s) for the server to close
                   them all and prints "CLOSED" with the elapsed seconds of
                   the last, or "OPEN k" with how many it still holds
  expect HEAD BODY send HEAD alone, wait up to 3 s for an interim answer
                   ("INTERIM 100" if it came, "NO INTERIM" if not), then
                   send BODY (unless the server closed) and print the answers
Prints "STATUS nnn" for each answer, its headers in lower case, "BODY" and
its body (when it has one), and "CLOSED" with the elapsed seconds when the server closed the connection.
"""
import select
import socket
import ssl
import sys
import time


def connect(port, ca):
    ctx = ssl.create_default_context(cafile=ca)
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    return ctx.wrap_socket(s, server_hostname="localhost")


def client_hello():
    """The first flight of a real TLS handshake (a ClientHello)."""
    ctx = ssl.create_default_context()
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
    try:
        tls.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outgoing.read()


def silent(port, n, limit):
    """Opens n connections that never finish a TLS handshake; returns the
    seconds until the server had closed the last one, or None with the
    number still open after limit seconds."""
    hello = client_hello()
    openings = [b"", b"", hello[:len(hello) // 2], hello, b"\x16\x03",
                b"\x00garbage"]
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(openings[i % len(openings)])
        socks.append(s)
    t0 = time.time()
    last = 0.0
    open_socks = set(socks)
    while open_socks and time.time() - t0 < limit:
        ready, _, _ = select.select(list(open_socks), [], [], 0.1)
        for s in ready:
            try:
                chunk = s.recv(65536)  # a ServerHello, or the close
            except OSError:
                chunk = b""
            if not chunk:
                open_socks.discard(s)
                s.close()
                last = time.time() - t0
    for s in open_socks:
        s.close()
    return (None, len(open_socks)) if open_socks else (last, 0)


def read_all(s, limit, until=None):
    """Reads until the server closes, limit seconds pass, or until (bytes)
    has been received."""
    data = b""
    end = time.time() + limit
    while time.time() < end and not (until and until in data):
        s.settimeout(max(0.05, end - time.time()))
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            return data, False
        except (ConnectionResetError, ssl.SSLError, OSError):
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def show(data):
    """Prints each answer in data, one after another: the status line, the
    headers and Content-Length bytes of body."""
    pos = data.find(b"HTTP/1.1 ")
    while pos >= 0:
        head, sep, rest = data[pos + 9:].partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        print("STATUS", lines[0].split(" ")[0])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            print(name.lower() + ":" + value)
            if name.lower() == "content-length":
                length = int(value)
        if length:
            print("BODY", rest[:length].decode("latin-1"))
        if not sep:
            break
        nxt = rest[length:]
        data = nxt
        pos = data.find(b"HTTP/1.1 ")


def main():
    port, ca, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    arg = sys.argv[4] if len(sys.argv) > 4 else None
    t0 = time.time()
    if mode == "send":
        s = connect(port, ca)
        s.sendall(arg.encode("latin-1").decode("unicode_escape").encode("latin-1"))
        data, closed = read_all(s, 8)
        show(data)
    elif mode == "slowloris":
        s = connect(port, ca)
        t0 = time.time()
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: gw.test\r\n")
        closed = False
        data = b""
        while time.time() - t0 < 60:
            chunk, closed = read_all(s, float(arg))
            data += chunk
            if closed:
                break
            try:
                s.sendall(b"X-a: b\r\n")
            except OSError:
                closed = True
                break
        show(data)
    elif mode == "slowbody":
        s = connect(port, ca)
        t0 = time.time()
        s.sendall(b"POST /fake/echo HTTP/1.1\r\nHost: gw.test\r\n"
                  b"Content-Type: application/json\r\n"
                  b"Content-Length: 1000000\r\n\r\n")
        closed = False
        data = b""
        while time.time() - t0 < 60:
            chunk, closed = read_all(s, 1)
            data += chunk
            if closed:
                break
            try:
                s.sendall(b"a")
            except OSError:
                closed = True
                break
        show(data)
    elif mode == "flood":
        held = []
        for _ in range(int(arg)):
            c = connect(port, ca)
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: gw.test\r\n")
            held.append(c)
        t0 = time.time()
        s = connect(port, ca)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n")
        data, closed = read_all(s, 5, b'{"status":"ok"}')
        show(data)
        print("ANSWERED %.3f" % (time.time() - t0))
        for c in held:
            c.close()
        return
    elif mode == "silent":
        took, still_open = silent(port, int(arg), 30)
        if still_open:
            print("OPEN %d" % still_open)
            return
        print("CLOSED %.1f" % took)
        return
    elif mode == "expect":
        body = sys.argv[5] if len(sys.argv) > 5 else ""
        s = connect(port, ca)
        s.sendall(arg.encode("latin-1").decode("unicode_escape").encode("latin-1"))
        data, closed = read_all(s, 3, b"\r\n\r\n")
        interim = data.startswith(b"HTTP/1.1 100 ")
        print("INTERIM 100" if interim else "NO INTERIM")
        if not closed:
            try:
                s.sendall(body.encode("latin-1"))
                more, closed = read_all(s, 8)
                data += more
            except OSError:
                closed = True
        show(data)
    else:
        sys.exit("unknown mode " + mode)
    if closed:
        print("CLOSED %.1f" % (time.time() - t0))


if __name__ == "__main__":
    main()
