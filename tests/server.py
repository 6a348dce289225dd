#!/usr/bin/env python3
"""Loopback HTTP server for meter-fetch's tests and bench.

Serves files from --root and misbehaves on request, by path:
  /files/NAME              the file (Retry-After etc. never sent)
  /gzip/NAME               the file with Content-Encoding: gzip
  /status/CODE             that status, a short body
  /flaky/KEY/N/CODE/NAME   CODE (with Retry-After: 1 for 429/503) for the
                           first N requests of KEY, then the file
  /slow/SECONDS/NAME       waits, then the file
  /truncated/NAME          promises the whole file, sends half, closes
  /reset/NAME              sends half, then resets the connection
  /huge/MB                 MB megabytes of CSV rows
  /bomb/MB                 gzip Content-Encoding that inflates to MB MB
  /redirect?to=URL         302 to URL
With --tls CERT KEY it speaks HTTPS.  Every request is logged to --log as "PATH<TAB>HEADER: value|..." so tests
can check what was sent (and that secrets went only where they belong).
"""
import argparse, gzip, os, socket, struct, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
COUNTS = {}
LOCK = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        # headers and body go out in two writes: without this, Nagle and the
        # client's delayed ACK add 40 ms to every response
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, fmt, *args):
        pass

    def record(self):
        hdrs = "|".join(f"{k}: {v}" for k, v in self.headers.items())
        with LOCK, open(ARGS.log, "a") as f:
            f.write(f"{self.path}\t{hdrs}\n")

    def send(self, code, body, headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def file(self, name):
        path = os.path.join(ARGS.root, os.path.basename(name.split("?")[0]))
        try:
            with open(path, "rb") as f:
                return f.read()
        except OSError:
            return None

    def do_GET(self):
        self.record()
        parts = self.path.split("?")[0].strip("/").split("/")
        kind, rest = parts[0], parts[1:]
        if kind in ("files", "gzip", "truncated", "reset", "slow", "flaky"):
            name = rest[-1] if rest else ""
            body = self.file(name)
            if body is None:
                return self.send(404, b"not found\n")
        if kind == "files":
            return self.send(200, body)
        if kind == "gzip":
            return self.send(200, gzip.compress(body), [("Content-Encoding", "gzip")])
        if kind == "status":
            return self.send(int(rest[0]), b"status\n")
        if kind == "flaky":
            key, n, code = rest[0], int(rest[1]), int(rest[2])
            with LOCK:
                COUNTS[key] = COUNTS.get(key, 0) + 1
                seen = COUNTS[key]
            if seen <= n:
                extra = [("Retry-After", "1")] if code in (429, 503) else []
                return self.send(code, b"try later\n", extra)
            return self.send(200, body)
        if kind == "slow":
            time.sleep(float(rest[0]))
            return self.send(200, body)
        if kind in ("truncated", "reset"):
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            if kind == "reset":
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if kind == "huge":
            size = int(rest[0]) * 1024 * 1024
            row = b"2026-01-01T00:00:00Z,1\n"
            self.send_response(200)
            self.send_header("Content-Length", str(size // len(row) * len(row)))
            self.end_headers()
            try:
                for _ in range(size // len(row) // 1000):
                    self.wfile.write(row * 1000)
            except OSError:
                pass
            self.close_connection = True
            return
        if kind == "redirect":
            from urllib.parse import parse_qs, urlsplit
            to = parse_qs(urlsplit(self.path).query).get("to", [""])[0]
            return self.send(302, b"moved\n", [("Location", to)])
        if kind == "bomb":
            body = gzip.compress(b"0" * (int(rest[0]) * 1024 * 1024))
            return self.send(200, body, [("Content-Encoding", "gzip")])
        return self.send(404, b"no such route\n")


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--root", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    ARGS = p.parse_args()
    # socketserver's listen backlog is 5: an eighth client connecting at
    # once has its SYN dropped and retries a second later, which made
    # every client look slow at -j 8.
    ThreadingHTTPServer.request_queue_size = 128
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if ARGS.tls:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(*ARGS.tls)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.daemon_threads = True
    tmp = ARGS.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.rename(tmp, ARGS.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    main()
