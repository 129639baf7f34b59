"""The reservation codes that travel between a cluster and CSSM, in the formats of real ones.

A request code names the cluster (``CB-ZCSW:<serial>-<9 base58>-<2 hex>``); an authorization code
is ``specificPLR`` XML signed by the licensing server; confirmation and return codes are derived
from the authorization code they answer, so CSSM can check them without any channel other than
the person (or operator) who carries them. The signature is an HMAC under a key of the world,
which stands in for Cisco's ECDSA key: both sides of the simulator share the world, the operator
only ever copies codes verbatim.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from random import Random

from smartlicensing.testing.sim import choices

_REQUEST_CODE = re.compile(choices.REQUEST_CODE_PATTERN)
_UDI = re.compile(r"^P:(?P<pid>[^,]*),S:(?P<serial>[^,]*),U:(?P<uuid>[^,]*)$")


class CodeError(ValueError):
    """A code does not parse, or its signature does not verify."""


def serial_of(cluster_uuid: str) -> str:
    return cluster_uuid.replace("-", "").upper()[: choices.SERIAL_LENGTH]


def _check_digits(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:2].upper()


def base58(data: bytes, length: int) -> str:
    number = int.from_bytes(data, "big")
    alphabet = choices.BASE58_ALPHABET
    characters = []
    for _ in range(length):
        number, digit = divmod(number, len(alphabet))
        characters.append(alphabet[digit])
    return "".join(characters)


def request_code(cluster_uuid: str, rng: Random) -> str:
    nonce = base58(rng.randbytes(16), 9)
    body = (
        f"{choices.REQUEST_CODE_VERSION}-Z{choices.PRODUCT_PID}:{serial_of(cluster_uuid)}-{nonce}"
    )
    return f"{body}-{_check_digits(body)}"


@dataclass(frozen=True)
class RequestCode:
    pid: str
    serial: str


def parse_request_code(code: str) -> RequestCode:
    match = _REQUEST_CODE.match(code.strip())
    if match is None:
        raise CodeError(choices.TEXT_MALFORMED_REQUEST_CODE)
    body = code.strip().rsplit("-", 1)[0]
    if match["check"] != _check_digits(body):
        raise CodeError(choices.TEXT_MALFORMED_REQUEST_CODE)
    return RequestCode(pid=match["pid"], serial=match["serial"])


@dataclass(frozen=True)
class AuthorizationCode:
    """What an authorization code grants, once parsed and verified."""

    piid: str
    timestamp_ms: int
    pid: str
    serial: str
    uuid: str
    entitlements: dict[str, int]
    """License name to count."""

    @property
    def is_plr(self) -> bool:
        return choices.PLR in self.entitlements


def _sign(key: bytes, text: str) -> str:
    return base64.b64encode(hmac.new(key, text.encode(), hashlib.sha256).digest()).decode()


def authorization_code(
    key: bytes,
    *,
    piid: str,
    issued: datetime,
    serial: str,
    uuid: str,
    entitlements: dict[str, int],
) -> str:
    """A signed ``specificPLR`` document granting ``entitlements`` (license name to count)."""
    root = ET.Element("authorizationCode")
    ET.SubElement(root, "flag").text = "A"
    ET.SubElement(root, "version").text = "C"
    ET.SubElement(root, "piid").text = piid
    ET.SubElement(root, "timestamp").text = str(int(issued.timestamp() * 1000))
    items = ET.SubElement(root, "entitlements")
    for name, count in sorted(entitlements.items()):
        item = ET.SubElement(items, "entitlement")
        ET.SubElement(item, "tag").text = choices.ENTITLEMENT_TAGS[name]
        ET.SubElement(item, "count").text = str(count)
        ET.SubElement(item, "startDate").text = issued.strftime("%Y-%b-%d UTC")
        ET.SubElement(item, "endDate").text = ""
        ET.SubElement(item, "licenseType").text = choices.LICENSE_TYPE
        ET.SubElement(item, "displayName").text = name
        ET.SubElement(item, "tagDescription").text = name
        ET.SubElement(item, "subscriptionID").text = ""
    signed = ET.tostring(root, encoding="unicode")
    udi = f"P:{choices.PRODUCT_PID},S:{serial},U:{uuid}"
    return (
        f"<specificPLR>{signed}<signature>{_sign(key, signed + udi)}</signature>"
        f"<udi>{udi}</udi></specificPLR>"
    )


def parse_authorization_code(key: bytes, code: str) -> AuthorizationCode:
    """Parse and verify; any failure is a ``CodeError`` whose text carries no part of the code."""
    if len(code.encode()) > choices.AUTHORIZATION_CODE_MAX_BYTES:
        raise CodeError(choices.TEXT_CODE_TOO_LONG)
    text = code.strip()
    if text.startswith("<smartLicense>"):  # some tools wrap it; the content is the same
        text = text.removeprefix("<smartLicense>").removesuffix("</smartLicense>")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as error:
        raise CodeError(choices.TEXT_CODE_NOT_XML) from error
    body = root.find("authorizationCode")
    signature = root.findtext("signature", "")
    udi = _UDI.match(root.findtext("udi", ""))
    if root.tag != "specificPLR" or body is None or udi is None:
        raise CodeError(choices.TEXT_CODE_INCOMPLETE)
    signed = ET.tostring(body, encoding="unicode")
    if not hmac.compare_digest(_sign(key, signed + udi.group(0)), signature):
        raise CodeError(choices.TEXT_CODE_SIGNATURE)
    entitlements: dict[str, int] = {}
    for item in body.iterfind("entitlements/entitlement"):
        name = choices.LICENSE_BY_TAG.get(item.findtext("tag", ""))
        if name is None:
            raise CodeError(choices.TEXT_CODE_UNKNOWN_ENTITLEMENT)
        entitlements[name] = entitlements.get(name, 0) + int(item.findtext("count", "0"))
    return AuthorizationCode(
        piid=body.findtext("piid", ""),
        timestamp_ms=int(body.findtext("timestamp", "0")),
        pid=udi["pid"],
        serial=udi["serial"],
        uuid=udi["uuid"],
        entitlements=entitlements,
    )


def confirmation_code(key: bytes, authorization: str) -> str:
    """The 8 hex digits a cluster answers when it installs an updated authorization code."""
    digest = hmac.new(key, b"confirm:" + authorization.strip().encode(), hashlib.sha256)
    return digest.hexdigest()[: choices.CONFIRMATION_CODE_LENGTH]


def return_code(key: bytes, authorization: str) -> str:
    """The code a cluster gives back for ``authorization``; CSSM checks it when removing."""
    digest = hmac.new(key, b"return:" + authorization.strip().encode(), hashlib.sha512).digest()
    total = sum(choices.RETURN_CODE_GROUPS)
    text = base58(digest, total)
    groups, start = [], 0
    for size in choices.RETURN_CODE_GROUPS:
        groups.append(text[start : start + size])
        start += size
    return "-".join(groups)
