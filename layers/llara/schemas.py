"""The MPD data model, defined once (pydantic v2) and used by ETL, training, API and docs.

Real MPD files omit documented fields (the shared sample has no ``pos``, ``album_*``,
``artist_uri``, ``modified_at`` ...): those are optional here. What the pipeline relies on is
strict: a ``track_uri`` of the Spotify form, names that are strings of sane length, an int
``pid``, and at least one track per playlist.
"""
from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, StringConstraints

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
