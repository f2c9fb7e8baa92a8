"""Domain validation and normalisation (DESIGN.md, Add Website)."""

from __future__ import annotations

import pytest

from schema.domains import InvalidDomain, normalize_domain


@pytest.mark.parametrize(("raw", "ascii_form", "unicode_form"), [
    ("Example.COM", "example.com", "example.com"),
    ("  www.example.com.  ", "www.example.com", "www.example.com"),
    ("Café.Test", "xn--caf-dma.test", "café.test"),
    ("xn--caf-dma.test", "xn--caf-dma.test", "café.test"),
    ("faß.de", "xn--fa-hia.de", "faß.de"),  # UTS-46 non-transitional: ß stays
    ("ＥＸＡＭＰＬＥ.com", "example.com", "example.com"),  # full-width folded
    ("shop.example.co.uk", "shop.example.co.uk", "shop.example.co.uk"),
])
def test_normalised_to_ascii_beside_unicode(raw: str, ascii_form: str, unicode_form: str) -> None:
    d = normalize_domain(raw)
    assert (d.ascii, d.unicode) == (ascii_form, unicode_form)


@pytest.mark.parametrize(("raw", "code", "says"), [
    ("https://example.com", "url_not_domain", "give only the domain name"),
    ("example.com/shop", "url_not_domain", "path"),
    ("example.com?x=1", "url_not_domain", "query"),
    ("user@example.com", "url_not_domain", "user part"),
    ("example.com:8080", "port", "without ':<port>'"),
    ("192.0.2.1", "ip_address", "IP address"),
    ("[2001:db8::1]", "ip_address", "IP address"),
    ("co.uk", "public_suffix", "public suffix"),
    ("github.io", "public_suffix", "example.github.io"),
    ("localhost", "single_label", "single label"),
    ("a..example.com", "empty_label", "empty label"),
    ("under_score.com", "idna", "not a valid domain"),
    ("-lead.com", "idna", "hyphen"),
    ("a" * 64 + ".com", "idna", "too long"),
    (("a" * 60 + ".") * 5 + "com", "too_long", "limit is 253"),
    ("", "empty", "empty"),
])
def test_refused_with_a_reason(raw: str, code: str, says: str) -> None:
    with pytest.raises(InvalidDomain) as err:
        normalize_domain(raw)
    assert err.value.code == code
    assert says.lower() in str(err.value).lower()
