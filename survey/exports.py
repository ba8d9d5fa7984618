"""Former home of the exports, entry links and progress, kept for one round of merges only:
branches started before this one import these names from here. The services are
survey.services.exports, survey.services.exports_zh, survey.services.links and
survey.services.progress; nothing in this branch imports this module. Remove it once no
branch does."""

from survey.services.exports import (
           EXPORT_FORMATS,
           FLAG_COLUMNS,
           META_COLUMNS,
           export_bytes,
           responses_frame,
)
from survey.services.links import LINKS_HEADER, link_url, links_csv_text, links_table
from survey.services.progress import Progress, ProgressRow, progress

__all__ = ["EXPORT_FORMATS", "FLAG_COLUMNS", "LINKS_HEADER", "META_COLUMNS", "Progress", "ProgressRow",
           "export_bytes", "link_url", "links_csv_text", "links_table", "progress", "responses_frame"]
