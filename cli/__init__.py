"""The `askdoc` command line: a way in beside the HTTP API, and the composition root (it may start the server and
the eval harness). Nothing imports it."""
