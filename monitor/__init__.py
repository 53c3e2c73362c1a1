"""monitor: a media-monitoring daemon for analysts following the war in Ukraine."""

__version__ = "0.1.0"
