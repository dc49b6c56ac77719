"""The API's JSON parser (its own module: DRF imports it while its views are loading)."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, answering very deep nesting with a 400 instead of a crash."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:  # json raises this, not ValueError, past ~1,000 levels
            raise ParseError("JSON parse error - nested too deeply.") from None
