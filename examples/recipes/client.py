#!/usr/bin/env python3
"""A client of a fastify-request-jwt API in Python 3, with the standard library alone: `python3 client.py`.

REQUEST_JWT_BASE_URL is the API's base URL, REQUEST_JWT_API_KEY the API key the service gave you. It sends a POST
bound to its path and body, then a GET bound to its path and query, and prints each answer, refusals included.
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

BASE = os.environ["REQUEST_JWT_BASE_URL"].rstrip("/")
API_KEY = os.environ["REQUEST_JWT_API_KEY"].strip()
# {key_name}-{service_id}-{secret}, counted from the end (a key name may hold "-" too): the secret is the last 36
# characters; the service id is the 36 before the "-" that precedes the secret.
SECRET, SERVICE_ID = API_KEY[-36:], API_KEY[-73:-37]
# A path in the base URL (https://gateway.example/notify) is part of the path the service sees, so it is signed.
PREFIX = urllib.parse.urlsplit(BASE).path


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_token(method, target, body=None):
    """A token bound to the method and request-target, and to the body's bytes when there is a body."""
    claims = {"iss": SERVICE_ID, "iat": int(time.time()), "jti": str(uuid.uuid4()), "req": method + " " + target}
    if body is not None:
        claims["pay"] = b64url(hashlib.sha256(body).digest())
    signing_input = b64url(b'{"alg":"HS256","typ":"JWT"}') + "." + \
        b64url(json.dumps(claims, separators=(",", ":")).encode("utf-8"))
    signature = hmac.new(SECRET.encode("utf-8"), signing_input.encode("ascii"), hashlib.sha256).digest()
    return signing_input + "." + b64url(signature)


def send(method, path_and_query, body=None):
    """Sends one request with a token made for it (a new one for every request, retries included); prints the answer."""
    headers = {"Authorization": "Bearer " + make_token(method, PREFIX + path_and_query, body)}
    if body is not None:
        headers["Content-Type"] = "application/json"  # urllib would send application/x-www-form-urlencoded
    request = urllib.request.Request(BASE + path_and_query, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request) as response:
            print(response.status, response.read().decode("utf-8"))
            return True
    except urllib.error.HTTPError as refusal:  # a 4xx or 5xx: its body says what was wrong
        print(refusal.code, refusal.read().decode("utf-8"))
        return False


# Serialise the body once, as UTF-8 bytes: those bytes are hashed and those bytes are sent.
body = json.dumps({"email_address": "zoe@example.com", "template_id": "f33517ff-2a88-4f6e-b855-c550268ce08a",
                   "personalisation": {"name": "Zoë"}}, ensure_ascii=False).encode("utf-8")
posted = send("POST", "/v2/notifications/email", body)
# Encode the query once ("Zoë Smith" becomes Zo%C3%AB%20Smith): sign and send that same text.
query = urllib.parse.urlencode({"reference": "Zoë Smith", "status": "delivered"}, quote_via=urllib.parse.quote)
listed = send("GET", "/v2/notifications?" + query)
sys.exit(0 if posted and listed else 1)
