-- wrk script for the load test: send prepared requests, each once, and count what the server acknowledged.
--   wrk -t T -c C -d 60s -s tests/load/requests.lua http://127.0.0.1:PORT -- FILE CONTENT_TYPE T
-- FILE has one request a line: path<TAB>signature<TAB>body ("-": no X-Plaudit-Signature). Thread i of T sends
-- lines i, i+T, ...; each names a new item, so every 2xx is a new item acknowledged (a webhook's answer says
-- how many ratings it created). At the end one line "LOAD_RESULT {json}" sums up every thread: "sent" counts
-- requests written, "requests" the answers received, so the difference was still in flight when wrk stopped.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  local file, content_type, thread_count = args[1], args[2], tonumber(args[3])
  prepared = {}
  local line_number = 0
  for line in io.lines(file) do
    if line_number % thread_count == id then
      local path, signature, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
      local headers = {["Content-Type"] = content_type}
      if signature ~= "-" then headers["X-Plaudit-Signature"] = signature end
      prepared[#prepared + 1] = wrk.format("POST", path, headers, body)
    end
    line_number = line_number + 1
  end
  position, wrapped, sent, ok, acked, client_errors, server_errors = 0, 0, 0, 0, 0, 0, 0
end

function request()
  sent = sent + 1
  position = position + 1
  if position > #prepared then  -- ran out of new items: later answers are repeats, reported as such
    position, wrapped = 1, wrapped + 1
  end
  return prepared[position]
end

function response(status, headers, body)
  -- 303: a survey answer recorded, redirected to its thanks (so a reload sends nothing again)
  if (status >= 200 and status < 300) or status == 303 then
    ok = ok + 1
    local created = body:match('"created":%s*(%d+)')
    acked = acked + (created and tonumber(created) or 1)
  elseif status >= 500 then
    server_errors = server_errors + 1
  else
    client_errors = client_errors + 1
  end
end

function done(summary, latency, requests)
  local totals = {sent = 0, ok = 0, acked = 0, client_errors = 0, server_errors = 0, wrapped = 0}
  for _, thread in ipairs(threads) do
    for key, _ in pairs(totals) do totals[key] = totals[key] + (thread:get(key) or 0) end
  end
  local errors = summary.errors
  io.write(string.format(
    'LOAD_RESULT {"sent": %d, "requests": %d, "duration_us": %d, "ok": %d, "acked": %d, "client_errors": %d, ' ..
    '"server_errors": %d, "wrapped": %d, "socket_errors": %d, "timeouts": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"max_us": %d}\n',
    totals.sent, summary.requests, summary.duration, totals.ok, totals.acked, totals.client_errors, totals.server_errors,
    totals.wrapped, errors.connect + errors.read + errors.write, errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
