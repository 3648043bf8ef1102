"""README.md's "The API by example" as one bash script that checks every answer (tests/test_readme_examples.py).

The conventions, which the README's section states in one sentence:

- Every ```sh block from the heading "## The API by example" up to the next "## " heading runs, in order, in one
  bash session (`set -euo pipefail`), in an empty directory. A block whose first line is `# not run: <why>` is left
  out (it needs an outside service), and so is a command whose comment starts with `not run:`.
- `curl` is a shell function here: it adds `-sS` and fails the run unless the answer's status is 2xx, or the one the
  command's comment names as `# → 404`.
- A comment that starts with `{` or `[` (after an optional `→ NNN`), at the end of a command or on the comment lines
  right after it, is the answer the command's curl must get: JSON in which a bare `...` stands for any value, for
  more members of an object or for more elements at the end of an array, and `...` inside a string for any
  characters. Text after the JSON is prose. Object members the pattern does not show (and no `...`) fail the match.
- Lines that assign a given name (`S=...`: the server's address; `SETUP_KEY=...`; `DATA_DIR=...`) get the test's
  value instead of the README's.

Run as a script (`python readme_examples.py match PATTERN_FILE BODY_FILE`), it is the matcher the shell calls.
"""

from __future__ import annotations

import json
import re
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

ANY = "\x00any"  # a bare `...` value or array element
REST = "\x00rest"  # a bare `...` member of an object
SECTION = "## The API by example"
NOT_RUN = "not run:"


@dataclass
class Command:
    line: int  # README line of its first physical line
    text: str  # its physical lines, verbatim
    status: int | None = None
    answer: object = None
    answer_text: str | None = None
    skipped: bool = False


@dataclass
class Block:
    line: int
    commands: list[Command] = field(default_factory=list)
    skipped_because: str | None = None


# --- the answer patterns ----------------------------------------------------------------------------


def parse_pattern(text: str) -> tuple[object, str]:
    """The JSON pattern at the start of `text` (`...` turned into wildcards) and the prose after it."""
    out: list[str] = []
    stack: list[str] = []
    expecting_key = False
    i = 0
    while i < len(text):
        char = text[i]
        if char == '"':
            end = i + 1
            while end < len(text) and text[end] != '"':
                end += 2 if text[end] == "\\" else 1
            if end >= len(text):
                raise ValueError(f"a string not closed in the answer comment: {text}")
            out.append(text[i : end + 1])
            i = end + 1
            expecting_key = False
            continue
        if text.startswith("...", i):
            out.append(json.dumps(REST) + ":null" if stack and stack[-1] == "{" and expecting_key else json.dumps(ANY))
            i += 3
            expecting_key = False
            continue
        out.append(char)
        i += 1
        if char in "{[":
            stack.append(char)
            expecting_key = char == "{"
        elif char in "}]":
            stack.pop()
            if not stack:
                break
        elif char == ",":
            expecting_key = stack[-1] == "{"
        elif char == ":":
            expecting_key = False
        if not stack:
            break
    if stack:
        raise ValueError(f"{stack[-1]!r} not closed in the answer comment: {text}")
    return json.loads("".join(out)), text[i:].strip()


def mismatch(pattern: object, actual: object, path: str = "$") -> str | None:
    """Why `actual` does not match `pattern`, or None when it does."""
    if pattern == ANY:
        return None
    if isinstance(pattern, dict):
        if not isinstance(actual, dict):
            return f"{path}: expected an object, got {actual!r}"
        for key, value in pattern.items():
            if key == REST:
                continue
            if key not in actual:
                return f"{path}: no member {key!r} in {sorted(actual)}"
            why = mismatch(value, actual[key], f"{path}.{key}")
            if why:
                return why
        extra = sorted(set(actual) - set(pattern))
        if extra and REST not in pattern:
            return f"{path}: members the README does not show (add them or `...`): {extra}"
        return None
    if isinstance(pattern, list):
        if not isinstance(actual, list):
            return f"{path}: expected an array, got {actual!r}"
        open_ended = bool(pattern) and pattern[-1] == ANY
        shown = pattern[:-1] if open_ended else pattern
        if len(actual) < len(shown) or (not open_ended and len(actual) != len(shown)):
            return f"{path}: expected {len(shown)}{' or more' if open_ended else ''} elements, got {len(actual)}"
        for index, value in enumerate(shown):
            why = mismatch(value, actual[index], f"{path}[{index}]")
            if why:
                return why
        return None
    if isinstance(pattern, str) and "..." in pattern:
        regex = ".*".join(re.escape(part) for part in pattern.split("..."))
        if isinstance(actual, str) and re.fullmatch(regex, actual, re.DOTALL):
            return None
        return f"{path}: expected a string like {pattern!r}, got {actual!r}"
    if type(pattern) is not type(actual) and not (
        isinstance(pattern, int | float) and isinstance(actual, int | float) and not isinstance(actual, bool)
    ):
        return f"{path}: expected {pattern!r}, got {actual!r}"
    if pattern != actual:
        return f"{path}: expected {pattern!r}, got {actual!r}"
    return None


