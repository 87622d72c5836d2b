"""The callback's own prompt texts (name -> German and English), for the prompt generator.

Layer: data only. The dialplan plays them as `hotline/<name>` ([hotline-wait],
[hotline-queue-keys]); the set-up's espeak-ng generator makes the sound files from
this table, like every other prompt. Position and wait use Asterisk's stock sounds
(queue-thereare, queue-callswaiting, queue-youarenext, queue-holdtime, queue-minutes).
"""

from __future__ import annotations

CALLBACK_PROMPTS: dict[str, dict[str, str]] = {
    "hotline/callback-offer": {
        "de": "Wenn wir Sie zurückrufen sollen, drücken Sie die 1. Ihr Platz in der Warteschlange bleibt erhalten.",
        "en": "To be called back, press 1. You keep your place in the queue.",
    },
    "hotline/callback-confirm": {
        "de": "Danke. Wir rufen Sie zurück, sobald Sie an der Reihe sind. Sie können jetzt auflegen.",
        "en": "Thank you. We will call you back when it is your turn. You may hang up now.",
    },
}
