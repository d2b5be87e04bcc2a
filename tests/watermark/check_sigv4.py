"""Recomputes the SigV4 signature of captured requests with botocore, an implementation
independent of libcurl's, and says whether each matches.

Usage: /usr/bin/python3 check_sigv4.py DIR OPERATION...
DIR holds the raw requests (NN.http, in order); OPERATION... are the X-Amz-Target operations
they must be, in that order. The credentials come from AWS_REGION, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN (unset: the requests must carry no token).
Run by Debian's /usr/bin/python3, which has python3-botocore.
"""
import datetime
import os
import sys
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def parse(raw):
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ")
    headers = {}
    for line in lines[1:]:
        name, value = line.split(":", 1)
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return method, target, headers, body


def check(path, operation, credentials, region):
    with open(path, "rb") as f:
        method, target, headers, body = parse(f.read())
    problems = []
    for name in ("authorization", "x-amz-date", "x-amz-target", "content-type", "host"):
        if len(headers.get(name, [])) != 1:
            problems.append(f"{name} appears {len(headers.get(name, []))} times")
    if problems:
        return problems
    one = {name: values[0] for name, values in headers.items()}
    if one["x-amz-target"] != f"DynamoDB_20120810.{operation}":
        problems.append(f"target {one['x-amz-target']}, expected {operation}")
    if one["content-type"] != "application/x-amz-json-1.0":
        problems.append(f"content type {one['content-type']}")
    token = headers.get("x-amz-security-token")
    if token != ([credentials.token] if credentials.token else None):
        problems.append("session token header wrong or missing" if credentials.token
                        else "session token header sent without a token")

    # What an AWS SDK is given for a DynamoDB call; botocore adds the date, the host and the
    # token itself, and decides what to sign.
    request = AWSRequest(method=method, url=f"http://{one['host']}{target}", data=body,
                         headers={"Content-Type": one["content-type"],
                                  "X-Amz-Target": one["x-amz-target"]})
    when = datetime.datetime.strptime(one["x-amz-date"], "%Y%m%dT%H%M%SZ")
    with mock.patch("botocore.auth.datetime") as clock:
        clock.datetime.utcnow.return_value = when
        SigV4Auth(credentials, "dynamodb", region).add_auth(request)
    expected = request.headers["Authorization"]
    if one["authorization"] != expected:
        problems.append(f"signature differs:\n  sent     {one['authorization']}\n"
                        f"  botocore {expected}")
    return problems


def main():
    directory, operations = sys.argv[1], sys.argv[2:]
    credentials = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"],
                              os.environ.get("AWS_SESSION_TOKEN") or None)
    region = os.environ["AWS_REGION"]
    files = sorted(name for name in os.listdir(directory) if name.endswith(".http"))
    if len(files) != len(operations):
        print(f"{len(files)} requests captured, expected {len(operations)}")
        return 1
    failed = 0
    for name, operation in zip(files, operations):
        problems = check(os.path.join(directory, name), operation, credentials, region)
        token = "with" if credentials.token else "without"
        print(f"{'ok' if not problems else 'FAILED'}: {operation} {token} session token")
        for problem in problems:
            print(f"  {problem}")
        failed += bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
