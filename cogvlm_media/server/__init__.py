"""The local review server: one HTTP API (``/api/v1``) over the archive and the review page.

:func:`cogvlm_media.server.app.create_app` builds the ASGI app; ``cogvlm-media serve`` runs it with
uvicorn. The routes reuse the store's queries and marker edits, the export format registry, the search
query and the watch queue's status document; they add no second copy of that logic.
"""
