"""Serving: a WebSocket streaming server with an HTTP upload endpoint and a browser page
(``serkit-serve``, needs ``serkit[serve]``)."""
