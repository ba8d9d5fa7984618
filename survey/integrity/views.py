"""Staff and evaluator pages of survey integrity (their own ``integrity`` blueprint, under the
same /admin/rounds/… URLs as before; evaluators reach the integrity page from the overview): the round's
integrity page, the sealed-archive download, one-time slip codes and the per-group setting
for answering several times from one browser."""

from __future__ import annotations

import base64

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask import Response as FlaskResponse

from evaluator.groups import GROUPS
from evaluator.integrity import KIND_LABELS
from survey import qr
from survey.access import READERS, WRITERS, roles_required, round_or_404
from survey.db import read_only
from survey.i18n import _
from survey.instruments import catalogue
from survey.integrity import slips
from survey.integrity.keys import app_public_fingerprint, app_signing_key
from survey.integrity.report import link_times, round_integrity, verify_round, without_flagged
from survey.integrity.seal import build_archive
from survey.integrity.timeline import timeline_svg
from survey.services import ServiceError
from survey.services.cell_sums import store_flags
from survey.services.live_results import page_rules
from survey.services.rounds import describe_link
from survey.views_common import action_or_400, base_url, flash_refusal

bp = Blueprint("integrity", __name__, url_prefix="/admin")

MAX_TIMELINES = 40


@bp.get("/rounds/<int:round_id>/integrity")
@roles_required(*READERS)
@read_only
def round_integrity_page(round_id: int):
    rnd = round_or_404(round_id)
    report, activity, rules = round_integrity(rnd)
    store_flags(rnd, page_rules(rnd), set(report.by_response))  # the results page's score without them
    chain = verify_round(rnd)
    links = {ln.code: ln for ln in rnd.links}
    flagged_links = list(dict.fromkeys(f["link"] for f in report.flags))
    busiest = list(activity.sizes)
    shown = (flagged_links + [k for k in busiest if k not in flagged_links])[:MAX_TIMELINES]
    timelines = []
    if busiest:
        start, end = activity.first_at, activity.last_at
        for code in shown:
            ln = links.get(code)
            if ln is None:
                continue
            sub = link_times(ln)
            timelines.append({"link": ln, "name": describe_link(ln), "n": len(sub), "flagged": code in flagged_links,
                              "svg": timeline_svg(sub, report.flagged_bins.get(code, set()), rules.timeline_minutes,
                                                  start, end, rules.timezone, describe_link(ln))})
    recognition = None
    if report.flagged:
        from survey.services.round_recognition import round_recognition_sql

        try:
            full = round_recognition_sql(rnd, catalogue()).to_dict()
        except Exception:  # noqa: BLE001 - shown as "not yet computable", like the results page
            full = None
        recognition = {"with": full, "without": without_flagged(rnd, catalogue(), flagged=set(report.by_response))}
    return render_template("integrity/round.html", rnd=rnd, report=report, chain=chain, timelines=timelines,
                           kinds=KIND_LABELS, groups=GROUPS, minutes=rules.timeline_minutes,
                           recognition=recognition, fingerprint=app_public_fingerprint(),
                           more=max(0, len(busiest) - len(timelines)))


@bp.get("/rounds/<int:round_id>/sealed.zip")
@roles_required(*READERS)
@read_only
def round_sealed(round_id: int):
    rnd = round_or_404(round_id)
    data = build_archive(rnd, catalogue(), app_signing_key(), base_url())
    return FlaskResponse(data, mimetype="application/zip", headers={
        "Content-Disposition": f"attachment; filename=round{rnd.id}_sealed.zip"})


@bp.post("/rounds/<int:round_id>/repeat")
@roles_required(*WRITERS)
def round_repeat(round_id: int):
    """Which groups may answer several times from one browser (computer room, shared phone)."""
    rnd = round_or_404(round_id)
    action_or_400()
    chosen = slips.set_repeat_groups(rnd, [g for g in GROUPS if request.form.get(f"repeat-{g}")])
    if chosen:
        flash(_("已保存：%(groups)s 的入口允许同一设备依次为多人作答。", groups="、".join(GROUPS[g].label for g in chosen)),
              "ok")
    else:
        flash(_("已保存：每个入口同一浏览器只能提交一次。"), "ok")
    return redirect(url_for("admin.round_detail", round_id=rnd.id))


def _link(rnd, code: str):
    ln = next((ln for ln in rnd.links if ln.code == code), None)
    if ln is None:
        abort(404)
    return ln


@bp.post("/rounds/<int:round_id>/links/<code>/slips")
@roles_required(*WRITERS)
def link_slips(round_id: int, code: str):
    """Switch a link to "code required" and print N new one-time slips (A4 sheet + CSV).
    The codes exist only in this response: the database keeps their keyed hashes."""
    rnd = round_or_404(round_id)
    ln = _link(rnd, code)
    action_or_400()
    try:
        issued = slips.issue_slips(ln, slips.parse_slip_count(ln, request.form.get("n")), base_url())
    except ServiceError as exc:
        flash_refusal(exc)
        return redirect(url_for("admin.round_detail", round_id=rnd.id))
    csv_uri = "data:text/csv;charset=utf-8;base64," + base64.b64encode(("\ufeff" + issued.csv_text).encode()).decode()
    items = [{"code": c, "url": issued.url(c), "svg": qr.svg_inline(issued.url(c))} for c in issued.codes]
    return render_template("integrity/slips.html", rnd=rnd, ln=ln, name=describe_link(ln), slips=items, csv_uri=csv_uri,
                           batch=issued.batch, group=GROUPS[ln.group])


@bp.post("/rounds/<int:round_id>/links/<code>/slips/off")
@roles_required(*WRITERS)
def link_slips_off(round_id: int, code: str):
    rnd = round_or_404(round_id)
    ln = _link(rnd, code)
    action_or_400()
    slips.stop_slips(ln)
    flash(_("%(where)s：已取消答题码，扫码即可作答。", where=describe_link(ln)), "ok")
    return redirect(url_for("admin.round_detail", round_id=rnd.id))


@bp.app_template_global("signing_fingerprint")
def signing_fingerprint() -> str | None:
    """The installation's public-key fingerprint (round page, evaluation sign sheet)."""
    try:
        return app_public_fingerprint()
    except (OSError, ValueError):
        return None
