#!/usr/bin/env python3
"""serve.py: a tiny local server for examples/browser.

Serves the repository root (so the page reaches build/wasm/) on 127.0.0.1
and sends the headers that make a page cross-origin isolated, so it gets
SharedArrayBuffer and the shared path:

    Cross-Origin-Opener-Policy: same-origin
    Cross-Origin-Embedder-Policy: require-corp

--no-isolation leaves them out: the page then takes the transfer path.

    python3 examples/browser/serve.py [--port 8000] [--no-isolation]
    # then open http://127.0.0.1:8000/examples/browser/

For tests: --port 0 picks a free port and --port-file writes it down;
--result FILE stores the JSON the page POSTs to /result (?report=1) and
then stops the server.
"""
import argparse
import http.server
import os
import sys
import threading

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def handler_class(isolated, result_file, done):
    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = dict(http.server.SimpleHTTPRequestHandler.extensions_map,
                              **{".wasm": "application/wasm", ".js": "text/javascript"})

        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=ROOT, **kwargs)

        def end_headers(self):
            if isolated:
                self.send_header("Cross-Origin-Opener-Policy", "same-origin")
                self.send_header("Cross-Origin-Embedder-Policy", "require-corp")
            self.send_header("Cache-Control", "no-store")
            super().end_headers()

        def do_POST(self):
            if self.path != "/result":
                self.send_error(404)
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(min(length, 1 << 20))
            self.send_response(204)
            self.end_headers()
            if result_file:
                with open(result_file + ".tmp", "wb") as f:
                    f.write(body)
                os.replace(result_file + ".tmp", result_file)
                done.set()
            else:
                print("result: " + body.decode("utf-8", "replace"), flush=True)

        def log_message(self, fmt, *args):
            if not result_file:  # quiet under tests
                sys.stderr.write("serve.py: " + (fmt % args) + "\n")

    return Handler


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=8000)
    ap.add_argument("--no-isolation", action="store_true",
                    help="omit COOP/COEP: the page takes the transfer path")
    ap.add_argument("--port-file", help="write the port here once listening")
    ap.add_argument("--result", help="store the page's POST /result here, then stop")
    a = ap.parse_args()
    done = threading.Event()
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", a.port), handler_class(not a.no_isolation, a.result, done))
    port = server.server_address[1]
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.replace(a.port_file + ".tmp", a.port_file)
    print("serve.py: http://127.0.0.1:%d/examples/browser/ (%s)" % (
        port, "no COOP/COEP: transfer path" if a.no_isolation
        else "COOP/COEP: cross-origin isolated, shared path"), flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        while not done.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    server.shutdown()


if __name__ == "__main__":
    main()
