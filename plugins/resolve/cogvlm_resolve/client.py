"""The review server's HTTP API for the Resolve plugin, over urllib (Python 3.6+, standard library only)."""

from __future__ import absolute_import

import json
import os
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from cogvlm_resolve.logic import PluginError

DEFAULT_URL = "http://127.0.0.1:8765"
NLE = "resolve"


class Client(object):
    """The review server's /api/v1 over urllib (standard library only)."""

    def __init__(self, url=None, token=None, timeout=30.0):
        self.url = (url or os.environ.get("COGVLM_MEDIA_URL") or DEFAULT_URL).rstrip("/")
        self.token = token if token is not None else os.environ.get("COGVLM_MEDIA_TOKEN", "")
        self.timeout = timeout

    def _call(self, method, path, body=None):
        data = json.dumps(body).encode("utf-8") if body is not None else None
        req = Request(self.url + "/api/v1" + path, data=data, method=method)
        req.add_header("Accept", "application/json")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        if self.token:
            req.add_header("Authorization", "Bearer " + self.token)
        try:
            with urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except HTTPError as exc:
            try:
                message = json.loads(exc.read().decode("utf-8"))["error"]["message"]
            except Exception:
                message = str(exc)
            raise PluginError("the review server said: {} ({})".format(message, exc.code))
        except (URLError, OSError) as exc:
            raise PluginError("the cogvlm-media review server is not running at {} ({}). Start it with "
                              "`cogvlm-media serve` and run this again.".format(self.url, getattr(exc, "reason", exc)))

    def health(self):
        return self._call("GET", "/health")

    def config(self):
        return self._call("GET", "/nle/config")

    def match(self, items):
        out = []
        for start in range(0, len(items), 200):
            out.extend(self._call("POST", "/nle/match", {"items": items[start:start + 200]})["items"])
        return out

    def marks(self, asset_id):
        return self._call("GET", "/nle/assets/{}/marks".format(int(asset_id)))

    def links(self, container):
        return self._call("GET", "/nle/links?" + urlencode({"nle": NLE, "container": container}))["links"]

    def put_links(self, container, links):
        return self._call("PUT", "/nle/links", {"nle": NLE, "container": container, "links": links})

    def sync(self, container, items, present=None):
        body = {"nle": NLE, "container": container, "items": items}
        if present is not None:
            body["present"] = present
        return self._call("POST", "/nle/sync", body)
