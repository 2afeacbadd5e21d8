"""Errors a user can cause or fix. Every layer raises subclasses of AskdocError; the CLI and the API turn
them into clear messages (exit code 2 / a 4xx JSON body), never tracebacks."""

from __future__ import annotations


class AskdocError(Exception):
    """Base class: the message is written for the user and shown as-is."""


class InvalidInputError(AskdocError):
    """A question, parameter or document the user gave is not acceptable."""


class CollectionNotFoundError(InvalidInputError):
    """A collection with no index (an HTTP 404): a new one is made by adding documents to it."""

    def __init__(self, message: str, name: str = "") -> None:
        super().__init__(message)
        self.name = name  # which collection: the HTTP layer says how to make it over HTTP


class ModelNotFoundError(AskdocError):
    """A configured model (local path, bundled package or hub id) is not available on this machine."""


class IndexLoadError(AskdocError):
    """The index is missing, corrupt, or was built for another configuration."""


class ManifestUnreadableError(IndexLoadError):
    """An index's manifest is missing or corrupt: the list of the documents it held is gone with it."""


# How an IndexLoadError says to repair the index (the command line adds the collection and folder it failed on).
REBUILD = "rebuild with `askdoc index build --rebuild`"


class IndexWriteError(AskdocError):
    """The index or a trained model could not be written (a full disk, no permission); the old one is intact."""
