"""Resolution order and the normalisation behind it."""
from __future__ import annotations

import pytest

from llara.resolve import Resolver, lookup_key, normalize_artist, normalize_name


@pytest.mark.parametrize(("raw", "normal"), [
    ("Toxic", "toxic"),
    ("TOXIC - Remastered 2014", "toxic"),
    ("Hey Jude - 2015 Remaster", "hey jude"),
    ("Crazy in Love (feat. Jay-Z)", "crazy in love"),
    ("Crazy In Love [feat. JAY Z]", "crazy in love"),
    ("Lose Yourself - From \"8 Mile\" Soundtrack", "lose yourself"),
    ("Smells Like Teen Spirit - Live", "smells like teen spirit"),
    ("Déjà Vu", "deja vu"),
    ("Mr. Brightside", "mr brightside"),
    ("(I Can't Get No) Satisfaction - Mono Version", "i can t get no satisfaction"),
    ("...", "..."),  # nothing but punctuation keeps its folded self, never ""
])
def test_normalize_name(raw, normal):
    assert normalize_name(raw) == normal


def test_normalize_artist():
    assert normalize_artist("Beyoncé feat. Jay-Z") == "beyonce"
    assert normalize_artist("AC/DC") == normalize_artist("ac dc") == "ac dc"
    assert lookup_key("Toxic - Radio Edit", "BRITNEY SPEARS") == lookup_key("toxic", "Britney Spears")


URIS = ["spotify:track:" + c * 22 for c in "abcdef"]
NAMES = ["Toxic", "Halo", "Crazy in Love", "Hey Jude", "Yesterday", "Toxic"]
ARTISTS = ["Britney Spears", "Beyoncé", "Beyoncé", "The Beatles", "The Beatles", "Other Band"]


@pytest.fixture
def resolver():
    return Resolver(URIS, [normalize_name(n) for n in NAMES],
                    [normalize_artist(a) for a in ARTISTS], threshold=85)


def test_exact_uri_wins_over_names(resolver):
    r = resolver.resolve(URIS[3], "Toxic", "Britney Spears")
    assert (r.how, r.index) == ("uri", 3)


def test_exact_normalised_name_and_artist(resolver):
    r = resolver.resolve(None, "HALO - Remastered 2014", "beyonce")
    assert (r.how, r.index) == ("exact", 1)
    # The artist disambiguates two tracks of the same name.
    assert resolver.resolve(None, "toxic", "other band").index == 5


def test_unknown_uri_falls_back_to_names(resolver):
    r = resolver.resolve("spotify:track:" + "z" * 22, "Yesterday", "The Beatles")
    assert (r.how, r.index) == ("exact", 4)


def test_fuzzy_above_threshold(resolver):
    r = resolver.resolve(None, "Crazy in Lov", "Beyonce")
    assert (r.how, r.index) == ("fuzzy", 2)
    assert 85 <= r.score < 100
    r = resolver.resolve(None, "Hey Jude", "The Beatle")  # artist misspelt
    assert (r.how, r.index) == ("fuzzy", 3)


def test_below_threshold_is_unknown(resolver):
    assert resolver.resolve(None, "Hey Judy Judy", "The Beatles").how == "unknown"
    assert resolver.resolve(None, "Toxic", "Somebody Else").how == "unknown"


def test_unknown_uri_without_names_is_unmatched(resolver):
    r = resolver.resolve("spotify:track:" + "z" * 22, None, None)
    assert (r.how, r.index) == ("unmatched", -1)
