-- aoslike.lua: the process program of the aos-like test module. Decodes the message and env JSON,
-- runs Eval messages from the process owner (print collects output, ao.send queues messages), and
-- answers {"ok":true,"response":{Output, Messages, Spawns, Assignments[, Error]}}. An action named
-- "Throw" raises outside the inner pcall, so the reply is {"ok":false,...}.
local json = {}
do
  local esc = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f',
                ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
  local function encstr(s)
    return '"' .. s:gsub('[%c"\\]', function(c)
      return esc[c] or string.format('\\u%04x', c:byte())
    end) .. '"'
  end
  local function isarray(t)
    local n = 0
    for k in pairs(t) do
      if math.type(k) ~= 'integer' or k < 1 then return false end
      n = n + 1
    end
    return n == #t, n
  end
  function json.encode(v)
    local t = type(v)
    if t == 'nil' then return 'null'
    elseif t == 'boolean' then return tostring(v)
    elseif t == 'number' then
      if math.type(v) == 'integer' then return string.format('%d', v) end
      if v ~= v or v == math.huge or v == -math.huge then return 'null' end
      return string.format('%.14g', v)
    elseif t == 'string' then return encstr(v)
    elseif t == 'table' then
      local arr, n = isarray(v)
      local parts = {}
      if arr and (n > 0 or getmetatable(v) == json.array) then
        for i = 1, #v do parts[i] = json.encode(v[i]) end
        return '[' .. table.concat(parts, ',') .. ']'
      end
      if n == 0 and getmetatable(v) == json.array then return '[]' end
      local keys = {}
      for k in pairs(v) do keys[#keys + 1] = tostring(k) end
      table.sort(keys)
      for i, k in ipairs(keys) do
        local val = v[k]
        if val == nil then val = v[tonumber(k)] end
        parts[i] = encstr(k) .. ':' .. json.encode(val)
      end
      return '{' .. table.concat(parts, ',') .. '}'
    end
    return encstr(tostring(v))
  end
  json.array = {}
  function json.newarray() return setmetatable({}, json.array) end

  function json.decode(s)
    local pos = 1
    local function ws() pos = s:find('[^ \t\r\n]', pos) or #s + 1 end
    local val
    local function str()
      local out, i = {}, pos + 1
      while true do
        local c = s:sub(i, i)
        if c == '' then error('unterminated string') end
        if c == '"' then pos = i + 1; break end
        if c == '\\' then
          local e = s:sub(i + 1, i + 1)
          local map = { b = '\b', f = '\f', n = '\n', r = '\r', t = '\t' }
          if e == 'u' then
            local cp = tonumber(s:sub(i + 2, i + 5), 16)
            out[#out + 1] = utf8.char(cp)
            i = i + 6
          else
            out[#out + 1] = map[e] or e
            i = i + 2
          end
        else
          local j = s:find('["\\]', i) or #s + 1
          out[#out + 1] = s:sub(i, j - 1)
          i = j
        end
      end
      return table.concat(out)
    end
    function val()
      ws()
      local c = s:sub(pos, pos)
      if c == '{' then
        local t = {}
        pos = pos + 1; ws()
        if s:sub(pos, pos) == '}' then pos = pos + 1; return t end
        while true do
          ws(); local k = str(); ws()
          if s:sub(pos, pos) ~= ':' then error('expected : at ' .. pos) end
          pos = pos + 1
          t[k] = val(); ws()
          local d = s:sub(pos, pos); pos = pos + 1
          if d == '}' then return t end
          if d ~= ',' then error('expected , or } at ' .. pos) end
        end
      elseif c == '[' then
        local t = json.newarray()
        pos = pos + 1; ws()
        if s:sub(pos, pos) == ']' then pos = pos + 1; return t end
        while true do
          t[#t + 1] = val(); ws()
          local d = s:sub(pos, pos); pos = pos + 1
          if d == ']' then return t end
          if d ~= ',' then error('expected , or ] at ' .. pos) end
        end
      elseif c == '"' then return str()
      elseif s:sub(pos, pos + 3) == 'true' then pos = pos + 4; return true
      elseif s:sub(pos, pos + 4) == 'false' then pos = pos + 5; return false
      elseif s:sub(pos, pos + 3) == 'null' then pos = pos + 4; return nil
      else
        local num = s:match('^-?%d+%.?%d*[eE]?[-+]?%d*', pos)
        if not num or num == '' then error('unexpected character at ' .. pos) end
        pos = pos + #num
        return math.tointeger(tonumber(num)) or tonumber(num)
      end
    end
    local ok, r = pcall(val)
    if not ok then error('json: ' .. tostring(r), 0) end
    return r
  end
end
_G.json = json

ao = { id = '', reference = 0, outbox = nil }
local function resetOutbox()
  ao.outbox = { Messages = json.newarray(), Spawns = json.newarray(), Assignments = json.newarray() }
end
resetOutbox()

function ao.send(m)
  ao.reference = ao.reference + 1
  local tags = json.newarray()
  local keys = {}
  for k in pairs(m) do if k ~= 'Target' and k ~= 'Data' then keys[#keys + 1] = k end end
  table.sort(keys)
  for _, k in ipairs(keys) do tags[#tags + 1] = { name = k, value = tostring(m[k]) } end
  tags[#tags + 1] = { name = 'From-Process', value = ao.id }
  local out = { Target = m.Target, Data = m.Data or '', Anchor = string.format('%032d', ao.reference), Tags = tags }
  table.insert(ao.outbox.Messages, out)
  return out
end

function ao.spawn(module, m)
  ao.reference = ao.reference + 1
  local s = { Module = module, Data = (m and m.Data) or '', Anchor = string.format('%032d', ao.reference) }
  table.insert(ao.outbox.Spawns, s)
  return s
end

Inbox = {}
Handlers = {} -- Handlers[action](msg) answers a message that is not an owner's Eval

local function tagvalue(msg, name)
  for _, t in ipairs(msg.Tags or {}) do
    if t.name == name then return t.value end
  end
end

local function stringify(v)
  if type(v) == 'table' then return json.encode(v) end
  return tostring(v)
end

function handle(msgJSON, envJSON)
  local msg = json.decode(msgJSON)
  local env = json.decode(envJSON)
  ao.id = (env.Process or {}).Id or ''
  local owner = (env.Process or {}).Owner
  resetOutbox()
  local action = tagvalue(msg, 'Action')
  if action == 'Throw' then error('thrown outside the process pcall: ' .. tostring(msg.Data)) end
  local response
  if action == 'Eval' and (owner == nil or msg.From == owner or msg.Owner == owner) then
    local printed = {}
    local realprint = print
    print = function(...)
      local parts = {}
      for i = 1, select('#', ...) do parts[i] = stringify((select(i, ...))) end
      printed[#printed + 1] = table.concat(parts, '\t')
    end
    local ok, result = pcall(function()
      local f, err = load(msg.Data or '', 'aos')
      if not f then error(err, 0) end
      return f()
    end)
    print = realprint
    if not ok then
      response = { Error = tostring(result) }
    else
      local output = result
      if output == nil and #printed > 0 then output = table.concat(printed, '\n') end
      if type(output) == 'table' then output = json.encode(output) end
      response = { Output = { data = { output = output, prompt = 'aos> ' } } }
    end
  elseif action ~= nil and type(Handlers[action]) == 'function' then
    local ok, err = pcall(Handlers[action], msg)
    if ok then
      response = { Output = { data = 'Handled ' .. action .. ' From ' .. tostring(msg.From), print = true } }
    else
      response = { Error = tostring(err) }
    end
  else
    table.insert(Inbox, { Id = msg.Id, From = msg.From, Action = action })
    response = { Output = { data = 'New Message From ' .. tostring(msg.From) .. ': Action = ' .. tostring(action), print = true } }
  end
  response.Messages = ao.outbox.Messages
  response.Spawns = ao.outbox.Spawns
  response.Assignments = ao.outbox.Assignments
  return json.encode({ ok = true, response = response })
end
