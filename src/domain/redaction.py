"""Keeping secrets out of `repr()` (and so out of logs, tracebacks, debuggers and rich output)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import msgspec

S = TypeVar("S", bound=msgspec.Struct)


class _Redacted:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<redacted>"


REDACTED = _Redacted()


def fields_repr(name: str, fields: Iterable[tuple[str, object]]) -> str:
    return f"{name}({', '.join(f'{field}={value!r}' for field, value in fields)})"


def redacted(*secret_fields: str) -> Callable[[type[S]], type[S]]:
    """A class decorator: repr() (and rich) show `secret_fields` as <redacted> (UNSET as UNSET).

    Only the rendering changes: equality, encoding and decoding still see the real values.
    """

    def shown(self: msgspec.Struct) -> list[tuple[str, Any]]:
        return [
            (field, REDACTED if field in secret_fields and value is not msgspec.UNSET else value)
            for field in self.__struct_fields__
            for value in (getattr(self, field),)
        ]

    def __repr__(self: msgspec.Struct) -> str:
        return fields_repr(type(self).__name__, shown(self))

    def apply(cls: type[S]) -> type[S]:
        cls.__repr__ = __repr__  # type: ignore[method-assign,assignment]
        cls.__rich_repr__ = shown  # type: ignore[method-assign]
        return cls

    return apply


def mask_url(url: str) -> str:
    """`url` with the password of its user info, and any `password` query value, as `***`."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return "<redacted>"
    if password is None and "password" not in parts.query:
        return url
    if password is not None:
        userinfo, _, host = parts.netloc.rpartition("@")
        parts = parts._replace(netloc=f"{userinfo.partition(':')[0]}:***@{host}")
    if "password" in parts.query:
        query = [
            (key, "***" if key == "password" else value)
            for key, value in parse_qsl(parts.query, keep_blank_values=True)
        ]
        parts = parts._replace(query=urlencode(query, safe="*"))
    return parts.geturl()
