"""HTTPS on the centre's network (issue 13, finding M3), with real daemons.

A node whose `listen` is not a loopback address serves its web UI and API over
TLS with the certificate `terril-node enrol` made (the one whose fingerprint
`status --json` prints), refuses plain HTTP on that port, and sets `Secure` on
the session cookie; the login page's call (the 401 of /api/v1/status) carries
the fingerprint for the footer. `--plain-http` (or `plain_http = true`) serves
plain HTTP there instead, and `doctor` reports it. Loopback stays plain HTTP.
The rule is on the configured address: the node listens on 0.0.0.0 and the
tests connect through 127.0.0.1.

Run: TERRIL_BUILD=build python3 -m unittest -v tests/integration/test_node_https.py
"""

import hashlib
import http.client
import json
import os
import re
import shutil
import socket
import ssl
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import NODE_BIN, STAFF_PASSWORD, Cluster, run  # noqa: E402

A = "valenciennes-beaujardin"
FINGERPRINT = re.compile(r"^([0-9A-F]{2}:){31}[0-9A-F]{2}$")
YEAR_S = 365 * 86400


def peer_fingerprint(port):
    """SHA-256 of the certificate the node presents on 127.0.0.1:port, in the colon-hex form."""
    ctx = ssl._create_unverified_context()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            der = tls.getpeercert(binary_form=True)
    h = hashlib.sha256(der).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


def request(port, method, path, body=None, https=True):
    """One request on a fresh connection: (status, headers as a list, parsed JSON body or text)."""
    if https:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=ssl._create_unverified_context())
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        payload = r.read()
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = payload.decode(errors="replace")
        return r.status, r.getheaders(), parsed
    finally:
        conn.close()


def set_cookie(headers):
    return [v for k, v in headers if k.lower() == "set-cookie"]


def status_json(node):
    return json.loads(node.cli("status", "--json").stdout)


def doctor_json(node, *flags):
    p = node.cli("doctor", "--json", *flags, check=False)
    return p.returncode, {c["check"]: c for c in json.loads(p.stdout)["checks"]}


def node_log(node):
    with open(os.path.join(node.dir, "..", node.node_id + ".log"), errors="replace") as f:
        return f.read()


