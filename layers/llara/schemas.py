"""The MPD data model, defined once (pydantic v2) and used by ETL, training, API and docs.

Real MPD files omit documented fields (the shared sample has no ``pos``, ``album_*``,
``artist_uri``, ``modified_at`` ...): those are optional here. What the pipeline relies on is
strict: a ``track_uri`` of the Spotify form, names that are strings of sane length, an int
``pid``, and at least one track per playlist.
"""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
    model_validator,
)

TRACK_URI_PATTERN = r"^spotify:track:[A-Za-z0-9]{22}$"
# Longest name we accept; real MPD names are far shorter, a 10 kB "name" is corrupt input.
MAX_NAME_CHARS = 1000

TrackUri = Annotated[str, StringConstraints(strict=True, pattern=TRACK_URI_PATTERN)]
Name = Annotated[str, StringConstraints(strict=True, max_length=MAX_NAME_CHARS)]
OptionalUri = Annotated[str, StringConstraints(strict=True, max_length=200)] | None


class Track(BaseModel):
    """A track entry of a playlist."""

    model_config = ConfigDict(extra="ignore")

    track_uri: TrackUri
    track_name: Name
    artist_name: Name
    pos: StrictInt | None = Field(default=None, ge=0)
    album_name: Name | None = None
    artist_uri: OptionalUri = None
    album_uri: OptionalUri = None
    duration_ms: StrictInt | None = Field(default=None, ge=0)


class Playlist(BaseModel):
    """A playlist of an MPD slice."""

    model_config = ConfigDict(extra="ignore")

    pid: StrictInt
    name: Name
    tracks: list[Track] = Field(min_length=1)
    description: Name | None = None
    collaborative: StrictStr | bool | None = None
    modified_at: StrictInt | None = None
    num_tracks: StrictInt | None = None
    num_albums: StrictInt | None = None
    num_followers: StrictInt | None = None
    num_edits: StrictInt | None = None
    duration_ms: StrictInt | None = None
    num_artists: StrictInt | None = None


class SliceInfo(BaseModel):
    model_config = ConfigDict(extra="allow")

    generated_on: str | None = None
    slice: str | None = None
    version: str | None = None


class Slice(BaseModel):
    """A file ``mpd.slice.A-B.json``: an ``info`` header and its playlists."""

    info: SliceInfo | None = None
    playlists: list[Playlist]


def track_text(track_name: str, artist_name: str, album_name: str | None = None) -> str:
    """The text the encoder reads for a track: "Toxic by Britney Spears from In The Zone"."""
    text = f"{track_name} by {artist_name}"
    return f"{text} from {album_name}" if album_name else text


# ---------------------------------------------------------------- the serving API
# Limits a request must respect; anything beyond is a 4xx naming the limit.
MAX_K = 500
MAX_REQUEST_TRACKS = 500
MAX_BODY_BYTES = 256 * 1024
FEEDBACK_EVENTS = ("click", "skip", "like", "play")

Text = Annotated[str, StringConstraints(strict=True, strip_whitespace=True, min_length=1,
                                        max_length=MAX_NAME_CHARS)]


class SeedTrack(BaseModel):
    """A track the listener already has: a catalog URI, or a name and artist (maybe unknown)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    track_uri: TrackUri | None = None
    track_name: Text | None = None
    artist_name: Text | None = None
    album_name: Text | None = None

    @model_validator(mode="after")
    def _identifies_a_track(self) -> SeedTrack:
        if self.track_uri is None and not (self.track_name and self.artist_name):
            raise ValueError("a track needs a track_uri, or both track_name and artist_name")
        return self


class PredictRequest(BaseModel):
    """``POST /predict``: a playlist title, seed tracks, or both."""

    model_config = ConfigDict(extra="forbid")

    tracks: list[SeedTrack] = Field(default_factory=list, max_length=MAX_REQUEST_TRACKS)
    playlist_name: Text | None = None
    k: StrictInt = Field(default=10, ge=1, le=MAX_K)

    @model_validator(mode="after")
    def _has_something(self) -> PredictRequest:
        if not self.tracks and self.playlist_name is None:
            raise ValueError("give tracks, a playlist_name, or both")
        return self


class RecommendedTrack(BaseModel):
    track_uri: str
    track_name: str
    artist_name: str
    score: float


class SeedMatch(BaseModel):
    """How one request track was understood (same order as the request's ``tracks``)."""

    match: Literal["uri", "exact", "fuzzy", "unknown", "unmatched"]
    track_uri: str | None = None  # the catalog track it resolved to
    similarity: float | None = None  # fuzzy matches only, 0..100


class PredictResponse(BaseModel):
    recommended_tracks: list[RecommendedTrack]
    model_version: str
    request_id: str
    seeds: list[SeedMatch]


class FeedbackEvent(BaseModel):
    """``POST /feedback``: what the listener did with a recommended track."""

    model_config = ConfigDict(extra="forbid")

    request_id: Annotated[str, StringConstraints(strict=True, strip_whitespace=True,
                                                 min_length=1, max_length=100)]
    track_uri: TrackUri
    event: Literal["click", "skip", "like", "play"]
    ts: AwareDatetime | None = None


class HealthResponse(BaseModel):
    status: Literal["ok"]
    model_version: str
    catalog_size: int
    uptime_s: float
    canary_version: str | None = None
