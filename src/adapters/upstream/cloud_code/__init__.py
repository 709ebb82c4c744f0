"""Antigravity's Cloud Code backend (`v1internal`): the chat executor and what it needs.

Modules: `executor` (`CloudCodeExecutor`, the `ProjectSource` port), `request` (client
request -> inner Gemini request, per model family; signatures put back on replayed calls),
`envelope` (the envelope around it, the session id), `exchange` (one attempt's answer:
content hold, empty-stream retry, whole answers assembled from streams, upgrade notices,
signatures stored before the client sees their calls), `answers` (names, ids and signatures
of answers), `tools` (Claude's strict tool schemas, tool names). The thought-signature store is
the `ThoughtSignatures` port (`application/ports/signatures.py`).
"""
