"""One rule for checking an error message without pinning its wording."""

from __future__ import annotations

import re


def says(error: BaseException | str, *patterns: str) -> None:
    """Assert that every regular expression in ``patterns`` occurs in the message of ``error``
    (case-insensitive): the argument's name and the key fact, so that rewording the message
    breaks nothing while an error about another argument or another fault still fails."""
    message = str(error)
    missing = [p for p in patterns if not re.search(p, message, re.IGNORECASE)]
    assert not missing, f"the message lacks {missing}: {message!r}"
