"""A small request-handling service with a planted leak, for gclab's walkthrough (README.md).

Each request builds a ``Request`` with a ``Session``; the handler stores every session in a
module-level cache that nothing ever evicts (the leak: ``SessionCache._by_id`` grows by one
``Session`` and its payload per request), and each request/response pair forms a reference
cycle that only the cycle collector frees (garbage, not a leak).

    python examples/leaky_service.py --requests 20000          # handle 20,000 requests
    python examples/leaky_service.py --seconds 30              # or run for 30 seconds

It uses the standard library only, so it runs under any Python 3.8+ and under
``gclab run`` / ``gclab monitor`` / ``gclab snapshot --pid`` unchanged.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time


class Session:
    """A user's session: an id and the payload the service keeps for it."""

    def __init__(self, session_id, payload):
        self.session_id = session_id
        self.payload = payload


class SessionCache:
    """Sessions by id. The bug: ``remember`` adds, nothing ever removes."""

    def __init__(self):
        self._by_id = {}

    def remember(self, session):
        self._by_id[session.session_id] = session


class Request:
    """An incoming request; its response points back at it (a reference cycle)."""

    def __init__(self, number, session):
        self.number = number
        self.session = session
        self.response = None


class Response:
    def __init__(self, request, body):
        self.request = request
        self.body = body


CACHE = SessionCache()
_ids = itertools.count()


def handle(number):
    """Handle one request; returns the response's body length."""
    session = Session(next(_ids), [number] * 16)   # 16-item payload list per session
    CACHE.remember(session)                         # the leak
    request = Request(number, session)
    request.response = Response(request, "ok %d" % number)  # a cycle: garbage afterwards
    return len(request.response.body)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20000,
                        help="requests to handle (default 20000)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="run for this long instead of a number of requests")
    args = parser.parse_args(argv)
    deadline = None if args.seconds is None else time.monotonic() + args.seconds
    handled = 0
    for number in itertools.count():
        if deadline is None and number >= args.requests:
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
        handle(number)
        handled += 1
    print("pid %d handled %d requests; cache holds %d sessions"
          % (os.getpid(), handled, len(CACHE._by_id)))


if __name__ == "__main__":
    main()
