"""Caller-ID normalisation: the formats callers really send, withheld, garbage."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.callerid import NumberKind, normalize, readable

SAME = ["+49 (0)341 2538-5555", "0341/2538-5555", "0049 341 25385555", "034125385555",
        "+4934125385555", "+49 341 2538-5555", "(0341) 2538 5555"]


@pytest.mark.parametrize("raw", SAME)
def test_every_format_of_one_number_is_the_same_e164(raw: str) -> None:
    assert normalize(raw, "DE").e164 == "+4934125385555"


@pytest.mark.parametrize("raw", ["anonymous", "", "Restricted", "<unknown>", "  ", None])
def test_withheld(raw: str | None) -> None:
    assert normalize(raw).kind is NumberKind.WITHHELD


@pytest.mark.parametrize("raw", ["1001", "5555", "42"])
def test_internal_extensions(raw: str) -> None:
    n = normalize(raw)
    assert n.kind is NumberKind.EXTENSION and n.extension == raw and n.e164 is None


@pytest.mark.parametrize("raw", ["garbage!!", "<script>", "12ab34", "+", "0"])
def test_garbage_is_invalid(raw: str) -> None:
    assert normalize(raw).kind is NumberKind.INVALID


def test_default_region_is_a_setting() -> None:
    assert normalize("030 1234567", "DE").e164 == "+49301234567"
    assert normalize("020 7946 0018", "GB").e164 == "+442079460018"


@given(st.text(max_size=300))
@settings(max_examples=500, deadline=None)
def test_never_raises(raw: str) -> None:
    result = normalize(raw)
    assert result.kind in NumberKind
    if result.e164 is not None:
        assert result.e164.startswith("+") and result.e164[1:].isdigit()


@given(st.integers(min_value=2_000_000, max_value=99_999_999), st.sampled_from(
    ["+49 341 {n}", "0341/{n}", "0049341{n}", "0341 {n}", "+49 (0)341 {n}"]))
@settings(max_examples=200, deadline=None)
def test_formats_agree(n: int, fmt: str) -> None:
    assert normalize(fmt.format(n=n)).e164 == normalize(f"+49341{n}").e164


@pytest.mark.parametrize("raw", ["+49 341\r\n2538", "0341\x002538", "+49\nAction: Originate",
                                 "1" * 10_000])
def test_control_characters_and_huge_strings_are_invalid(raw: str) -> None:
    n = normalize(raw)
    assert n.kind is NumberKind.INVALID and n.e164 is None
    assert "\r" not in n.raw and "\n" not in n.raw and len(n.raw) <= 64 * 6


@pytest.mark.parametrize(("e164", "shown"), [
    ("+4934125385555", "+49 341 25385555"), ("+4940123456", "+49 40 123456"),
    ("+4917612345678", "+49 176 12345678"), ("+441632960123", "+44 1632 960123"),
    (None, None), ("", ""), ("1001", "1001"), ("+4", "+4")])
def test_readable_groups_a_number_as_its_country_writes_it(e164: str | None, shown: str | None) -> None:
    assert readable(e164) == shown


@given(st.integers(min_value=2_000_000, max_value=99_999_999))
@settings(max_examples=200, deadline=None)
def test_readable_is_read_back_as_the_same_number(n: int) -> None:
    e164 = normalize(f"+49341{n}").e164
    shown = readable(e164)
    assert shown is not None and " " in shown and normalize(shown).e164 == e164
