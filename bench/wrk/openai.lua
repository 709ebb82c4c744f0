-- POST /v1/chat/completions, non-streaming. BENCH_API_KEY (optional) is sent as a Bearer key.
local key = os.getenv("BENCH_API_KEY") or ""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if key ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. key
end
wrk.body = '{"model":"gpt-4o-mini","messages":['
  .. '{"role":"system","content":"You are a helpful assistant."},'
  .. '{"role":"user","content":"Say hello in one short sentence."}]}'
