# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Proves every shipped network has exactly the parameter count we pin, and that the counts we quote agree.

- each of the bundles' ``network_def`` (built as the bundle builds it, from its train.json) and each network's 2D
  and 3D defaults (plus the documented MSAUNet half-width variant) has exactly the number of parameters in
  :data:`BUNDLE_COUNTS` / :data:`NETWORK_COUNTS` (exact ints, no tolerance);
- every parameter count quoted in the networks' module and class docstrings (``monai_lite/networks/<net>.py``), in
  the bundle docs (``bundles/<bundle>/docs/README.md``) and in the bundles' metadata.json descriptions agrees with a
  count of that network: ``2,838,179 parameters`` must be exact; ``2.99 M`` must be the count in millions rounded
  or truncated to the decimals shown. Numbers that report a paper's own claim (``paper: 13.7 M``, ``Table 1's``)
  are not ours and are skipped.

When a network changes on purpose: run this file, put the new ints (the failure message prints them) into the two
tables below, and fix the quoted numbers the second test names (file and number).
"""

from __future__ import annotations

import json
import math
import re
from functools import cache

import pytest
import torch
from monai.bundle import ConfigParser

from monai_lite import networks
from monai_lite.bundle.runner import BUNDLES_DIR, list_bundles

REPO = BUNDLES_DIR.parent
NETWORKS_DIR = REPO / "monai_lite" / "networks"

#: Exact parameter count of each bundle's ``network_def`` as its train.json builds it.
BUNDLE_COUNTS: dict[str, int] = {
    "medlitenet": 3_040_362,
    "medlitenet_hippocampus": 3_178_060,
    "medlitenet_ct": 3_178_145,
    "lightawnet": 2_839_569,
    "lightawnet_hippocampus": 7_614_957,
    "lacnet": 2_983_527,
    "lacnet_hippocampus": 6_935_397,
    "msaunet": 13_431_275,
    "msaunet_hippocampus": 9_649_670,
}
#: Exact parameter count of each network class built with its defaults (and ``spatial_dims``), plus the variants
#: that the docs quote, keyed by (class name, spatial_dims, extra constructor arguments).
NETWORK_COUNTS: dict[tuple[str, int, tuple[tuple[str, object], ...]], int] = {
    ("MedLiteNet", 2, ()): 3_040_362,
    ("MedLiteNet", 3, ()): 3_178_890,
    ("LightAWNet", 2, ()): 2_838_179,
    ("LightAWNet", 3, ()): 7_611_497,
    ("LACNet", 2, ()): 2_983_527,
    ("LACNet", 3, ()): 6_935_517,
    ("MSAUNet", 2, ()): 13_431_275,
    ("MSAUNet", 3, ()): 38_561_699,
    ("MSAUNet", 2, (("width_multiplier", 0.5),)): 3_363_084,
}
#: Which network a bundle or network module documents (bundle names start with it).
CLASS_OF = {"medlitenet": "MedLiteNet", "lightawnet": "LightAWNet", "lacnet": "LACNet", "msaunet": "MSAUNet"}
#: Files whose quoted counts are known to be stale and are fixed by another branch; strict xfail, so the entry must
#: be removed once the file agrees.
KNOWN_STALE: dict[str, str] = {
}


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@cache
def _bundle_count(bundle: str) -> int:
    parser = ConfigParser()
    parser.read_config(str(BUNDLES_DIR / bundle / "configs" / "train.json"))
    return _count(parser.get_parsed_content("network_def"))


@cache
def _network_count(name: str, dims: int, extra: tuple[tuple[str, object], ...]) -> int:
    return _count(getattr(networks, name)(spatial_dims=dims, **dict(extra)))


def _update_hint(table: str, key: object, built: int) -> str:
    return (f"if the change is intended, set {table}[{key!r}] = {built:_} in tests/networks/test_parameter_counts.py "
            "and fix the counts quoted in the docs (test_quoted_counts_match_the_networks names them).")


def test_every_bundle_is_pinned() -> None:
    assert set(BUNDLE_COUNTS) == set(list_bundles()), "BUNDLE_COUNTS must list exactly the shipped bundles"


@pytest.mark.parametrize("bundle", sorted(BUNDLE_COUNTS))
def test_bundle_network_count(bundle: str) -> None:
    built = _bundle_count(bundle)
    assert built == BUNDLE_COUNTS[bundle], (
        f"bundles/{bundle}: network_def has {built:,} parameters, the table says {BUNDLE_COUNTS[bundle]:,}; "
        + _update_hint("BUNDLE_COUNTS", bundle, built))


@pytest.mark.parametrize("key", list(NETWORK_COUNTS), ids=lambda k: f"{k[0]}-{k[1]}d{'-' if k[2] else ''}"
                         + "-".join(f"{a}{v}" for a, v in k[2]))
def test_default_network_count(key: tuple) -> None:
    built = _network_count(*key)
    assert built == NETWORK_COUNTS[key], (
        f"{key[0]}(spatial_dims={key[1]}{''.join(f', {a}={v}' for a, v in key[2])}) has {built:,} parameters, the "
        f"table says {NETWORK_COUNTS[key]:,}; " + _update_hint("NETWORK_COUNTS", key, built))


# --- counts quoted in the docs ---------------------------------------------------------------------------------------
#: ``2,838,179 parameters``: an exact count.
_EXACT = re.compile(r"(?<![\d.,])(\d{1,3}(?:,\d{3})+)(?= (?:trainable )?param)")
#: ``2.99 M`` / ``13.4 M parameters`` / ``3.0M``: a count in millions.
_MILLIONS = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?) ?M\b")
#: Words shortly before a number that make it someone else's claim (the paper's), not a count of our network.
_THEIRS = re.compile(r"paper|table|tables? \d|reports?|authors|claims?|TransUNet|ViT|ResNet", re.IGNORECASE)
_CONTEXT_BEFORE = 40
#: ``2.95 M trainable parameters (Sec. 2.2)``: a count followed by a citation of the paper is the paper's.
_CITED = re.compile(r"\s*(?:trainable )?param\w*\s*\((?:Sec|Table|Fig|Eq)", re.IGNORECASE)
#: ``1.8 M-parameter encoder``: the count of a part of the network, which the whole network's count cannot check.
_PART = re.compile(r"\s*-?param\w*\s+(?:encoder|decoder|block|bottleneck|branch|head|stem|module)", re.IGNORECASE)


def _documents() -> list[tuple[str, str, str]]:
    """``(relative path, network class, text)`` of every place that may quote a count."""
    found = []
    for bundle in list_bundles():
        network = CLASS_OF[bundle.split("_")[0]]
        readme = BUNDLES_DIR / bundle / "docs" / "README.md"
        if readme.is_file():
            found.append((str(readme.relative_to(REPO)), network, readme.read_text()))
        metadata = BUNDLES_DIR / bundle / "configs" / "metadata.json"
        description = json.loads(metadata.read_text()).get("description", "")
        found.append((str(metadata.relative_to(REPO)), network, description))
    for stem, network in CLASS_OF.items():
        module = NETWORKS_DIR / f"{stem}.py"
        found.append((str(module.relative_to(REPO)), network, module.read_text()))
    return found


def _clause_before(text: str, start: int) -> str:
    """Up to :data:`_CONTEXT_BEFORE` characters before ``start``, cut at the start of the clause (``;``, ``)``, ``. ``),
    so a paper's claim earlier in the sentence does not hide our own count after it."""
    before = text[max(0, start - _CONTEXT_BEFORE):start]
    cut = max(before.rfind(";"), before.rfind(")"), before.rfind(". "))
    return before[cut + 1:]


