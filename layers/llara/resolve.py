"""Turn a listener's seed tracks into catalog rows, or into text to encode when we cannot.

Resolution order (first hit wins):
1. ``uri``: the exact ``track_uri``;
2. ``exact``: the normalised track name and artist (case, accents, punctuation and decorations
   such as " - Remastered 2014" or "(feat. ...)" ignored);
3. ``fuzzy``: rapidfuzz similarity of name and artist above a threshold, among tracks of the
   closest-matching artists (blocking by artist keeps this fast on million-track catalogs);
4. ``unknown``: not in the catalog; the caller encodes its text and uses the cold item tower.
A seed given only as an unknown URI has no text to encode and is ``unmatched``.

The normalised keys are computed once at export (``normalize_name``/``normalize_artist``) and
stored in the bundle's catalog, so loading a bundle does no text processing.
"""
from __future__ import annotations

import bisect
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

# Decorations that name a version of the same recording, not a different track.
_VERSION_WORDS = (
    r"remaster(?:ed)?|re-?mastered|live|radio edit|single version|album version|mono|stereo|"
    r"explicit|clean|edit|version|remix(?:ed)?|mix|acoustic|demo|bonus track|deluxe|"
    r"original|extended|instrumental|from|feat\.?|ft\.?|featuring|with"
)
_BRACKETED = re.compile(r"\s*[\(\[][^\)\]]*\b(?:" + _VERSION_WORDS + r")\b[^\)\]]*[\)\]]")
_DASH_SUFFIX = re.compile(r"\s+-\s+[^-]*\b(?:" + _VERSION_WORDS + r")\b.*$")
_FEAT = re.compile(r"\s+(?:feat\.?|ft\.?|featuring)\s+.*$")
_NON_WORD = re.compile(r"[^\w]+")


def _fold(text: str) -> str:
    """Lower-case, accents removed (NFKD then drop combining marks)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _squash(text: str) -> str:
    return _NON_WORD.sub(" ", text).strip()


def normalize_name(track_name: str) -> str:
    """"Toxic - Remastered 2014" and "TOXIC (feat. X)" both become "toxic"."""
    text = _fold(track_name)
    text = _BRACKETED.sub("", text)
    text = _DASH_SUFFIX.sub("", text)
    text = _FEAT.sub("", text)
    return _squash(text) or _squash(_fold(track_name)) or _fold(track_name).strip()


def normalize_artist(artist_name: str) -> str:
    text = _FEAT.sub("", _fold(artist_name))
    return _squash(text) or _squash(_fold(artist_name)) or _fold(artist_name).strip()


def lookup_key(track_name: str, artist_name: str) -> str:
    return f"{normalize_name(track_name)}\x1f{normalize_artist(artist_name)}"


@dataclass(frozen=True)
class Resolution:
    """Where one seed landed: ``index`` into the catalog, or -1 for unknown/unmatched."""

    how: str  # "uri" | "exact" | "fuzzy" | "unknown" | "unmatched"
    index: int = -1
    score: float | None = None  # the fuzzy similarity (0..100) when how == "fuzzy"


class Resolver:
    """Exact and fuzzy lookup over a catalog's URIs and normalised (name, artist) keys."""

    def __init__(self, uris: Sequence[str], name_keys: Sequence[str], artist_keys: Sequence[str],
                 *, threshold: float = 90.0, artist_candidates: int = 3):
        self.threshold = threshold
        self.artist_candidates = artist_candidates
        self._by_uri = dict(zip(uris, range(len(uris))))
        self._by_key: dict[str, int] = {}
        for i, key in enumerate(map("\x1f".join, zip(name_keys, artist_keys, strict=True))):
            self._by_key.setdefault(key, i)  # the first row (catalog order) wins
        self._name_keys = np.asarray(name_keys, dtype=object)
        self._artist_keys = artist_keys
        self._index_lock = threading.Lock()
        self._artists: list[str] | None = None  # the fuzzy index, built on first need

    def _build_fuzzy_index(self) -> None:
        """Rows grouped by artist key (contiguous after a stable sort), for blocking the fuzzy
        search: a name is only compared with the names of its closest artists. Built on the
        first fuzzy lookup, not at load: it is a second of a million-track cold start."""
        with self._index_lock:
            if self._artists is not None:
                return
            artist_arr = np.asarray(self._artist_keys, dtype=object)
            order = np.argsort(artist_arr, kind="stable")
            sorted_artists = artist_arr[order]
            starts = np.flatnonzero(np.r_[True, sorted_artists[1:] != sorted_artists[:-1]])
            self._artist_bounds = np.r_[starts, len(order)]
            self._artist_order = order
            self._artists = sorted_artists[starts].tolist()  # sorted, unique; set last

    def __len__(self) -> int:
        return len(self._by_uri)

    def resolve(self, track_uri: str | None, track_name: str | None,
                artist_name: str | None) -> Resolution:
        if track_uri is not None:
            index = self._by_uri.get(track_uri)
            if index is not None:
                return Resolution("uri", index)
        if not (track_name and artist_name):
            return Resolution("unmatched")
        name, artist = normalize_name(track_name), normalize_artist(artist_name)
        index = self._by_key.get(f"{name}\x1f{artist}")
        if index is not None:
            return Resolution("exact", index)
        return self._fuzzy(name, artist)

    def _rows_of(self, artist_pos: int) -> np.ndarray:
        lo, hi = self._artist_bounds[artist_pos], self._artist_bounds[artist_pos + 1]
        return self._artist_order[lo:hi]

    def _candidate_artists(self, artist: str) -> list[tuple[int, float]]:
        pos = bisect.bisect_left(self._artists, artist)
        if pos < len(self._artists) and self._artists[pos] == artist:
            return [(pos, 100.0)]
        # Artists sharing the first two characters: a sorted, contiguous block. A typo there
        # falls through to "unknown" (the cold path still recommends from the text).
        prefix = artist[:2]
        lo = bisect.bisect_left(self._artists, prefix)
        hi = bisect.bisect_left(self._artists, prefix + "\U0010ffff", lo)
        hits = process.extract(artist, self._artists[lo:hi], scorer=fuzz.ratio,
                               score_cutoff=self.threshold, limit=self.artist_candidates)
        return [(lo + offset, score) for _, score, offset in hits]

    def _fuzzy(self, name: str, artist: str) -> Resolution:
        if self._artists is None:
            self._build_fuzzy_index()
        best = Resolution("unknown")
        for artist_pos, artist_score in self._candidate_artists(artist):
            rows = self._rows_of(artist_pos)
            hit = process.extractOne(name, self._name_keys[rows], scorer=fuzz.ratio,
                                     score_cutoff=self.threshold)
            if hit is None:
                continue
            score = min(artist_score, hit[1])  # both parts must be close
            if best.score is None or score > best.score:
                best = Resolution("fuzzy", int(rows[hit[2]]), round(float(score), 1))
        return best
