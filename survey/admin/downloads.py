"""Downloads of a round's responses: the machine export (the view in survey.admin.views) and
the files a bureau opens, with Chinese headers (CSV/XLSX) and SPSS .sav.

The body streams (survey.services.exports.export_chunks). The view's own work (the round,
its scope, the integrity report the flags need) is done before it returns, and the
request's commit (survey.db.commit_request, ``after_request``) and the app context's
teardown end that session as for any page. ``stream_with_context`` pushes the same request
and app context again while the body is read. With the integrity flags (what a download
carries by default) the rows come back from the temporary file the one reading
of the round wrote while it made the integrity report; without them they are read by a new
session of that context (nothing from the view's session is used: the service keeps ids,
not ORM objects). The teardown closes that session, and the temporary file is removed,
after the last chunk or when the client goes away (the WSGI server closes the body, which
closes the generator)."""

from __future__ import annotations

import io
from collections.abc import Iterator

from flask import abort, send_file, stream_with_context

from survey.access import roles_required, round_or_404
from survey.admin import bp
from survey.admin.views import READERS
from survey.instruments import catalogue
from survey.services.exports import MIME, export_chunks


class _ChunkReader(io.RawIOBase):
    """A read-only file over an iterator of byte chunks, for ``send_file`` (which sets the
    attachment's Content-Disposition, ASCII and RFC 5987 names, as for any file)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self._rest = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        while not self._rest:
            try:
                self._rest = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(buf), len(self._rest))
        buf[:n], self._rest = self._rest[:n], self._rest[n:]
        return n

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close:
            close()
        super().close()


def download(rnd, fmt: str, labels: str | None, filename: str):
    """The export of ``rnd`` as a streamed attachment named ``filename``."""
    chunks = stream_with_context(export_chunks(rnd, catalogue(), fmt, labels))
    return send_file(_ChunkReader(chunks), mimetype=MIME[fmt], as_attachment=True, download_name=filename)


@bp.get("/rounds/<int:round_id>/answers.<ext>")
@roles_required(*READERS)
def round_export_zh(round_id: int, ext: str):
    rnd = round_or_404(round_id)
    if ext not in MIME:
        abort(404)
    return download(rnd, ext, "zh", f"{rnd.name}_回答.{ext}")  # the same file as `round export --labels zh`
