"""T36: a pinned connection still speaks to the name: Host header, TLS SNI and certificate.

A TLS server on 127.0.0.1 holds a certificate for ``gitlab.tls.example`` only; the test's DNS
resolves that name (and an impostor name) to 127.0.0.1. The client connects to the checked
address, sends the name in Host and SNI, verifies the certificate against the name, and refuses
the impostor name even though the address is the same."""

from __future__ import annotations

import datetime as dt
import http.server
import ssl
import threading

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tenants import gitlab as tg

NAME = "gitlab.tls.example"


def _certificate(tmp_path) -> tuple[str, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, NAME)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(NAME)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


@pytest.fixture
def tls_server(tmp_path):
    cert, key = _certificate(tmp_path)
    seen: dict[str, list] = {"sni": [], "host": []}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen["host"].append(self.headers.get("Host"))
            body = b'{"id": 1, "username": "mate-bot"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            return None

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: seen["sni"].append(name)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1], cert, seen
    finally:
        server.shutdown()
        server.server_close()


def test_pinned_tls_keeps_host_sni_and_the_certificate_check_for_the_name(
    settings, fake_dns, tls_server
):
    settings.MATE_ALLOW_PRIVATE_GITLAB = True  # the server is on loopback
    port, cert, seen = tls_server
    fake_dns.set(NAME, ["127.0.0.1"])
    fake_dns.set("impostor.tls.example", ["127.0.0.1"])
    gl = tg._client(f"https://{NAME}:{port}", "glpat-xxxxxxxxxxxxxxxxxxxx")
    gl.ssl_verify = cert  # python-gitlab passes it with every request
    assert gl.http_get("/user")["username"] == "mate-bot"
    assert seen["host"] == [f"{NAME}:{port}"] and seen["sni"] == [NAME]

    impostor = tg._client(f"https://impostor.tls.example:{port}", "glpat-xxxxxxxxxxxxxxxxxxxx")
    impostor.session.verify = cert
    with pytest.raises(requests.exceptions.SSLError, match="[Hh]ostname mismatch"):
        impostor.session.get(f"https://impostor.tls.example:{port}/api/v4/user")
    assert seen["host"] == [f"{NAME}:{port}"]  # no request was made over the failed handshake
