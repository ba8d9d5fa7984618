"""Suite-wide settings. In CI (CI=true) a skipped test fails the run: browser and
PostgreSQL tests must really run there."""

from __future__ import annotations

import os


def pytest_sessionfinish(session, exitstatus):
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if os.environ.get("CI") and skipped:
        reporter.write_line(f"CI: {len(skipped)} test(s) were skipped; in CI every test must run.", red=True)
        session.exitstatus = 1
