"""Which arm answers a row: the champion alone, a stable share to the challenger by the
entity's hash (`split:0.1`), or both with the champion answering (`shadow`).

>>> policy = parse_policy("split:0.25")
>>> arm_for(policy, "customer-7") == arm_for(policy, "customer-7")   # the same customer, the same arm
True
>>> parse_policy("shadow").mode, parse_policy(None).mode
('shadow', 'champion')
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from bakeoff.errors import ConfigError

CHAMPION, CHALLENGER = "champion", "challenger"


@dataclass(frozen=True)
class Policy:
    mode: str  # "champion" (no challenger), "split" or "shadow"
    share: float = 0.0  # with "split": the share of entities the challenger answers


def parse_policy(text: str | None) -> Policy:
    """`--challenger split:P` (0 < P < 1), `shadow`, or nothing."""
    if not text:
        return Policy(CHAMPION)
    if text == "shadow":
        return Policy("shadow")
    kind, _, share = text.partition(":")
    try:
        value = float(share)
    except ValueError:
        value = -1.0
    if kind != "split" or not 0 < value < 1:
        raise ConfigError(f"--challenger {text!r}: use split:P with a share P between 0 and 1 (split:0.1), or shadow")
    return Policy("split", value)


def arm_for(policy: Policy, key: str) -> str:
    """The arm that answers the entity `key`: a share `policy.share` of all keys, the same
    keys every time (the first 8 bytes of its sha256 as a fraction)."""
    if policy.mode != "split":
        return CHAMPION
    fraction = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2.0 ** 64
    return CHALLENGER if fraction < policy.share else CHAMPION
