"""The errors a person can cause or meet, each with its HTTP status and a message meant for people (after
TensorBoard's `tensorboard/errors.py`). The routes answer any of them as `schema.ErrorAnswer` with its `http_code`
(serve/plugin.py, in one place); the command line prints its message."""

from __future__ import annotations


class PublicError(Exception):
    """An error whose message is shown to the person as it is."""

    http_code = 422
    kind = ""  # schema.ErrorAnswer.kind where the page must tell it apart ("" for none)


class BadRequest(PublicError):
    """A malformed request: a query parameter missing or out of range, a search that cannot run."""

    http_code = 400


class NotFound(PublicError):
    """No such run, tag or node."""

    http_code = 404


class GraphError(PublicError):
    """A record that holds no readable graph (the graph cannot be shown)."""

    http_code = 422


class ProfileError(PublicError):
    """A run's profiles that cannot be read or time none of the graph's ops: the graph still reads, only measured
    time is not there (the page keeps the graph and says so)."""

    http_code = 422
    kind = "profile"
