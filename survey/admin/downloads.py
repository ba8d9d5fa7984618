"""Downloads a bureau opens: responses with Chinese headers (CSV/XLSX) and SPSS .sav."""

from __future__ import annotations

import io

from flask import abort, send_file

from survey.access import roles_required, round_or_404
from survey.admin import bp
from survey.admin.views import READERS
from survey.exports import export_bytes
from survey.instruments import catalogue

_MIME = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "sav": "application/x-spss-sav",
}


@bp.get("/rounds/<int:round_id>/answers.<ext>")
@roles_required(*READERS)
def round_export_zh(round_id: int, ext: str):
    rnd = round_or_404(round_id)
    if ext not in _MIME:
        abort(404)
    buf = io.BytesIO(export_bytes(rnd, catalogue(), ext, labels="zh"))  # the same file as `round export --labels zh`
    return send_file(buf, mimetype=_MIME[ext], as_attachment=True, download_name=f"{rnd.name}_回答.{ext}")
