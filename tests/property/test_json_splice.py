"""Properties of `splice_model`, the passthrough path's rewrite of the top-level model name."""

from __future__ import annotations

import json
from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from aigateway.adapters.codecs.json_splice import splice_model

# strings that need escaping, look like JSON, or look like the key being replaced
tricky = st.sampled_from(
    [
        *('"', "\\", "/", "\n", "\t", "\x00", "\x1f", "\u2028", "é", "😀"),
        *(":", "{", "}", "[", "]", ",", '"model":"x"', "model", '\\"model\\"'),
    ]
)
texts = st.lists(tricky | st.characters(exclude_categories=["Cs"]), max_size=8).map("".join)
keys = st.sampled_from(["model", "Model", "models", "MODEL"]) | texts
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(keys, children, max_size=4),
    max_leaves=20,
)
others = st.lists(
    st.tuples(texts.filter(lambda k: k != "model"), json_values),
    max_size=6,
    unique_by=lambda p: p[0],
)
spacings = st.sampled_from([(",", ":"), (", ", ": "), (" ,\n  ", " :\t"), ("\r\n,", "\n:\n")])


class Body:
    """A JSON object written by hand, so it can hold duplicate keys and odd spacing."""

    def __init__(self, ensure_ascii: bool, spacing: tuple[str, str]) -> None:
        self.ensure_ascii = ensure_ascii
        self.item_sep, self.key_sep = spacing

    def value(self, value: Any) -> str:
        return json.dumps(value, ensure_ascii=self.ensure_ascii)

    def key(self, key: str, *, escaped: bool = False) -> str:
        if escaped:  # the same key spelled with an escape: "\u006dodel"
            return f'"\\u{ord(key[0]):04x}{self.value(key)[2:]}'
        return self.value(key)

    def member(self, key: str, value: Any, *, escaped: bool = False) -> str:
        return f"{self.key(key, escaped=escaped)}{self.key_sep}{self.value(value)}"

    def write(self, members: list[str]) -> bytes:
        return ("{ " + self.item_sep.join(members) + " }").encode()


@given(
    pairs=others,
    models=st.lists(st.tuples(texts, st.booleans(), st.integers(0, 10)), min_size=1, max_size=3),
    new=texts,
    ensure_ascii=st.booleans(),
    spacing=spacings,
)
def test_every_top_level_model_becomes_the_new_name_and_nothing_else_changes(
    pairs: list[tuple[str, Any]],
    models: list[tuple[str, bool, int]],
    new: str,
    ensure_ascii: bool,
    spacing: tuple[str, str],
) -> None:
    body = Body(ensure_ascii, spacing)
    members = [(body.member(k, v), k, v) for k, v in pairs]
    for old, escaped, at in models:  # each model key (some spelled with escapes) anywhere
        members.insert(at % (len(members) + 1), (body.member("model", old, escaped=escaped), "", 0))
    raw = body.write([m for m, _, _ in members])
    expected = {**json.loads(raw), "model": new}  # json.loads keeps the last duplicate
    assert json.loads(splice_model(raw, new)) == expected


raw_members = msgspec.json.Decoder(dict[str, msgspec.Raw]).decode


@given(pairs=others, old=texts, new=texts, ensure_ascii=st.booleans(), spacing=spacings)
def test_every_other_value_keeps_its_bytes_and_its_place(
    pairs: list[tuple[str, Any]], old: str, new: str, ensure_ascii: bool, spacing: tuple[str, str]
) -> None:
    body = Body(ensure_ascii, spacing)
    raw = body.write([body.member("model", old), *(body.member(k, v) for k, v in pairs)])
    sent, spliced = raw_members(raw), raw_members(splice_model(raw, new))
    assert list(spliced) == ["model", *(k for k in sent if k != "model")]
    assert json.loads(bytes(spliced["model"])) == new
    for key, value in sent.items():
        if key != "model":
            assert bytes(spliced[key]) == bytes(value)  # numbers, strings, escapes as sent