class NodeHttpsTest(unittest.TestCase):
    def test_m3_off_loopback_serves_https_with_the_enrolled_certificate(self):
        with Cluster() as cl:
            cl.hub.start()
            n = cl.add_node("box-https", A, start=False)
            # Made at enrolment: key private, fingerprint in `status --json`.
            fp = status_json(n)["web_fingerprint"]
            self.assertRegex(fp or "", FINGERPRINT)
            cert, key = os.path.join(n.dir, "tls", "web-cert.pem"), os.path.join(n.dir, "tls", "web-key.pem")
            self.assertEqual(os.stat(key).st_mode & 0o777, 0o600)
            decoded = ssl._ssl._test_decode_cert(cert)
            self.assertIn(("DNS", "box-https"), decoded["subjectAltName"])
            self.assertIn(("DNS", socket.gethostname()), decoded["subjectAltName"])
            # The box has no battery-backed clock: long-lived, and valid well before today.
            self.assertLess(ssl.cert_time_to_seconds(decoded["notBefore"]), time.time() - 300 * 86400)
            self.assertGreater(ssl.cert_time_to_seconds(decoded["notAfter"]), time.time() + 9.9 * YEAR_S)

            n.start(listen="0.0.0.0:0", https=True)
            port = n.process.port
            self.assertEqual(peer_fingerprint(port), fp)
            self.assertIn("node listening on https://0.0.0.0:", node_log(n))

            # Plain HTTP on the TLS port gets no HTTP answer.
            with self.assertRaises((http.client.HTTPException, OSError)):
                request(port, "GET", "/healthz", https=False)

            s, headers, body = request(port, "POST", "/api/v1/login", {"password": STAFF_PASSWORD})
            self.assertEqual(s, 200, body)
            cookies = set_cookie(headers)
            self.assertEqual(len(cookies), 1, headers)
            self.assertIn("; Secure", cookies[0])
            self.assertIn("HttpOnly", cookies[0])

            # The login page's footer: the 401 of /api/v1/status carries the fingerprint; so does the status.
            s, _, body = request(port, "GET", "/api/v1/status")
            self.assertEqual(s, 401, body)
            self.assertEqual(body["code"], "unauthenticated")
            self.assertEqual(body["web_fingerprint"], fp)
            self.assertEqual(n.status()["web_fingerprint"], fp)
            s, _, js = request(port, "GET", "/assets/app.js")
            self.assertEqual(s, 200)
            self.assertIn("Empreinte du certificat de ce boîtier : ", js)

            # doctor: the fingerprint line, HTTPS reported as fine.
            _, checks = doctor_json(n, "--listen", "0.0.0.0:8080")
            self.assertTrue(checks["web UI"]["ok"], checks["web UI"])
            self.assertIn("HTTPS", checks["web UI"]["detail"])
            self.assertTrue(checks["web certificate"]["ok"])
            self.assertIn("Empreinte du certificat de ce boîtier : " + fp, checks["web certificate"]["detail"])
            text = n.cli("status", "--listen", "0.0.0.0:8080").stdout
            self.assertIn("Empreinte du certificat de ce boîtier : " + fp, text)
            self.assertIn("https://0.0.0.0:8080", text)

    def test_m3_box_enrolled_before_https_gets_a_certificate_at_first_serve(self):
        with Cluster() as cl:
            cl.hub.start()
            n = cl.add_node("box-old", A, start=False)
            shutil.rmtree(os.path.join(n.dir, "tls"))  # as a box enrolled by an older version
            self.assertIsNone(status_json(n)["web_fingerprint"])
            _, checks = doctor_json(n, "--listen", "0.0.0.0:8080")
            self.assertTrue(checks["web certificate"]["ok"], checks["web certificate"])
            n.start(listen="0.0.0.0:0", https=True)
            fp = status_json(n)["web_fingerprint"]
            self.assertRegex(fp or "", FINGERPRINT)
            self.assertEqual(peer_fingerprint(n.process.port), fp)
            self.assertEqual(os.stat(os.path.join(n.dir, "tls", "web-key.pem")).st_mode & 0o777, 0o600)
            self.assertEqual(n.status()["web_fingerprint"], fp)

    def test_m3_plain_http_flag_serves_http_and_doctor_reports_it(self):
        with Cluster() as cl:
            cl.hub.start()
            n = cl.add_node("box-plain", A, start=False)
            n.start(listen="0.0.0.0:0", extra=["--plain-http"])
            port = n.process.port
            self.assertIn("plain_http is on", node_log(n))
            self.assertIn("node listening on http://0.0.0.0:", node_log(n))
            s, headers, body = request(port, "POST", "/api/v1/login", {"password": STAFF_PASSWORD}, https=False)
            self.assertEqual(s, 200, body)
            self.assertNotIn("Secure", set_cookie(headers)[0])
            self.assertIsNone(n.status()["web_fingerprint"])  # not serving TLS: nothing to compare

            rc, checks = doctor_json(n, "--listen", "0.0.0.0:8080", "--plain-http")
            self.assertEqual(rc, 1)
            self.assertFalse(checks["web UI"]["ok"])
            self.assertIn("plain_http", checks["web UI"]["detail"])
            self.assertIn("sans chiffrement", checks["web UI"]["detail"])
            # The config key does the same as the flag.
            conf = os.path.join(cl.root, "node-plain.toml")
            with open(conf, "w") as f:
                f.write('listen = "0.0.0.0:8080"\nplain_http = true\n')
            p = run([NODE_BIN, "doctor", "--json", "--data-dir", n.dir, "--config", conf], check=False)
            self.assertEqual(p.returncode, 1)
            web = [c for c in json.loads(p.stdout)["checks"] if c["check"] == "web UI"][0]
            self.assertFalse(web["ok"], web)

    def test_m3_loopback_stays_plain_http(self):
        with Cluster() as cl:
            cl.hub.start()
            n = cl.add_node("box-local", A)  # harness default: --listen 127.0.0.1:0
            port = n.process.port
            s, headers, body = request(port, "POST", "/api/v1/login", {"password": STAFF_PASSWORD}, https=False)
            self.assertEqual(s, 200, body)
            self.assertNotIn("Secure", set_cookie(headers)[0])
            self.assertIsNone(n.status()["web_fingerprint"])
            s, _, body = request(port, "GET", "/api/v1/status", https=False)
            self.assertEqual((s, body["web_fingerprint"]), (401, None))
            self.assertIn("node listening on http://127.0.0.1:", node_log(n))
            _, checks = doctor_json(n)
            self.assertTrue(checks["web UI"]["ok"], checks["web UI"])


if __name__ == "__main__":
    unittest.main()
