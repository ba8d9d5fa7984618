"""`python run.py <command>` (docs/interfaces.md §1).

Each module here owns its commands and lists them in ``commands``. Bad input raises
``evaluator.errors.InputError``; ``main`` prints its Chinese message on stderr and
exits 2, with nothing written.
"""

from __future__ import annotations

import sys

import click

from evaluator.errors import InputError

from . import demo, evaluation, integrity, overview, rounds, service, social_recognition, users

cli = click.Group(name="run.py", help="县域义务教育优质均衡督导评估工具")
for _module in (service, users, rounds, integrity, demo, evaluation, social_recognition, overview):
    for _command in _module.commands:
        cli.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    try:
        cli.main(args=argv, prog_name="run.py", standalone_mode=False)
    except InputError as exc:
        click.echo(f"错误：{exc}", err=True)
        return 2
    except click.UsageError as exc:
        where = f"（{exc.ctx.command_path}）" if exc.ctx else ""
        click.echo(f"命令行参数错误{where}：{exc.format_message()}", err=True)
        return 2
    except click.ClickException as exc:
        click.echo(f"错误：{exc.format_message()}", err=True)
        return exc.exit_code
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.Abort:
        click.echo("已取消", err=True)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
