"""A practice's own certificate authority for a LAN, and the checks ``tlh serve`` makes of
the certificate and key it is given.

Browsers give a page the camera only in a secure context, so a clinic's LAN needs HTTPS
too; with no public name there is no public CA to ask. ``tlh cert`` makes a private CA
once (kept: every device that trusts it keeps trusting renewed certificates) and a
server certificate for the names and addresses given, signed by it. Files, in one
folder (the keys readable by their owner only):

- ``ca.pem`` (give it to every device), ``ca-key.pem`` (never leaves the server);
- ``server.pem`` and ``server-key.pem`` (``tlh serve --cert --key``).

Depends on the standard library, ``cryptography`` and ``tlh.errors`` only: the CLI and
the server both use it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tlh.errors import InvalidInput, NotFound
from tlh.files import write_atomic

CA_CERT = "ca.pem"
CA_KEY = "ca-key.pem"
SERVER_CERT = "server.pem"
SERVER_KEY = "server-key.pem"
#: The CA lives ten years: re-trusting it on every device is the expensive step.
CA_DAYS = 3650
#: 397 days: what browsers accept from public CAs; private roots are held to no less
#: by some (Apple caps every TLS certificate at 825 days).
SERVER_DAYS = 397
#: Renewal is due this close to the end (``tlh cert renew`` says so before it).
RENEW_WITHIN = timedelta(days=30)

KeyType = ec.EllipticCurvePrivateKey


@dataclass(frozen=True)
class Names:
    """What a server certificate is valid for: DNS names and IP addresses."""

    dns: tuple[str, ...]
    ips: tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]

    @classmethod
    def parse(cls, given: list[str]) -> Names:
        """Names from the command line: an IP address is an address, anything else a
        host name (``tele.lan``, ``localhost``)."""
        dns: list[str] = []
        ips: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
        for raw in given:
            value = raw.strip()
            try:
                ips.append(ipaddress.ip_address(value))
                continue
            except ValueError:
                pass
            if not _is_host_name(value):
                raise InvalidInput(
                    f"{raw!r} is neither an IP address nor a host name (like tele.lan)"
                )
            dns.append(value.lower())
        if not dns and not ips:
            raise InvalidInput("name the server: --name HOST or --name IP (as many as needed)")
        return cls(tuple(dict.fromkeys(dns)), tuple(dict.fromkeys(ips)))

    def all(self) -> list[str]:
        return [*self.dns, *(str(ip) for ip in self.ips)]


def _is_host_name(value: str) -> bool:
    labels = value.rstrip(".").split(".")
    return bool(value) and len(value) <= 253 and all(_is_label(label) for label in labels)


def _is_label(label: str) -> bool:
    ok = label.replace("-", "").replace("_", "").isalnum() and label.isascii()
    return ok and 0 < len(label) <= 63 and not label.startswith("-") and not label.endswith("-")


@dataclass(frozen=True)
class Issued:
    """What ``make`` did: the files, whether the CA is new, the server cert's end."""

    folder: Path
    ca_created: bool
    names: Names
    not_after: datetime
    ca_fingerprint: str

    @property
    def ca(self) -> Path:
        return self.folder / CA_CERT

    @property
    def cert(self) -> Path:
        return self.folder / SERVER_CERT

    @property
    def key(self) -> Path:
        return self.folder / SERVER_KEY