# --- reading the section ----------------------------------------------------------------------------


def section_lines(readme: str) -> list[tuple[int, str]]:
    """(README line number, text) of the lines of the section."""
    lines = readme.splitlines()
    start = lines.index(SECTION)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    return [(number + 1, lines[number]) for number in range(start, end)]


def trailing_comment(line: str) -> str | None:
    """The text of a shell comment at the end of `line` (quotes and `$(...)` understood), or None."""
    contexts: list[str] = []  # "'", '"', "$("
    i = 0
    while i < len(line):
        char, top = line[i], contexts[-1] if contexts else ""
        if top == "'":
            if char == "'":
                contexts.pop()
        elif top == '"':
            if char == "\\":
                i += 1
            elif char == '"':
                contexts.pop()
            elif line.startswith("$(", i):
                contexts.append("$(")
                i += 1
        else:
            if char == "\\":
                i += 1
            elif char in "'\"":
                contexts.append(char)
            elif line.startswith("$(", i):
                contexts.append("$(")
                i += 1
            elif char == ")" and top == "$(":
                contexts.pop()
            elif char == "#" and not contexts and (i == 0 or line[i - 1] in " \t;"):
                return line[i + 1 :].strip()
        i += 1
    return None


def _expectations(command: Command, comment: str) -> bool:
    """Take a status mark and an answer from `comment` into `command`; False for prose."""
    text = comment
    status = re.match(r"→\s*(\d{3})\b", text)
    if status:
        command.status = int(status[1])
        text = text[status.end() :].strip()
    if text[:1] in ("{", "["):
        if command.answer_text is not None:
            raise ValueError(f"README line {command.line}: two answers for one command")
        try:
            command.answer, _ = parse_pattern(text)
        except ValueError as error:
            raise ValueError(
                f"README line {command.line}: the answer comment is not a JSON pattern ({error})"
            ) from None
        command.answer_text = text
        return True
    return status is not None


def _unclosed(comment: str) -> bool:
    """Whether the answer in `comment` goes on (its JSON is not closed on this line)."""
    try:
        _expectations(Command(0, ""), comment)
    except ValueError as error:
        return "not closed" in str(error)
    return False


def blocks(readme: str) -> list[Block]:
    """The section's ```sh blocks, each as its commands with their expectations."""
    found: list[Block] = []
    block: Block | None = None
    pending: list[tuple[int, str]] = []  # physical lines of a command continued with `\`
    last: Command | None = None
    unclosed = ""  # an answer comment that continues on the next comment line
    for number, text in section_lines(readme):
        if block is None:
            if text.strip() == "```sh":
                block, last = Block(number + 1), None
                found.append(block)
            continue
        stripped = text.strip()
        if unclosed and not stripped.startswith("#"):
            raise ValueError(f"README line {number - 1}: the answer comment is not closed: {unclosed}")
        if stripped == "```":
            if pending:
                raise ValueError(f"README line {pending[0][0]}: a `\\` continues past the end of the block")
            block = None
            continue
        if not pending and stripped.startswith("#"):
            comment = f"{unclosed} {stripped[1:].strip()}".strip()
            unclosed = ""
            if last is not None and comment[:1] in "{[→" and _unclosed(comment):
                unclosed = comment
            elif not block.commands and block.skipped_because is None and comment.startswith(NOT_RUN):
                block.skipped_because = comment[len(NOT_RUN) :].strip()
            elif last is None or not _expectations(last, comment):
                last = None  # prose: a later answer comment belongs to no command above
            continue
        if not stripped:
            last = None
            continue
        pending.append((number, text))
        if text.endswith("\\"):
            continue
        command = Command(pending[0][0], "\n".join(line for _, line in pending))
        pending = []
        trailing = trailing_comment(command.text.splitlines()[-1])
        if trailing is not None:
            if trailing.startswith(NOT_RUN):
                command.skipped = True
            else:
                _expectations(command, trailing)
        block.commands.append(command)
        last = command
    return found


