"""Antigravity's Cloud Code backend (`v1internal`): the chat executor and what it needs.

Modules: `executor` (`CloudCodeExecutor`, the `ProjectSource` port), `request` (a non-Gemini
client's request -> inner Gemini request, per model family; signatures put back on replayed
calls), `relayed_request` (a Gemini client's body as the inner request, Claude's rules as JSON
edits), `envelope` (the envelope around it, the session id), `attempt` (what every answer goes
through: content hold, empty-stream retry, upgrade notices, the version gate's 404),
`exchange` (translated answers: whole answers assembled from streams, signatures stored before
the client sees their calls), `answers` (names, ids and signatures of translated answers),
`relay` and `unwrap` (a Gemini client's answers out of the envelope, untranslated), `counting`
(Anthropic `count_tokens` through `countTokens`), `tools` (Claude's strict tool schemas, tool
names). The thought-signature store is the `ThoughtSignatures` port
(`application/ports/signatures.py`).
"""
