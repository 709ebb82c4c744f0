-- POST /v1/messages (Anthropic Messages), non-streaming. BENCH_API_KEY (optional): x-api-key.
local key = os.getenv("BENCH_API_KEY") or ""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["anthropic-version"] = "2023-06-01"
if key ~= "" then
  wrk.headers["x-api-key"] = key
end
wrk.body = '{"model":"gpt-4o-mini","max_tokens":256,"system":"You are a helpful assistant.",'
  .. '"messages":[{"role":"user","content":"Say hello in one short sentence."}]}'
