"""Antigravity's Cloud Code backend (`v1internal`): the chat executor and what it needs.

Modules: `executor` (`CloudCodeExecutor`, the `ProjectSource` port and its `auth_data`
implementation), `request` (client request -> inner Gemini request, per model family),
`envelope` (the envelope around it, the session id), `exchange` (one attempt's answer:
content hold, empty-stream retry, whole answers assembled from streams, upgrade notices),
`answers` (names, ids and signatures of answers), `signatures` (the thought-signature cache),
`tools` (Claude's strict tool schemas, tool names).
"""
