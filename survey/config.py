"""Configuration: this class, then environment variables, then ``create_app`` overrides."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"


class Config:
    SQLALCHEMY_DATABASE_URI: str | None = None  # default: SQLite file in instance/
    # No pool pre-ping (one round trip per checkout): a connection lost in a restart is met by the
    # respondent path's retry (survey.services.retry) and by the 503 page elsewhere. The drill's
    # intermittent staff-page 500 without it was the 503 page loading the user again from the lost
    # database (fixed in survey.errors); 10 of 10 drills passed without the ping after that fix.
    # pool_recycle: before any idle timeout of a firewall or PgBouncer.
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_recycle": 1800}
    # PostgreSQL: responses are chained into their round's log by a thread of each process, in
    # batches gathered for up to CHAIN_BATCH_SECONDS (survey.integrity.chaining); None: so,
    # except under TESTING, where each request waits for its own chaining (no timing in tests).
    CHAIN_IN_BACKGROUND: bool | None = None
    CHAIN_BATCH_SECONDS = 0.05
    # `round verify` and the integrity page: a response without a place in the log submitted in
    # the last CHAIN_PENDING_SECONDS is one the chaining thread has not reached yet, not an insertion
    CHAIN_PENDING_SECONDS = 60
    # Read-only pages (results, progress, exports, integrity, reports) on a PostgreSQL streaming
    # replica (survey.db.read_only); unset: everything on the primary.
    DATABASE_READ_URL: str | None = None
    READ_REPLICA_MAX_LAG = 60  # seconds; a replica further behind is skipped (the primary answers)
    READ_REPLICA_BANNER_LAG = 1  # seconds; from this delay on, pages say how old their data is
    # The live results page recomputes integrity flags at most this often and up to this many responses.
    LIVE_FLAGS_MAX_AGE_SECONDS = 300
    LIVE_FLAGS_MAX_RESPONSES = 100_000  # ≈3 s of flags at 100k (bench/flags.py), as 50k cost before issue 12
    READ_REPLICA_RETRY_SECONDS = 10  # a replica found down is not asked again for this long
    SECRET_KEY: str | None = None
    AUTO_MIGRATE = True
    BABEL_DEFAULT_LOCALE = "zh_Hans_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    WTF_I18N_ENABLED = False  # WTForms' own zh messages (survey.forms.Form), not English fallbacks
    WTF_CSRF_TIME_LIMIT = None  # valid for the session: a parent may leave the form open
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024  # roster and workbook uploads; larger bodies get 413
    MAX_FORM_BYTES = 64 * 1024  # respondent POSTs are tiny; refuse anything bigger
    RATELIMIT_STORAGE_URI = "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    LOGIN_RATE_LIMIT = "10 per minute"  # unused since the shared throttle below (kept for old configs)
    # Login throttle (survey.services.throttle), our own defaults: 5 free failures per account,
    # then 1, 2, 4 … seconds up to 5 minutes between attempts; 30 free failures per address.
    LOGIN_FREE_ATTEMPTS = 5
    LOGIN_ADDRESS_FREE_ATTEMPTS = 30
    LOGIN_DELAY_BASE_SECONDS = 1
    LOGIN_DELAY_MAX_SECONDS = 300
    LOGIN_FAILURE_WINDOW_SECONDS = 24 * 3600
    LOGIN_THROTTLE_REDIS_PREFIX = "yzjh:login:"
    # Staff sessions (survey.services.sessions), our own defaults: 30 minutes idle, 8 hours at most.
    STAFF_SESSION_IDLE_SECONDS = 30 * 60
    STAFF_SESSION_MAX_SECONDS = 8 * 3600
    PERMANENT_SESSION_LIFETIME = 8 * 3600  # the signed cookie's own expiry (staff sessions only are permanent)
    PUBLIC_BASE_URL: str | None = None  # base of printed links; default: the request's host
    PROXY_FIX_X_FOR = 0  # number of trusted proxies in front of the app
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    COMPRESS_MIMETYPES = ["text/html", "text/css", "text/csv", "application/json", "image/svg+xml"]
    COMPRESS_ALGORITHM = ["gzip"]
    COMPRESS_MIN_SIZE = 500
    COMPRESS_LEVEL = 4  # the page is ~25 KB; level 4 is within 10% of 6 in size at half the CPU
    RESPONSE_TOKEN_MAX_AGE = 24 * 3600  # a started questionnaire may be submitted within a day
    PROGRESS_REFRESH_SECONDS = 10
    QUESTIONNAIRE_DIR: str | None = None  # default: instruments/questionnaires
    FINGERPRINT_KEY: str | None = None  # HMAC key of address/browser hashes; default: instance/fingerprint_key
    SIGNING_KEY_FILE: str | None = None  # Ed25519 key of sealed archives; default: instance/signing_key.pem
    # PostgreSQL: the respondent's common requests are answered before Flask (survey.collect.lean);
    # env LEAN_RESPONDENT_PATH=0 sends every request through the Flask view
    LEAN_RESPONDENT_PATH = True
    DB_RETRY_DELAY_SECONDS = 1.0  # respondent requests: wait this long, then retry once on a fresh connection
    MAX_ROSTER_SCHOOLS = 2000  # our own default: generous for one county (env MAX_ROSTER_SCHOOLS)
    LINKS_PER_PAGE = 300  # round page: entry links per page
    POSTERS_PER_PAGE = 100  # poster page: A4 posters per page (each carries an inline QR code)
    # SPSS .sav is built as one frame in memory (pyreadstat has no incremental writer): rounds with
    # more responses are refused with a pointer to CSV/XLSX, which stream (env EXPORT_SAV_MAX_ROWS)
    EXPORT_SAV_MAX_ROWS = 200_000


def from_environment() -> dict:
    """Settings read from the environment (docs/interfaces.md §1: DATABASE_URL, SECRET_KEY)."""
    env: dict = {}
    if os.environ.get("DATABASE_URL"):
        env["SQLALCHEMY_DATABASE_URI"] = normalise_db_url(os.environ["DATABASE_URL"])
    for name in ("SECRET_KEY", "PUBLIC_BASE_URL", "RATELIMIT_STORAGE_URI", "FINGERPRINT_KEY", "SIGNING_KEY_FILE"):
        if os.environ.get(name):
            env[name] = os.environ[name]
    if os.environ.get("DATABASE_READ_URL"):
        env["DATABASE_READ_URL"] = normalise_db_url(os.environ["DATABASE_READ_URL"])
    for name in ("READ_REPLICA_MAX_LAG", "READ_REPLICA_BANNER_LAG", "READ_REPLICA_RETRY_SECONDS", "CHAIN_BATCH_SECONDS",
                 "CHAIN_PENDING_SECONDS"):
        if os.environ.get(name):
            env[name] = float(os.environ[name])
    if os.environ.get("LOGIN_THROTTLE_REDIS_PREFIX"):  # several installations sharing one Redis
        env["LOGIN_THROTTLE_REDIS_PREFIX"] = os.environ["LOGIN_THROTTLE_REDIS_PREFIX"]
    for name in ("MAX_ROSTER_SCHOOLS", "LOGIN_FREE_ATTEMPTS", "LOGIN_DELAY_BASE_SECONDS", "LOGIN_DELAY_MAX_SECONDS",
                 "LIVE_FLAGS_MAX_AGE_SECONDS", "LIVE_FLAGS_MAX_RESPONSES"):
        if os.environ.get(name):
            env[name] = int(os.environ[name])
    if os.environ.get("EXPORT_SAV_MAX_ROWS"):
        env["EXPORT_SAV_MAX_ROWS"] = int(os.environ["EXPORT_SAV_MAX_ROWS"])
    if os.environ.get("LEAN_RESPONDENT_PATH"):
        env["LEAN_RESPONDENT_PATH"] = os.environ["LEAN_RESPONDENT_PATH"].strip().lower() not in ("0", "false", "no", "off")
    if os.environ.get("PROXY_FIX_X_FOR"):
        env["PROXY_FIX_X_FOR"] = int(os.environ["PROXY_FIX_X_FOR"])
    return env


def normalise_db_url(url: str) -> str:
    """Let people paste ``postgres://`` or ``postgresql://`` URLs; we drive psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def default_database_uri() -> str:
    INSTANCE.mkdir(exist_ok=True)
    return f"sqlite:///{INSTANCE / 'survey.sqlite3'}"


def instance_secret_key() -> str:
    """The embedded default keeps a generated key in instance/ so sessions survive restarts."""
    INSTANCE.mkdir(exist_ok=True)
    path = INSTANCE / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()
