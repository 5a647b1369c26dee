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
        ("", "other"),
        ("WiFi 不好用", "zh"),
        # Latin letters are not enough to call a text English
        ("Die Straßenbeleuchtung in der Hauptstraße ist seit einer Woche kaputt", "other"),
        ("Neuzulassung von Zweitaktern sofort verbieten und mehr Radwege", "other"),
        ("Le lampadaire de la rue est en panne depuis une semaine", "other"),
        ("Naprawa chodnika przy ulicy, który jest w złym stanie", "other"),
        # short English titles without function words, and shorthand, stay English
        ("Pothole", "en"),
        ("cave in - r/w - Dist 3", "en"),
        ("Abandoned white van", "en"),
        # one stray foreign-looking word in a long English text does not flip it
        (
            "account legally paid full le full balance still reported recent charge error "
            "credit report bureau dispute letter sent twice no response company ignored",
            "en",
        ),
        ("Café on Main St leaves trash bags out every night", "en"),
    ],
)
def test_detects_language(text: str, expected: str) -> None:
    assert detect_language(text) == expected
