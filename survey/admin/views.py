"""Staff pages. Views parse input, call one service, render or redirect."""

from __future__ import annotations

import io
import re

from flask import (
    Response as FlaskResponse,
)
from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user

from evaluator.errors import InputError
from evaluator.groups import GROUPS
from evaluator.rules import DEFAULT_RULESET
from survey import qr
from survey.access import READERS, WRITERS, roles_required, round_or_404
from survey.admin import bp
from survey.admin.forms import ActionForm, RoundForm
from survey.db import read_only, refused
from survey.i18n import _
from survey.instruments import catalogue
from survey.pagination import paginate
from survey.rulesets import ruleset_choices, ruleset_title
from survey.services import ServiceError
from survey.services.counties import is_placeholder
from survey.services.exports import EXPORT_FORMATS
from survey.services.links import link_url, links_csv_text
from survey.services.posters import address_warning, poster_items, selected_links
from survey.services.posters import posters_zip as zip_of_posters
from survey.services.progress import progress
from survey.services.rounds import (
    answered_by_school,
    create_round,
    describe_link,
    propose_quotas,
    round_recognition_rules,
    set_quotas,
    visible_rounds,
)
from survey.views_common import action_or_400, base_url, form_page, local_to_utc


@bp.get("/")
@roles_required(*READERS)
def index():
    return render_template("admin/index.html", rounds=visible_rounds(current_user))


@bp.route("/rounds/new", methods=["GET", "POST"])
@roles_required(*WRITERS)
def round_new():
    form = RoundForm()
    form.ruleset.choices = ruleset_choices()
    if request.method == "GET":
        form.ruleset.data = DEFAULT_RULESET
        form.stop_when_full.data = True
        if current_user.role == "staff" and current_user.county:
            form.county_code.data = current_user.county.code
    if form.validate_on_submit():
        if current_user.role == "staff" and form.county_code.data != current_user.county.code:
            form.county_code.errors.append(_("您只能为本县（%(code)s）创建调查", code=current_user.county.code))
        else:
            try:
                upload = form.roster.data
                rnd = create_round(
                    county_code=form.county_code.data, county_name=form.county_name.data, name=form.name.data,
                    roster_source=upload.stream, roster_filename=upload.filename, catalogue=catalogue(),
                    ruleset=form.ruleset.data, opens_at=local_to_utc(form.opens.data),
                    closes_at=local_to_utc(form.closes.data), target_n=form.target_n.data,
                    resident_population=form.resident_population.data, stop_when_full=form.stop_when_full.data,
                    created_by=current_user, max_schools=current_app.config["MAX_ROSTER_SCHOOLS"],
                )
            except InputError as exc:
                refused()
                field = {"county": form.county_code, "county_name": form.county_name, "name": form.name,
                         "closes": form.closes, "target_n": form.target_n}.get(exc.field or "", form.roster)
                field.errors = [*field.errors, str(exc)]
            else:
                flash(_("已创建调查“%(name)s”，共 %(n)s 所学校。", name=rnd.name, n=len(rnd.schools)), "ok")
                if is_placeholder(rnd.county.name):
                    flash(_("县 %(code)s 暂定名为“%(name)s”，请点“修改设置”改为正式名称。",
                            code=rnd.county.code, name=rnd.county.name), "ok")
                return redirect(url_for(".round_detail", round_id=rnd.id))
    return form_page("admin/round_new.html", form=form)


@bp.get("/rounds/<int:round_id>")
@roles_required(*READERS)
def round_detail(round_id: int):
    rnd = round_or_404(round_id)
    plan = propose_quotas(rnd.schools, round_recognition_rules(rnd), target_n=rnd.target_n,
                          resident_population=rnd.resident_population)
    links = sorted(rnd.links, key=lambda ln: (ln.school is None, ln.school.code if ln.school else "", list(GROUPS).index(ln.group)))
    links, pager = paginate(links, current_app.config["LINKS_PER_PAGE"])
    from survey.services.corrections import history

    return render_template("admin/round_detail.html", rnd=rnd, links=links, plan=plan, form=ActionForm(),
                           ruleset_title=ruleset_title(rnd.ruleset),
                           describe=describe_link, base=base_url(), groups=GROUPS, can_edit=current_user.role in WRITERS,
                           history=history(rnd), answered=answered_by_school(rnd), pager=pager)