# --- the script -------------------------------------------------------------------------------------

PRELUDE = r"""
set -euo pipefail
_LINE=0 _STATUS= _ANSWER=
_expect() { _LINE=$1 _STATUS=$2 _ANSWER=$3; }
_fail() {
  printf 'README.md line %s: %s\n' "$_LINE" "$1" | tee -a "$_RUN/failures" >&2
  exit 1
}
curl() {
  local own_output=0 arg body="$_RUN/body.$BASHPID" code
  for arg in "$@"; do
    case $arg in -o|-O|-OJ|-JO|--output|--remote-name) own_output=1 ;; esac
  done
  if [ $own_output = 1 ]; then
    code=$(command curl -sS -w '%{http_code}' "$@") || _fail "curl failed: curl $*"
  else
    code=$(command curl -sS -w '%{http_code}' -o "$body" "$@") || _fail "curl failed: curl $*"
  fi
  echo "$_LINE $EPOCHREALTIME" >> "$_RUN/checked"
  if [ -n "$_STATUS" ]; then
    [ "$code" = "$_STATUS" ] || _fail "expected status $_STATUS, got $code: $(head -c 2000 "$body" 2>/dev/null)"
  elif [ "${code:0:1}" != 2 ]; then
    _fail "expected a 2xx status, got $code (mark an expected error with '# → $code'): $(head -c 2000 "$body" 2>/dev/null)"
  fi
  if [ -n "$_ANSWER" ]; then
    [ $own_output = 0 ] || _fail "an answer comment on a curl that writes to a file"
    "$_PY" "$_MATCHER" match "$_ANSWER" "$body" || _fail "the answer differs from the README's comment (above)"
  fi
  if [ $own_output = 0 ]; then cat "$body"; rm -f "$body"; fi
}
"""


def script(readme: str, given: dict[str, str], answers_dir: Path) -> tuple[str, list[Command]]:
    """The bash script that runs the section, and the commands it runs (skipped ones left out)."""
    parts = [PRELUDE]
    run: list[Command] = []
    assigned: set[str] = set()
    for block in blocks(readme):
        if block.skipped_because is not None:
            continue
        for command in block.commands:
            if command.skipped:
                continue
            text = command.text
            name = re.match(r"([A-Z_]+)=", text)
            if name and name[1] in given:
                text = f"{name[1]}={shlex.quote(given[name[1]])}"
                assigned.add(name[1])
            answer = ""
            if command.answer_text is not None:
                path = answers_dir / f"{command.line}.json"
                path.write_text(command.answer_text)
                answer = str(path)
            parts.append(f"_expect {command.line} '{command.status or ''}' '{answer}'\n{text}\n")
            run.append(command)
    missing = set(given) - assigned
    if missing:
        raise ValueError(f"the section never assigns {sorted(missing)}")
    parts.append('echo done > "$_RUN/done"\n')
    return "".join(parts), run


def _match_main(pattern_file: str, body_file: str) -> int:
    pattern_text = Path(pattern_file).read_text()
    body = Path(body_file).read_text()
    try:
        actual = json.loads(body)
    except ValueError:
        print(f"the answer is not JSON: {body[:2000]}", file=sys.stderr)
        return 1
    why = mismatch(parse_pattern(pattern_text)[0], actual)
    if why:
        print(f"{why}\n  README: {pattern_text}\n  server: {body[:3000]}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "match":
        sys.exit(_match_main(sys.argv[2], sys.argv[3]))
    sys.exit("usage: readme_examples.py match PATTERN_FILE BODY_FILE")
