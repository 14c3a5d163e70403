"""The static files storage of production (DEBUG false): WhiteNoise's compressed manifest
storage, with each file's URL worked out once per process. Every page names about ten static
files; Django looks each name up in the manifest and joins and quotes it again each time, and
the manifest cannot change while a process runs (a deploy starts new processes)."""

from __future__ import annotations

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._urls: dict[str, str] = {}

    def url(self, name, force=False):
        if force:
            return super().url(name, force)
        url = self._urls.get(name)
        if url is None:
            url = self._urls[name] = super().url(name)
        return url
