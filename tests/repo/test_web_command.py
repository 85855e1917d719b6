"""The Procfile's `web:` line and `scrapestream web` start uvicorn the same way.

Both must serve through the guarded protocol (service/http_guard.py): a `web:`
line that lost `--http service.http_guard:...` would serve unbounded heads again.
"""

from __future__ import annotations

import shlex

from uvicorn.importer import import_from_string
from uvicorn.main import main as uvicorn_command

from service.cli import UVICORN_OPTIONS, WEB_APP
from service.http_guard import GuardedHttpToolsProtocol
from tests.support.procfile import procfile_command


def test_procfile_web_line_has_the_options_of_scrapestream_web() -> None:
    args = shlex.split(procfile_command("web").replace("$PORT", "8000"))
    assert args[0] == "uvicorn"
    params = uvicorn_command.make_context("uvicorn", args[1:]).params
    assert params["app"] == WEB_APP
    assert {name: params[name] for name in UVICORN_OPTIONS} == UVICORN_OPTIONS
    # Nothing else the web line sets beyond where to listen.
    defaults = uvicorn_command.make_context("uvicorn", [WEB_APP]).params
    changed = {name for name, value in params.items() if value != defaults[name]}
    assert changed - set(UVICORN_OPTIONS) <= {"host", "port"}


def test_the_web_protocol_is_the_guarded_one() -> None:
    assert import_from_string(UVICORN_OPTIONS["http"]) is GuardedHttpToolsProtocol
