"""Report writers: report.json, report.html, report.docx, report.xlsx.

Writers consume the report dict (CONTRACTS.md §4 plus the extension keys listed in
REPORT_SCHEMA.md beside this file) and never recompute anything, so a stored
evaluation can be re-rendered from its JSON alone.
"""
