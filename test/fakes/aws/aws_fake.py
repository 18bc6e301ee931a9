#!/usr/bin/python3
"""A fake of the AWS APIs commitopt's sync calls, served over HTTPS.

It answers STS AssumeRole, EC2 DescribeInstances and
DescribeReservedInstances (query protocol, XML) and Savings Plans
DescribeSavingsPlans (rest-json).  Like AWS it
  * verifies every SigV4 signature, with botocore's signer (an
    implementation independent of commitopt's), against the secret of the
    access key used: the platform's long-term key or a session key it
    issued, whose session token must be sent and signed;
  * refuses AssumeRole unless the role exists and the ExternalId matches
    the one its trust policy names (AccessDenied, as AWS does);
  * issues short-lived credentials (config "session_seconds") and can let
    them expire after a number of calls (config "expire_after_calls"), so
    that re-assuming mid-sync is exercised;
  * rejects a request time more than 5 minutes off its own clock
    (RequestTimeTooSkewed), its clock being shifted by "skew_seconds";
  * paginates ("page_size"), throttles ("throttle": {action: n} answers
    the first n calls with 503 RequestLimitExceeded), fails ("fail":
    {action: status}), serves malformed bodies ("malformed": [action]) and
    delays ("delay": {action: seconds}) on demand.
Data: DescribeInstances pages are cut from botocore's recorded response;
Reserved Instances come from the aws-cli documented example output (same
API, JSON rendering) rendered back into EC2's XML; Savings Plans are built
from the savingsplans API model's SavingsPlan shape (no sample exists).

DIR/config.json is re-read on every request; DIR/calls.log gets one JSON
line per request (action, signature check, key kind) and never a secret.

usage: aws_fake.py DIR FIXTURES
"""
import datetime
import email.utils
import hashlib
import http.server
import json
import os
import secrets
import ssl
import sys
import time
import urllib.parse
import xml.etree.ElementTree as ET

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"

STATE = {"sessions": {}, "throttled": {}}


def load_config(folder):
    with open(os.path.join(folder, "config.json")) as f:
        return json.load(f)


def now(config):
    return time.time() + config.get("skew_seconds", 0)


def iso(ts):
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def signature_check(handler, body, config):
    """Returns (ok, reason, access_key, session) for the request."""
    authz = handler.headers.get("Authorization", "")
    if not authz.startswith("AWS4-HMAC-SHA256 "):
        return False, "MissingAuthenticationToken", None, None
    parts = dict(p.strip().split("=", 1) for p in authz[17:].split(","))
    cred = parts["Credential"].split("/")
    key, date, region, service = cred[0], cred[1], cred[2], cred[3]
    signed = parts["SignedHeaders"].split(";")
    amz_date = handler.headers.get("X-Amz-Date", "")
    if len(handler.headers.get_all("X-Amz-Security-Token") or []) > 1:
        return False, "IncompleteSignature", key, None
    session = None
    token = None
    if key == config["platform"]["access_key_id"]:
        secret = config["platform"]["secret_access_key"]
    elif key in STATE["sessions"]:
        session = STATE["sessions"][key]
        secret, token = session["secret"], session["token"]
        if handler.headers.get("X-Amz-Security-Token") != token:
            return False, "InvalidClientTokenId", key, session
        if "x-amz-security-token" not in signed:
            return False, "IncompleteSignature", key, session
    else:
        return False, "InvalidClientTokenId", key, None
    try:
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
    except ValueError:
        return False, "IncompleteSignature", key, session
    if abs(when - now(config)) > 300:
        return False, "RequestTimeTooSkewed", key, session
    headers = {h: handler.headers.get(h, "") for h in signed}
    url = "https://%s%s" % (handler.headers.get("Host"), handler.path)
    req = AWSRequest(method=handler.command, url=url, data=body, headers=headers)
    req.context["timestamp"] = amz_date
    auth = SigV4Auth(Credentials(key, secret, token), service, region)
    canonical = auth.canonical_request(req)
    expected = auth.signature(auth.string_to_sign(req, canonical), req)
    if expected != parts["Signature"] or date != amz_date[:8]:
        return False, "SignatureDoesNotMatch", key, session
    if session is not None:
        if session["expires"] < now(config):
            return False, "ExpiredToken", key, session
        limit = config.get("expire_after_calls")
        session["calls"] += 1
        if limit and session["calls"] > limit:
            return False, "ExpiredToken", key, session
    return True, None, key, session


def xml_error(code, message):
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>"
            "<Code>%s</Code><Message>%s</Message></Error></Errors>"
            "<RequestID>fake</RequestID></Response>" % (code, message)).encode()


def sts_error(code, message):
    return ("<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
            "<Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
            "<RequestId>fake</RequestId></ErrorResponse>" % (code, message)).encode()


def instance_pages(fixtures, size):
    tree = ET.parse(os.path.join(fixtures, "botocore-xml/ec2-describe-instances.xml"))
    ns = {"e": "http://ec2.amazonaws.com/doc/2014-06-15/"}
    items = tree.getroot().findall("e:reservationSet/e:item", ns)
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


