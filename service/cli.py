"""The `dondoc` command."""

from __future__ import annotations

import typer

app = typer.Typer(help="dondoc: theo dõi, đôn đốc thực hiện kế hoạch của UBND.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """dondoc."""
