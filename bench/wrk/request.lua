-- One POST per request with the body of BENCH_BODY_FILE (written by run.py from bodies.py), to
-- the path of the URL wrk is given (run.py builds it per route: Gemini names the model there).
-- BENCH_FORMAT: "openai" or "responses" (Bearer key), "anthropic" (x-api-key,
-- anthropic-version) or "gemini" (x-goog-api-key). BENCH_STREAM=1 adds
-- Accept: text/event-stream. BENCH_API_KEY (optional): the client key.
local fmt = os.getenv("BENCH_FORMAT") or "openai"
local key = os.getenv("BENCH_API_KEY") or ""
local file = assert(io.open(assert(os.getenv("BENCH_BODY_FILE"), "BENCH_BODY_FILE"), "rb"))
wrk.body = file:read("*a")
file:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if os.getenv("BENCH_STREAM") == "1" then
  wrk.headers["Accept"] = "text/event-stream"
end
if fmt == "anthropic" then
  wrk.headers["anthropic-version"] = "2023-06-01"
  if key ~= "" then
    wrk.headers["x-api-key"] = key
  end
elseif fmt == "gemini" then
  if key ~= "" then
    wrk.headers["x-goog-api-key"] = key
  end
elseif key ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. key
end
