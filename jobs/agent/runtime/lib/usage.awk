# Reads claude-code's final stream-json line ({"type":"result",...}) and prints the body of the
# _usage report: {"cost_usd": N|null, "usage": {...}|null, "num_turns": N|null}.
# A small scanner for the object's top-level members: strings, escapes and nesting are honoured;
# the values are copied as claude-code wrote them (valid JSON), after a shape check.

function trim(s) {
  sub(/^[ \t\r\n]+/, "", s)
  sub(/[ \t\r\n]+$/, "", s)
  return s
}

{
  line = $0
  n = length(line)
  depth = 0
  instr = 0
  esc = 0
  state = ""
  for (i = 1; i <= n; i++) {
    c = substr(line, i, 1)
    if (instr) {
      if (esc) esc = 0
      else if (c == "\\") esc = 1
      else if (c == "\"") {
        instr = 0
        if (depth == 1 && state == "key") {
          key = substr(line, ks, i - ks)
          state = "colon"
        }
      }
      continue
    }
    if (c == "\"") {
      instr = 1
      if (depth == 1 && state == "key") ks = i + 1
    } else if (c == "{" || c == "[") {
      depth++
      if (depth == 1) state = "key"
    } else if (c == "}" || c == "]") {
      if (depth == 1 && state == "value") value[key] = trim(substr(line, vs, i - vs))
      depth--
    } else if (depth == 1) {
      if (c == ":" && state == "colon") {
        state = "value"
        vs = i + 1
      } else if (c == "," && state == "value") {
        value[key] = trim(substr(line, vs, i - vs))
        state = "key"
      }
    }
  }
}

END {
  cost = value["total_cost_usd"]
  if (cost !~ /^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$/) cost = "null"
  usage = value["usage"]
  if (usage !~ /^\{.*\}$/) usage = "null"
  turns = value["num_turns"]
  if (turns !~ /^[0-9]+$/) turns = "null"
  printf "{\"cost_usd\": %s, \"usage\": %s, \"num_turns\": %s}\n", cost, usage, turns
}
