"""Posters: the QR entry links of a round, selected and ordered, as printable items or a ZIP of
PNG codes, and the warning when the address on them is one phones cannot reach."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from ipaddress import ip_address
from urllib.parse import urlsplit

from evaluator.groups import GROUPS
from evaluator.questionnaire import Catalogue
from survey import qr
from survey.i18n import _
from survey.models import EntryLink, SurveyRound
from survey.pins import round_questionnaire
from survey.services.links import link_url


def selected_links(rnd: SurveyRound, school: str | None = None, group: str | None = None) -> list[EntryLink]:
    """The round's links, filtered by school code and/or group, in school-code then group order."""
    links = [
        ln for ln in rnd.links
        if (not school or (ln.school and ln.school.code == school)) and (not group or ln.group == group)
    ]
    order = list(GROUPS)
    return sorted(links, key=lambda ln: (ln.school is None, ln.school.code if ln.school else "", order.index(ln.group)))


def poster_items(rnd: SurveyRound, links: Sequence[EntryLink], catalogue: Catalogue, base: str) -> list[dict]:
    """One printable poster per link: its address, inline SVG code, group and audience text."""
    items = []
    for ln in links:
        url = link_url(base, ln.code)
        items.append({"link": ln, "url": url, "svg": qr.svg_inline(url), "group": GROUPS[ln.group],
                      "audience": round_questionnaire(rnd, catalogue, ln.group).audience[ln.group]})
    return items


def address_warning(base: str, public_base_url: str | None) -> str | None:
    """Posters printed with an address phones cannot reach are wasted paper: say so on screen."""
    host = (urlsplit(base).hostname or "").lower()
    try:
        loopback = ip_address(host).is_loopback or ip_address(host).is_unspecified
    except ValueError:
        loopback = host == "localhost" or host.endswith(".localhost")
    if loopback:
        return _("注意：海报上的网址是 %(url)s，这是本机地址，家长的手机无法打开。请管理员设置 PUBLIC_BASE_URL"
                 "（如 https://wj.example.gov.cn/）后再打印。", url=base)
    if not public_base_url:
        return _("注意：没有设置对外网址（PUBLIC_BASE_URL），海报上印的是您当前访问的地址 %(url)s。"
                 "请确认手机能打开这个地址后再打印。", url=base)
    return None


def poster_name(ln: EntryLink) -> str:
    label = GROUPS[ln.group].label
    stem = f"{ln.school.code}_{ln.school.name}_{label}" if ln.school else f"全县_{label}"
    return "".join(c for c in stem if c not in '\\/:*?"<>|') + ".png"


def posters_zip(links: Sequence[EntryLink], base: str) -> bytes:
    """A ZIP with one PNG code per link, named school code_school_group."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for ln in links:
            zf.writestr(poster_name(ln), qr.png(link_url(base, ln.code)))
    return buf.getvalue()