def _new_key() -> KeyType:
    # P-256: every browser and OS accepts it, and it is fast on a small server.
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: KeyType) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _make_ca(practice: str, now: datetime) -> tuple[x509.Certificate, KeyType]:
    key = _new_key()
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, practice[:64] or "tlh"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"{practice[:40] or 'tlh'} private CA"),
        ]
    )
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def issue_server(
    ca: x509.Certificate,
    ca_key: KeyType,
    names: Names,
    *,
    now: datetime,
    days: int = SERVER_DAYS,
) -> tuple[x509.Certificate, KeyType]:
    """A server certificate for ``names`` signed by ``ca``, valid from ``now`` for ``days``."""
    key = _new_key()
    alt: list[x509.GeneralName] = [x509.DNSName(n) for n in names.dns]
    alt += [x509.IPAddress(ip) for ip in names.ips]
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names.all()[0])]))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    return cert, key


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint, as browsers and OS dialogs show it (``AB:CD:…``)."""
    return cert.fingerprint(hashes.SHA256()).hex(":").upper()


def _read_ca(folder: Path) -> tuple[x509.Certificate, KeyType] | None:
    cert_path, key_path = folder / CA_CERT, folder / CA_KEY
    if not cert_path.exists() and not key_path.exists():
        return None
    cert = read_certificate(cert_path)
    key = read_private_key(key_path)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not _same_key(cert, key):
        raise InvalidInput(f"{key_path} is not the key of {cert_path}: restore both from a backup")
    return cert, key


def make(
    folder: Path,
    names: Names,
    *,
    practice: str = "tlh",
    now: datetime | None = None,
    days: int = SERVER_DAYS,
) -> Issued:
    """Create the CA in ``folder`` unless it is there (then keep it), and issue a new
    server certificate and key for ``names``."""
    now = now or datetime.now(UTC)
    if not 1 <= days <= 825:
        raise InvalidInput("--days must be 1 to 825 (browsers refuse longer certificates)")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    found = _read_ca(folder)
    if found is None:
        ca, ca_key = _make_ca(practice, now)
        write_atomic(folder / CA_KEY, _key_pem(ca_key))
        write_atomic(folder / CA_CERT, _cert_pem(ca), mode=0o644)
    else:
        ca, ca_key = found
    cert, key = issue_server(ca, ca_key, names, now=now, days=days)
    # The key first: a crash between the two leaves the old cert failing the pair check
    # loudly (``check_pair``), never a cert served with a key it does not match silently.
    write_atomic(folder / SERVER_KEY, _key_pem(key))
    write_atomic(folder / SERVER_CERT, _cert_pem(cert) + _cert_pem(ca), mode=0o644)
    return Issued(folder, found is None, names, cert.not_valid_after_utc, fingerprint(ca))


def names_of(cert: x509.Certificate) -> Names:
    """The DNS names and IP addresses a certificate is valid for."""
    try:
        alt = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return Names((), ())
    return Names(
        tuple(alt.get_values_for_type(x509.DNSName)),
        tuple(alt.get_values_for_type(x509.IPAddress)),  # type: ignore[arg-type]
    )


def renew(folder: Path, *, now: datetime | None = None, days: int = SERVER_DAYS) -> Issued:
    """A new server certificate for the names of the current one, from the same CA."""
    path = folder / SERVER_CERT
    if not (folder / CA_CERT).exists() or not path.exists():
        raise NotFound(f"no certificate in {folder} to renew: make one with `tlh cert --name HOST`")
    names = names_of(read_certificate(path))
    if not names.all():
        raise InvalidInput(f"{path} names no host: make a new one with `tlh cert --name HOST`")
    return make(folder, names, now=now, days=days)


def read_certificate(path: Path) -> x509.Certificate:
    """The first certificate of a PEM file; a one-line ``InvalidInput`` otherwise."""
    data = _read(path, "certificate")
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError:
        raise InvalidInput(f"{path} is not a PEM certificate") from None


def read_private_key(path: Path) -> PrivateKeyTypes:
    """An unencrypted PEM private key; a one-line ``InvalidInput`` otherwise."""
    data = _read(path, "key")
    try:
        return serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise InvalidInput(
            f"{path} is encrypted with a passphrase: tlh needs the key unencrypted,"
            " readable by its own user only"
        ) from None
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidInput(f"{path} is not a PEM private key") from None


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidInput(f"the TLS {what} {path} does not exist") from None
    except IsADirectoryError:
        raise InvalidInput(f"the TLS {what} {path} is a folder, not a file") from None
    except OSError as exc:
        raise InvalidInput(f"cannot read the TLS {what} {path}: {exc.strerror}") from None


def _same_key(cert: x509.Certificate, key: PrivateKeyTypes) -> bool:
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    return bool(
        cert.public_key().public_bytes(der, spki) == key.public_key().public_bytes(der, spki)
    )


def check_pair(cert_path: Path, key_path: Path, *, now: datetime | None = None) -> x509.Certificate:
    """Refuse, in one line each, what would make ``tlh serve`` fail or browsers refuse:
    unreadable files, a key that is not the certificate's, an expired or future cert."""
    cert = read_certificate(cert_path)
    key = read_private_key(key_path)
    if not _same_key(cert, key):
        raise InvalidInput(
            f"the key {key_path} does not belong to the certificate {cert_path}"
            " (give the key made with it)"
        )
    now = now or datetime.now(UTC)
    if cert.not_valid_after_utc <= now:
        raise InvalidInput(
            f"the certificate {cert_path} expired on {cert.not_valid_after_utc:%Y-%m-%d}:"
            " renew it (`tlh cert renew`, or your CA's way)"
        )
    if cert.not_valid_before_utc > now:
        raise InvalidInput(
            f"the certificate {cert_path} is not valid before"
            f" {cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC: check this machine's clock"
        )
    return cert
