"""The thin command line over the library: `peacewatch COMMAND`.

`app` holds the group and its global options; the commands are grouped by the stage they
drive. Importing this package registers them all.
"""

from peacewatch.cli import ingest, stories, surfaces, tagging  # noqa: F401  (registers them)
from peacewatch.cli.app import cli


def main(argv: list[str] | None = None) -> object:
    return cli.main(args=argv, prog_name="peacewatch")


__all__ = ["cli", "main"]
