"""`serve`: the web service."""

from __future__ import annotations

import click


def _die_with_master(server, worker) -> None:
    """Linux: a worker is killed the moment its master dies, even by ``kill -9`` (an open
    transaction simply rolls back), so no orphaned worker keeps the port and serves on
    (elsewhere gunicorn's own parent check applies)."""
    import ctypes
    import signal
    import sys

    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl
            pass


class _Gunicorn:
    """gunicorn with the app preloaded, so the schema is migrated once, before workers fork."""

    @staticmethod
    def run(host: str, port: int, workers: int, threads: int) -> None:
        from gunicorn.app.base import BaseApplication

        from survey import create_app

        class App(BaseApplication):
            def load_config(self):
                self.cfg.set("bind", f"{host}:{port}")
                self.cfg.set("workers", workers)
                self.cfg.set("threads", threads)
                self.cfg.set("preload_app", True)
                from survey.integrity.accesslog import configure

                configure(self.cfg)  # no raw client addresses or entry codes by default (ACCESS_LOG)
                # `kill PID` of this process stops the whole server promptly: requests are short,
                # so 5 s of grace is plenty; no control socket left behind in the home directory.
                self.cfg.set("graceful_timeout", 5)
                # idle keep-alive connections: longer than nginx's upstream keepalive_timeout (4 s in
                # deploy/), so nginx, not gunicorn, closes them (no POST lost to a closing connection)
                self.cfg.set("keepalive", 5)
                self.cfg.set("control_socket_disable", True)
                self.cfg.set("post_fork", _die_with_master)

            def load(self):
                return create_app()

        App().run()


@click.command("serve", help="运行网页服务（默认 127.0.0.1:5000）")
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址")
@click.option("--port", default=5000, type=click.IntRange(1, 65535), show_default=True, help="端口")
@click.option("--workers", default=2, type=click.IntRange(1, 64), show_default=True, help="工作进程数")
@click.option("--threads", default=4, type=click.IntRange(1, 64), show_default=True, help="每个进程的线程数")
def serve(host: str, port: int, workers: int, threads: int) -> None:
    click.echo(f"服务地址：http://{host}:{port}/  （按 Ctrl+C 停止）", err=True)
    _Gunicorn.run(host, port, workers, threads)


commands = [serve]
