#!/usr/bin/env python3
"""A partner's webhook receiver on loopback, for NotificationsEndToEndTests: checks each POST's signature
(HMAC-SHA256 with the shared secret over `X-KTSX-Timestamp`.`body`, in `X-KTSX-Signature`) and appends one
JSON line per request to LOG: the event, whether the signature was right, and the body.

Usage: webhook_receiver.py PORT SECRET LOG
"""
import hashlib
import hmac
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

port, secret, log = int(sys.argv[1]), sys.argv[2].encode(), sys.argv[3]


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        timestamp = self.headers.get("X-KTSX-Timestamp", "")
        expected = "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(expected, self.headers.get("X-KTSX-Signature", ""))
        with open(log, "a", encoding="utf-8") as out:
            out.write(json.dumps({"event": self.headers.get("X-KTSX-Event"), "valid": valid, "body": body.decode("utf-8", "replace")}) + "\n")
        self.send_response(204 if valid else 401)
        self.end_headers()

    def log_message(self, *arguments):
        pass


HTTPServer(("127.0.0.1", port), Receiver).serve_forever()
