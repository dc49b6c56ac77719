"""`runserver` with a one-line banner: the address, and how to stop it.

Django's banner (date, version, settings module, a warning with a link) fills the terminal of
someone who just typed `make run`; this says what they need. `common` comes before WhiteNoise
in INSTALLED_APPS so this command wins, and it builds on WhiteNoise's (no static serving by
runserver: WhiteNoise serves them as in production).
"""

from __future__ import annotations

import os

from whitenoise.runserver_nostatic.management.commands.runserver import (
    Command as WhiteNoiseRunserver,
)


class Command(WhiteNoiseRunserver):
    def on_bind(self, server_port: int) -> None:
        address = f"[{self.addr}]" if self._raw_ipv6 else self.addr
        if address == "0":
            address = "0.0.0.0"  # noqa: S104  (what the person asked for)
        self.stdout.write(
            f"Once is at {self.protocol}://{address}:{server_port}/  (stop with Ctrl-C)"
        )
        if os.environ.get("DJANGO_RUNSERVER_HIDE_WARNING") != "true":
            self.stdout.write(
                "This is a development server: in production, run gunicorn (README, "
                "“Production shape”)."
            )
