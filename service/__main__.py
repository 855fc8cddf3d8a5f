"""`python -m service` is the `dondoc` command."""

from service.cli import app

app(prog_name="dondoc")
