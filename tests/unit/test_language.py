from __future__ import annotations

import pytest

from civicpulse.understanding.language import detect_language


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("小区门口的路灯坏了三天", "zh"),
        ("The street light on Elm St is out", "en"),
        ("A3区 bus 站牌被撞坏了，请尽快修复", "zh"),
        ("Улица не освещена", "other"),
        ("12345 !!!", "other"),
        ("WiFi 不好用", "zh"),
    ],
)
def test_detects_script(text: str, expected: str) -> None:
    assert detect_language(text) == expected