@bp.post("/rounds/<int:round_id>/quotas")
@roles_required(*WRITERS)
def round_quotas(round_id: int):
    rnd = round_or_404(round_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    quotas: dict[int, int] = {}
    names = {ln.id: describe_link(ln) for ln in rnd.links}
    for key, value in request.form.items():
        if not key.startswith("quota-"):
            continue
        try:
            link_id = int(key.removeprefix("quota-"))
        except ValueError:
            abort(400)
        text = value.strip()
        if not re.fullmatch(r"[0-9]{1,7}", text):
            flash(_("%(where)s：配额应为 0–9999999 的整数，您填写的是“%(v)s”，未保存任何修改。",
                    where=names.get(link_id, key), v=text), "error")
            return redirect(url_for(".round_detail", round_id=rnd.id))
        quotas[link_id] = int(text)
    try:
        set_quotas(rnd, quotas)
    except ServiceError as exc:
        refused()
        flash(str(exc) + _("，未保存任何修改。"), "error")
    else:
        flash(_("配额已保存。"), "ok")
    return redirect(url_for(".round_detail", round_id=rnd.id))


@bp.post("/rounds/<int:round_id>/close")
@roles_required(*WRITERS)
def round_close(round_id: int):
    rnd = round_or_404(round_id)
    action_or_400()
    from survey.services.corrections import close

    close(rnd, by=current_user)
    flash(_("调查已结束，不再接受新的回答。"), "ok")
    return redirect(url_for(".round_detail", round_id=rnd.id))


@bp.get("/rounds/<int:round_id>/posters")
@roles_required(*READERS)
def posters(round_id: int):
    """Posters for the whole round, or filtered by ?school=CODE and/or ?group=KEY."""
    rnd = round_or_404(round_id)
    base = base_url()
    selected, pager = paginate(selected_links(rnd, request.args.get("school"), request.args.get("group")),
                               current_app.config["POSTERS_PER_PAGE"])
    return render_template("admin/posters.html", rnd=rnd, posters=poster_items(rnd, selected, catalogue(), base),
                           pager=pager, address_warning=address_warning(base, current_app.config.get("PUBLIC_BASE_URL")))


@bp.get("/rounds/<int:round_id>/qr/<code>.<ext>")
@roles_required(*READERS)
def qr_image(round_id: int, code: str, ext: str):
    rnd = round_or_404(round_id)
    ln = next((ln for ln in rnd.links if ln.code == code), None)
    if ln is None or ext not in ("png", "svg"):
        abort(404)
    url = link_url(base_url(), ln.code)
    if ext == "png":
        return FlaskResponse(qr.png(url), mimetype="image/png")
    return FlaskResponse(qr.svg(url), mimetype="image/svg+xml")


@bp.get("/rounds/<int:round_id>/posters.zip")
@roles_required(*READERS)
def posters_zip(round_id: int):
    rnd = round_or_404(round_id)
    data = zip_of_posters(selected_links(rnd, request.args.get("school"), request.args.get("group")), base_url())
    return send_file(io.BytesIO(data), mimetype="application/zip", as_attachment=True,
                     download_name=f"round{rnd.id}_二维码.zip")


@bp.get("/rounds/<int:round_id>/links.csv")
@roles_required(*READERS)
def links_csv(round_id: int):
    """The same CSV as `round links` (one service), with a byte-order mark so Excel reads it as UTF-8."""
    rnd = round_or_404(round_id)
    return FlaskResponse("\ufeff" + links_csv_text(rnd, base_url()), mimetype="text/csv",
                         headers={"Content-Disposition": f"attachment; filename=round{rnd.id}_links.csv"})


@bp.get("/rounds/<int:round_id>/progress")
@roles_required(*READERS)
@read_only
def round_progress(round_id: int):
    rnd = round_or_404(round_id)
    prog = progress(rnd)
    template = "admin/_progress.html" if request.args.get("fragment") else "admin/progress.html"
    return render_template(template, rnd=rnd, prog=prog, groups=GROUPS,
                           refresh=current_app.config["PROGRESS_REFRESH_SECONDS"])


@bp.get("/rounds/<int:round_id>/export.<ext>")
@roles_required(*READERS)
@read_only
def round_export(round_id: int, ext: str):
    """The same file as `round export` (one service), streamed."""
    from survey.admin.downloads import download

    rnd = round_or_404(round_id)
    if ext not in EXPORT_FORMATS:
        abort(404)
    return download(rnd, ext, None, f"round{rnd.id}_responses.{ext}")


@bp.get("/rounds/<int:round_id>/results")
@roles_required(*READERS)
@read_only
def round_results(round_id: int):
    """Live social-recognition score with its CI, breakdowns and charts; while weighted groups
    are missing, the figures of the groups that answered and the county score pending."""
    from survey.services.live_results import results_page

    rnd = round_or_404(round_id)
    page = results_page(rnd, catalogue(), current_app.config["BABEL_DEFAULT_TIMEZONE"],
                        current_app.config.get("LIVE_FLAGS_MAX_AGE_SECONDS", 300),
                        current_app.config.get("LIVE_FLAGS_MAX_RESPONSES", 50_000))
    live = page.live
    return render_template("admin/results.html", rnd=rnd, r=live.result, live=live, problem=live.problem,
                           groups=GROUPS, missing="、".join(GROUPS[g].label for g in live.missing),
                           charts=page.charts, without_flagged=page.without_flagged, dropped=page.dropped,
                           school_names=page.school_names, n_total=page.n_total,
                           refresh=current_app.config["PROGRESS_REFRESH_SECONDS"] * 3)