def _quoted(text: str) -> list[tuple[str, float, int]]:
    """``(as written, value, decimals)`` of every count of ours in ``text`` (exact counts have decimals -1)."""
    claims = []
    for match in _EXACT.finditer(text):
        if not _THEIRS.search(_clause_before(text, match.start())):
            claims.append((match.group(0), float(match.group(1).replace(",", "")), -1))
    for match in _MILLIONS.finditer(text):
        after = text[match.end():match.end() + 60].lower()
        before = _clause_before(text, match.start())
        if "param" not in after and "param" not in before.lower() and "variant" not in after[:12]:
            continue  # "3 M" that is not about parameters (e.g. a dataset size)
        if after.lstrip().startswith(("mac", "flop", "gmac")) or _THEIRS.search(before) or _PART.match(after) \
                or _CITED.match(text[match.end():match.end() + 60]):
            continue
        number = match.group(1)
        decimals = len(number.split(".")[1]) if "." in number else 0
        claims.append((match.group(0), float(number), decimals))
    return claims


def _agrees(value: float, decimals: int, count: int) -> bool:
    if decimals < 0:
        return int(value) == count
    millions, scale = count / 1e6, 10**decimals
    return math.isclose(round(millions, decimals), value) or math.isclose(math.floor(millions * scale) / scale, value)


def _counts_of(network: str) -> list[int]:
    counts = [_network_count(*key) for key in NETWORK_COUNTS if key[0] == network]
    return counts + [_bundle_count(b) for b in BUNDLE_COUNTS if CLASS_OF[b.split("_")[0]] == network]


@pytest.mark.parametrize(
    "document",
    [pytest.param(d, marks=pytest.mark.xfail(strict=True, reason=KNOWN_STALE[d[0]])) if d[0] in KNOWN_STALE else d
     for d in _documents()],
    ids=lambda d: d[0],
)
def test_quoted_counts_match_the_networks(document: tuple[str, str, str]) -> None:
    path, network, text = document
    counts = _counts_of(network)
    wrong = [written for written, value, decimals in _quoted(text)
             if not any(_agrees(value, decimals, c) for c in counts)]
    assert not wrong, (
        f"{path} quotes {wrong} as parameter counts of {network}, but its builds have "
        f"{', '.join(f'{c:,}' for c in sorted(set(counts)))} parameters; fix the text (metadata.json descriptions come "
        "from bundles/_template/bundles.json) or, if a quote is a paper's claim, say so right before it ('paper: ...')."
    )


def test_the_scanner_finds_quotes() -> None:
    """The scan is not vacuous: it reads the counts quoted in a known sentence, and skips the paper's."""
    quoted = _quoted("it has 2,838,179 parameters; about 2.99 M parameters (paper: ~2.95 M); 1.31 G MACs; "
                     "9.6 M parameters; a 1.8 M-parameter encoder; 2.95 M parameters (Sec. 2.2)")
    assert [q[0] for q in quoted] == ["2,838,179", "2.99 M", "9.6 M"]
    assert _agrees(2.99, 2, 2_986_621) and _agrees(2.83, 2, 2_838_179) and not _agrees(2.95, 2, 2_986_621)
    assert sum(len(_quoted(text)) for _, _, text in _documents()) >= len(BUNDLE_COUNTS)
