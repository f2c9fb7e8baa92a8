"""Pebble, the ACME test CA (Debian ``pebble``), on loopback with a generated listener certificate.

Debian ships no certificate for Pebble's HTTPS listener, so the first start makes a throwaway
listener CA and a ``localhost``/``127.0.0.1`` server certificate (cryptography library) in the
component's folder; ``listener-ca.pem`` is what the ACME client verifies the directory with.
Pebble's DNS-01 look-ups go to our hosted DNS (``-dnsserver``).

Two profiles: ``fast`` (no validation sleep, no rejected nonces) for most tests and the demo,
and ``hostile`` (Pebble's defaults: a random 0-15 s validation delay, 5 % of good nonces
rejected, authorizations reused at random) for the one run that proves we cope with them.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
from pathlib import Path

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from starter.stack.process import ManagedProcess, port_open, wait_until

PEBBLE = "/usr/bin/pebble"
START_TIMEOUT = 20.0
LISTENER_VALIDITY = dt.timedelta(days=3650)
PROFILES = {
    "fast": {"PEBBLE_VA_NOSLEEP": "1", "PEBBLE_WFE_NONCEREJECT": "0"},
    "hostile": {},  # Pebble's own defaults
}


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_listener_certificate(folder: Path) -> tuple[Path, Path, Path]:
    """(CA file, server certificate, server key) for Pebble's listener; made once, then reused."""
    ca_file, cert_file, key_file = (folder / "listener-ca.pem", folder / "listener-cert.pem",
                                    folder / "listener-key.pem")
    if ca_file.exists() and cert_file.exists() and key_file.exists():
        return ca_file, cert_file, key_file
    folder.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("Edgeward local Pebble listener CA")
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now).not_valid_after(now + LISTENER_VALIDITY)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                         critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("localhost")).issuer_name(ca_name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + LISTENER_VALIDITY)
            .add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    key_file.write_bytes(_pem_key(key))
    key_file.chmod(0o600)
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return ca_file, cert_file, key_file


class PebbleServer:
    """``pebble -config <folder>/pebble-config.json -dnsserver 127.0.0.1:<dns_port>``."""

    def __init__(self, folder: Path, port: int, mgmt_port: int, dns_port: int,
                 profile: str = "fast") -> None:
        if profile not in PROFILES:
            raise ValueError(f"unknown Pebble profile {profile!r}; use one of {', '.join(PROFILES)}")
        self.port, self.mgmt_port, self.dns_port, self.profile = port, mgmt_port, dns_port, profile
        self.process = ManagedProcess("pebble", folder)

    @property
    def folder(self) -> Path:
        return self.process.folder

    @property
    def directory_url(self) -> str:
        return f"https://127.0.0.1:{self.port}/dir"

    @property
    def root_url(self) -> str:
        """The CA root that signs issued chains (Pebble makes a new one on every start)."""
        return f"https://127.0.0.1:{self.mgmt_port}/roots/0"

    @property
    def ca_bundle(self) -> Path:
        """The CA file that verifies Pebble's own HTTPS listener."""
        return self.folder / "listener-ca.pem"

    def _write_config(self) -> Path:
        _, cert, key = make_listener_certificate(self.folder)
        config = {"pebble": {
            "listenAddress": f"127.0.0.1:{self.port}",
            "managementListenAddress": f"127.0.0.1:{self.mgmt_port}",
            "certificate": str(cert), "privateKey": str(key),
            "httpPort": 5002, "tlsPort": 5001,  # HTTP-01/TLS-ALPN-01 targets; we use DNS-01 only
            "ocspResponderURL": "", "externalAccountBindingRequired": False,
        }}
        path = self.folder / "pebble-config.json"
        path.write_text(json.dumps(config, indent=2))
        return path

    def _ready(self) -> bool:
        if not port_open(self.port) or not port_open(self.mgmt_port):
            return False
        try:
            ctx = ssl.create_default_context(cafile=str(self.ca_bundle))
            return httpx.get(self.directory_url, verify=ctx, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start(self) -> None:
        if self.process.running_pid() is not None and self._ready():
            return
        config = self._write_config()
        proc = self.process.spawn([PEBBLE, "-config", str(config),
                                   "-dnsserver", f"127.0.0.1:{self.dns_port}"],
                                  env=PROFILES[self.profile])
        wait_until(self._ready, START_TIMEOUT, "Pebble", self.process.log_file, proc)

    def stop(self) -> bool:
        return self.process.stop()

    def root_pem(self) -> str:
        """The current issuing root, fetched from the management interface."""
        ctx = ssl.create_default_context(cafile=str(self.ca_bundle))
        return httpx.get(self.root_url, verify=ctx, timeout=5).raise_for_status().text
