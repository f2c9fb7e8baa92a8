"""Domain validation and normalisation for Add Website (DESIGN.md, "Add Website").

A domain a user types is normalised to lower case and to its IDNA (UTS-46) ASCII form, kept
beside its Unicode form: ``Café.Test`` -> ``xn--caf-dma.test`` / ``café.test``. Refused, each
with a message that says what to fix: a scheme, path, query, port or user part (a URL instead of
a domain), an IP address, a public suffix (``co.uk``, ``github.io``), a single label, labels or
names over the DNS length limits, and characters IDNA does not allow.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

import idna
from publicsuffixlist import PublicSuffixList

MAX_NAME = 253  # RFC 1035: the presentation form without the trailing dot
MAX_LABEL = 63
_LDH = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


class InvalidDomain(ValueError):
    """A domain that cannot be a website: the message says what to fix.

    ``domain`` is what the user gave, ``code`` a short machine-readable reason for the API.
    """

    def __init__(self, domain: str, message: str, code: str = "invalid_domain") -> None:
        super().__init__(message)
        self.domain = domain
        self.code = code


@dataclass(frozen=True)
class Domain:
    """A normalised domain: ``ascii`` for DNS, ACME and the edges; ``unicode`` for people."""

    ascii: str
    unicode: str

    @property
    def www_ascii(self) -> str:
        return f"www.{self.ascii}"


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def _refuse_url_parts(raw: str, text: str) -> None:
    if "://" in text or text.startswith("//"):
        raise InvalidDomain(raw, f"{raw!r} is a URL; give only the domain name, e.g. 'example.com'",
                            "url_not_domain")
    for char, what in (("/", "a path"), ("?", "a query"), ("#", "a fragment"), ("@", "a user part"),
                       (" ", "a space"), ("\\", "a backslash")):
        if char in text:
            raise InvalidDomain(raw, f"{raw!r} contains {what}; give only the domain name, "
                                "e.g. 'example.com'", "url_not_domain")
    if text.startswith("[") or _is_ip(text):
        raise InvalidDomain(raw, f"{raw!r} is an IP address; a website needs a domain name",
                            "ip_address")
    if ":" in text:
        raise InvalidDomain(raw, f"{raw!r} contains a port; give the domain without ':<port>'",
                            "port")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def normalize_domain(raw: str) -> Domain:
    """Validate ``raw`` and return its ASCII and Unicode forms, or raise InvalidDomain."""
    if not isinstance(raw, str) or not raw.strip():
        raise InvalidDomain(str(raw), "the domain is empty; give a domain name such as 'example.com'",
                            "empty")
    text = raw.strip()
    _refuse_url_parts(raw, text)
    text = text.removesuffix(".")
    if text.endswith(".") or ".." in text or text.startswith("."):
        raise InvalidDomain(raw, f"{raw!r} has an empty label (two dots in a row, or a leading dot)",
                            "empty_label")
    if len(text) > MAX_NAME:  # an ASCII form is never shorter than what it encodes
        raise InvalidDomain(raw, f"the domain is {len(text)} characters long; the limit is "
                            f"{MAX_NAME}", "too_long")
    try:
        ascii_form = idna.encode(text, uts46=True, transitional=False).decode("ascii").lower()
        unicode_form = idna.decode(ascii_form)
    except idna.IDNAError as exc:
        raise InvalidDomain(raw, f"{raw!r} is not a valid domain name: {exc}", "idna") from None
    except UnicodeError as exc:  # over-long labels surface as UnicodeError from the codec
        raise InvalidDomain(raw, f"{raw!r} is not a valid domain name: {exc}", "idna") from None
    if _is_ip(ascii_form):
        raise InvalidDomain(raw, f"{raw!r} is an IP address; a website needs a domain name",
                            "ip_address")
    labels = ascii_form.split(".")
    if len(ascii_form) > MAX_NAME:
        raise InvalidDomain(raw, f"the domain is {len(ascii_form)} characters long in its ASCII "
                            f"form; the limit is {MAX_NAME}", "too_long")
    for label in labels:
        if len(label) > MAX_LABEL:
            raise InvalidDomain(raw, f"the label {label[:20]!r}... is {len(label)} characters long; "
                                f"the limit is {MAX_LABEL}", "label_too_long")
        if not _LDH.match(label):
            raise InvalidDomain(raw, f"the label {label!r} may hold only letters, digits and inner "
                                "hyphens", "bad_label")
    if len(labels) < 2:
        raise InvalidDomain(raw, f"{raw!r} has a single label; give a full domain such as "
                            "'example.com'", "single_label")
    if labels[-1].isdigit():
        raise InvalidDomain(raw, f"{raw!r} ends in a numeric label; give a domain name",
                            "numeric_tld")
    if _psl().is_public(ascii_form):
        raise InvalidDomain(raw, f"{unicode_form!r} is a public suffix, under which anyone can "
                            "register names; give your own domain inside it, e.g. "
                            f"'example.{unicode_form}'", "public_suffix")
    return Domain(ascii=ascii_form, unicode=unicode_form)