def render_instances(page, token):
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<DescribeInstancesResponse xmlns="%s">' % EC2_NS,
           "<requestId>fake</requestId><reservationSet>"]
    for item in page:
        text = ET.tostring(item, encoding="unicode")
        out.append(text.replace("ns0:", "").replace(
            ' xmlns:ns0="http://ec2.amazonaws.com/doc/2014-06-15/"', ""))
    out.append("</reservationSet>")
    if token:
        out.append("<nextToken>%s</nextToken>" % token)
    out.append("</DescribeInstancesResponse>")
    return "\n".join(out).encode()


def reserved_instances(fixtures, config):
    with open(os.path.join(fixtures, "aws-cli-examples/ec2/describe-reserved-instances.output1.json")) as f:
        ris = json.load(f)["ReservedInstances"]
    ris = ris + config.get("extra_reserved_instances", [])
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<DescribeReservedInstancesResponse xmlns="%s">' % EC2_NS,
           "<requestId>fake</requestId><reservedInstancesSet>"]
    for ri in ris:
        out.append("<item>")
        for key, value in ri.items():
            tag = key[0].lower() + key[1:]
            if key == "RecurringCharges":
                out.append("<recurringCharges>")
                for rc in value:
                    out.append("<item><frequency>%s</frequency><amount>%s</amount></item>"
                               % (rc["Frequency"], rc["Amount"]))
                out.append("</recurringCharges>")
            else:
                out.append("<%s>%s</%s>" % (tag, value, tag))
        out.append("</item>")
    out.append("</reservedInstancesSet></DescribeReservedInstancesResponse>")
    return "\n".join(out).encode()


def savings_plans(config):
    """Plans built from the model's SavingsPlan shape."""
    plans = config.get("savings_plans")
    if plans is not None:
        return plans
    return [
        {"savingsPlanId": "sp-compute-0001",
         "savingsPlanArn": "arn:aws:savingsplans::111122223333:savingsplan/sp-compute-0001",
         "description": "1 year No Upfront Compute Savings Plan",
         "start": "2026-11-15T10:20:30.000Z", "end": "2027-11-15T10:20:29.000Z",
         "state": "active", "region": "", "ec2InstanceFamily": "",
         "savingsPlanType": "Compute", "paymentOption": "No Upfront",
         "productTypes": ["EC2", "Fargate", "Lambda"], "currency": "USD",
         "commitment": "0.500", "upfrontPaymentAmount": "0",
         "recurringPaymentAmount": "0.500", "termDurationInSeconds": 31536000,
         "tags": {}},
        {"savingsPlanId": "sp-ec2-0002",
         "savingsPlanArn": "arn:aws:savingsplans::111122223333:savingsplan/sp-ec2-0002",
         "description": "3 year Partial Upfront EC2 Instance Savings Plan",
         "start": "2026-10-01T00:00:00.000Z", "end": "2029-09-30T23:59:59.000Z",
         "state": "active", "region": "us-east-1", "ec2InstanceFamily": "m5",
         "savingsPlanType": "EC2Instance", "paymentOption": "Partial Upfront",
         "productTypes": ["EC2"], "currency": "USD",
         "commitment": "1.250", "upfrontPaymentAmount": "16425",
         "recurringPaymentAmount": "0.625", "termDurationInSeconds": 94608000,
         "tags": {}},
        {"savingsPlanId": "sp-queued-0003",
         "savingsPlanArn": "arn:aws:savingsplans::111122223333:savingsplan/sp-queued-0003",
         "description": "queued, not yet active", "start": "2027-01-01T00:00:00.000Z",
         "end": "2028-01-01T00:00:00.000Z", "state": "queued", "region": "",
         "ec2InstanceFamily": "", "savingsPlanType": "Compute",
         "paymentOption": "No Upfront", "productTypes": ["EC2"], "currency": "USD",
         "commitment": "2.000", "upfrontPaymentAmount": "0",
         "recurringPaymentAmount": "2.000", "termDurationInSeconds": 31536000,
         "tags": {}},
    ]


