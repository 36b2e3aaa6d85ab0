"""Stand-in for the two Bedrock GET routes moto lacks (inference profiles), for tests/aws_moto.rs.

Usage: bedrock_stub.py [--host H] [--port P | P]   (or BEDROCK_STUB_PORT); exits 0 on SIGTERM.
GET /inference-profiles?type=SYSTEM_DEFINED|APPLICATION and GET /inference-profiles/{id}.
"""
import json, os, signal, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

ACCOUNT, REGION = "123456789012", "us-east-1"
FM = "arn:aws:bedrock:{}::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0"
def profile(pid, kind, regions):
    res = "inference-profile" if kind == "SYSTEM_DEFINED" else "application-inference-profile"
    return {"inferenceProfileId": pid, "inferenceProfileName": "stub " + pid, "status": "ACTIVE", "type": kind,
            "inferenceProfileArn": f"arn:aws:bedrock:{REGION}:{ACCOUNT}:{res}/{pid}",
            "models": [{"modelArn": FM.format(r)} for r in regions],
            "createdAt": "2025-01-01T00:00:00Z", "updatedAt": "2025-01-01T00:00:00Z"}
PROFILES = [profile("us.anthropic.claude-3-5-sonnet-20241022-v2:0", "SYSTEM_DEFINED", ["us-east-1", "us-east-2", "us-west-2"]),
            profile("stubapp12345", "APPLICATION", ["us-east-1"])]

class Handler(BaseHTTPRequestHandler):
    def send(self, status, body, error=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if error:
            self.send_header("x-amzn-ErrorType", error)
        self.end_headers()
        self.wfile.write(data)
    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/inference-profiles":
            kind = parse_qs(url.query).get("type", [None])[0]
            return self.send(200, {"inferenceProfileSummaries": [p for p in PROFILES if kind in (None, p["type"])]})
        if url.path.startswith("/inference-profiles/"):
            pid = unquote(url.path[len("/inference-profiles/"):])
            for p in PROFILES:
                if pid in (p["inferenceProfileId"], p["inferenceProfileArn"]):
                    return self.send(200, p)
        self.send(404, {"message": "no such inference profile: " + url.path}, "ResourceNotFoundException")
    def log_message(self, fmt, *args):
        sys.stderr.write("bedrock_stub: " + fmt % args + "\n")

def main(argv):
    host, port = "127.0.0.1", os.environ.get("BEDROCK_STUB_PORT")
    args = iter(argv)
    for arg in args:
        if arg == "--host": host = next(args)
        elif arg == "--port": port = next(args)
        else: port = arg
    server = ThreadingHTTPServer((host, int(port)), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        server.serve_forever()
    finally:
        server.server_close()

if __name__ == "__main__":
    main(sys.argv[1:])
