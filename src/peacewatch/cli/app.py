"""The command group, its global options and how errors reach the user.

Commands live beside this module by stage (`ingest`, `tagging`, `surfaces`); each parses its
options, calls one library function and turns PeacewatchError into a message and an exit
status (2 for configuration and for ids that name nothing).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from peacewatch.errors import ConfigError, InputError, PeacewatchError


class Context:
    """Global options, resolved lazily so `--help` never reads configuration."""

    def __init__(self, config_dir: Path, db_path: Path | None, log_format: str | None) -> None:
        self.config_dir = config_dir
        self.db_override = db_path
        self.log_format = log_format
        self._config: Any = None

    def config(self) -> Any:
        """The validated configuration; exits with status 2 on any mistake in it."""
        from peacewatch.config import load_config
        from peacewatch.logs import setup_logging

        if self._config is None:
            try:
                self._config = load_config(self.config_dir)
            except ConfigError as error:
                fail(error)
            settings = self._config.settings  # type: ignore[union-attr]
            setup_logging(self.log_format or settings.log_format, settings.log_level)
        return self._config

    def db_path(self) -> Path:
        return self.db_override or self.config().settings.db_path

    def open_db(self, *, readonly: bool = False) -> Any:
        from peacewatch.store.database import open_db

        return open_db(self.db_path(), readonly=readonly,
                       busy_timeout=self.config().settings.busy_timeout)  # fmt: skip


def fail(error: PeacewatchError) -> None:
    """Print an error the way users should see it and exit with the right status."""
    if isinstance(error, ConfigError | InputError):
        for problem in error.problems:
            click.echo(f"error: {problem}", err=True)
        sys.exit(2)
    click.echo(f"error: {error}", err=True)
    sys.exit(1)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=lambda: os.environ.get("PEACEWATCH_CONFIG", "config"),
    show_default="./config or $PEACEWATCH_CONFIG",
    help="Configuration directory.",
)
@click.option(
    "--db",
    "db_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=lambda: os.environ.get("PEACEWATCH_DB"),
    help="SQLite database (default: database.path in peacewatch.toml, or $PEACEWATCH_DB).",
)
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Log format (default: log_format in peacewatch.toml).",
)
@click.version_option(package_name="peacewatch")
@click.pass_context
def cli(ctx: click.Context, config_dir: Path, db_path: Path | None, log_format: str | None) -> None:
    """Collect, deduplicate and tag news on Russia-Ukraine peace initiatives."""
    ctx.obj = Context(Path(config_dir), Path(db_path) if db_path else None, log_format)


pass_context = click.make_pass_decorator(Context)


def _now() -> str:
    from peacewatch.timeutil import now_iso

    return now_iso()