def main():
    folder, fixtures = sys.argv[1], sys.argv[2]
    log_path = os.path.join(folder, "calls.log")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def date_time_string(self, timestamp=None):
            # the Date header shows the fake's (possibly skewed) clock
            return email.utils.formatdate(now(load_config(folder)), usegmt=True)

        def answer(self, status, body, ctype, config):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def handle_any(self):
            config = load_config(folder)
            length = int(self.headers.get("Content-Length", "0") or 0)
            body = self.rfile.read(length) if length else b""
            parsed = urllib.parse.urlsplit(self.path)
            params = dict(urllib.parse.parse_qsl(parsed.query, keep_blank_values=True))
            if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                params.update(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
            if parsed.path == "/DescribeSavingsPlans":
                action, service, json_api = "DescribeSavingsPlans", "savingsplans", True
            else:
                action = params.get("Action", "")
                service = "sts" if action == "AssumeRole" else "ec2"
                json_api = False
            ok, reason, key, session = signature_check(self, body, config)
            entry = {"action": action, "service": service, "signature_ok": ok,
                     "error": reason,
                     "key": "platform" if key == config["platform"]["access_key_id"]
                     else "session" if session else "unknown",
                     "role": session["role"] if session else None}

            def fail(status, code, message):
                entry["error"] = code
                with open(log_path, "a") as log:
                    log.write(json.dumps(entry) + "\n")
                if json_api:
                    self.answer(status, json.dumps({"__type": code, "message": message}).encode(),
                                "application/json", config)
                elif service == "sts":
                    self.answer(status, sts_error(code, message), "text/xml", config)
                else:
                    self.answer(status, xml_error(code, message), "text/xml", config)

            if not ok:
                status = 400 if reason in ("ExpiredToken", "RequestTimeTooSkewed") else 403
                if reason == "RequestTimeTooSkewed":
                    return fail(403, reason, "The difference between the request time and the current time is too large.")
                return fail(status, reason, "request refused: %s" % reason)
            # an action called with the platform's key other than AssumeRole,
            # or AssumeRole with a session key, is refused as AWS would
            if (action == "AssumeRole") != (entry["key"] == "platform"):
                return fail(403, "AccessDenied", "not authorized to perform this action")
            if config.get("delay", {}).get(action):
                time.sleep(config["delay"][action])
            count = STATE["throttled"].get(action, 0)
            if count < config.get("throttle", {}).get(action, 0):
                STATE["throttled"][action] = count + 1
                if json_api:
                    return fail(429, "ThrottlingException", "Rate exceeded")
                return fail(503, "RequestLimitExceeded", "Request limit exceeded.")
            if action in config.get("fail", {}):
                return fail(int(config["fail"][action]), "InternalError", "fake failure")
            malformed = action in config.get("malformed", [])

            def done(status, data, ctype):
                with open(log_path, "a") as log:
                    log.write(json.dumps(entry) + "\n")
                self.answer(status, data, ctype, config)

            if action == "AssumeRole":
                role = params.get("RoleArn")
                want = config.get("roles", {}).get(role)
                if want is None or params.get("ExternalId") != want:
                    return fail(403, "AccessDenied",
                                "User: arn:aws:iam::000000000000:user/commitopt is not authorized to perform: sts:AssumeRole on resource: %s" % role)
                lifetime = min(int(params.get("DurationSeconds", "3600")),
                               config.get("session_seconds", 3600))
                ak = "ASIAFAKE" + secrets.token_hex(6).upper()
                STATE["sessions"][ak] = {"secret": secrets.token_urlsafe(30),
                                         "token": "FAKE-SESSION-" + secrets.token_hex(16),
                                         "expires": now(config) + lifetime,
                                         "calls": 0, "role": role}
                s = STATE["sessions"][ak]
                xml = ("<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                       "<AssumeRoleResult><Credentials><AccessKeyId>%s</AccessKeyId>"
                       "<SecretAccessKey>%s</SecretAccessKey><SessionToken>%s</SessionToken>"
                       "<Expiration>%s</Expiration></Credentials>"
                       "<AssumedRoleUser><Arn>%s/commitopt-sync</Arn></AssumedRoleUser>"
                       "</AssumeRoleResult></AssumeRoleResponse>"
                       % (ak, s["secret"], s["token"], iso(s["expires"]), role))
                return done(200, xml.encode(), "text/xml")
            if action == "DescribeInstances":
                pages = instance_pages(fixtures, config.get("page_size", 2))
                index = int(params.get("NextToken", "0") or 0)
                token = str(index + 1) if index + 1 < len(pages) else None
                body = render_instances(pages[index], token)
                if malformed:
                    body = body[:len(body) // 2]
                return done(200, body, "text/xml")
            if action == "DescribeReservedInstances":
                body = reserved_instances(fixtures, config)
                if malformed:
                    body = body.replace(b"</reservedInstancesSet>", b"</reservedInstances>")
                return done(200, body, "text/xml")
            if action == "DescribeSavingsPlans":
                request = json.loads(body or b"{}")
                plans = savings_plans(config)
                size = config.get("page_size", 2)
                index = int(request.get("nextToken") or 0)
                answer = {"savingsPlans": plans[index:index + size]}
                if index + size < len(plans):
                    answer["nextToken"] = str(index + size)
                data = json.dumps(answer).encode()
                if malformed:
                    data = data[:-5]
                return done(200, data, "application/json")
            return fail(400, "InvalidAction", "unknown action")

        do_GET = handle_any
        do_POST = handle_any

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(os.path.join(folder, "server.crt"),
                            os.path.join(folder, "server.key"))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    with open(os.path.join(folder, "port.tmp"), "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(os.path.join(folder, "port.tmp"), os.path.join(folder, "port"))
    server.serve_forever()


if __name__ == "__main__":
    main()
