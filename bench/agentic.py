"""The agentic turn the wrk scenarios send (~60 KB), built deterministically (no fixtures).

The turn a coding agent sends: a long system prompt, 15 tools with realistic JSON schemas
(`$schema`, `additionalProperties`, enums, defaults, nested arrays, `anyOf` with null), and ~50
messages of tool calls and tool results, with code, quotes, newlines and a little non-ASCII in
them. The same conversation is rendered in the OpenAI Chat Completions and the Anthropic
Messages shapes.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

SEED = 9  # the agentic conversation is the same in every run and on every machine


def dump(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


_SECTIONS = (
    "Tone and style",
    "Proactiveness",
    "Following conventions",
    "Code style",
    "Task management",
    "Doing tasks",
    "Tool usage policy",
    "Code references",
    "Security",
    "Git and version control",
    "Testing",
    "Environment",
)
_RULES = (
    "Be concise, direct, and to the point; answer in fewer than four lines unless asked "
    "for detail.",
    "When you run a non-trivial `bash` command, explain what it does and why you are running "
    "it, especially when it changes the user's system.",
    'Never write "Here is the content of the file…" or similar preambles; go straight to '
    "the answer.",
    "Before you change a file, read it first and understand the surrounding code, its imports "
    "and its tests.",
    "Mimic the code style, use existing libraries and utilities, and follow existing patterns.",
    "Never assume that a given library is available, even if it is well known: check "
    "`pyproject.toml`, `package.json` or `Cargo.toml` first.",
    "Do not add comments to the code you write unless the user asks you to, or the code is "
    "complex and needs the context.",
    "Use the TodoWrite tool very frequently to plan the task and to give the user visibility "
    "into your progress — mark todos as completed as soon as they are done.",
    "When you are unsure, search the code base with Grep and Glob before you ask the user; "
    "prefer several calls in parallel when they are independent.",
    "Never commit changes unless the user explicitly asks you to; never push to a remote.",
    "Refuse to write or explain code that may be used maliciously, even if the user claims it "
    "is for educational purposes.",
    "After you complete a task, run the lint and type-check commands (e.g. `ruff check`, "
    "`mypy --strict`) if they were provided to you.",
    "Reference code as `file_path:line_number` so the user can navigate to it — e.g. "
    "`src/app/server.py:712`.",
    "Working directory: /home/dev/projects/café-service (a git repository, branch "
    '"feature/ratelimit").',
)

_TOOLS: tuple[tuple[str, str, dict[str, Any], list[str]], ...] = (
    (
        "Read",
        "Reads a file from the local filesystem. You can access any file directly with this "
        "tool. The file_path parameter must be an absolute path, not a relative path. By "
        "default, it reads up to 2000 lines starting from the beginning of the file; you can "
        "optionally specify a line offset and limit. Results are returned using cat -n format, "
        "with line numbers starting at 1.",
        {
            "file_path": {"type": "string", "description": "The absolute path to the file"},
            "offset": {"type": "integer", "minimum": 0, "description": "Line to start from"},
            "limit": {"type": "integer", "minimum": 1, "maximum": 2000, "default": 2000},
        },
        ["file_path"],
    ),
    (
        "Write",
        "Writes a file to the local filesystem. This tool will overwrite the existing file if "
        "there is one at the provided path. If this is an existing file, you MUST use the Read "
        "tool first to read the file's contents.",
        {
            "file_path": {"type": "string", "description": "The absolute path to the file"},
            "content": {"type": "string", "description": "The content to write to the file"},
        },
        ["file_path", "content"],
    ),
    (
        "Edit",
        "Performs exact string replacements in files. You must use your Read tool at least once "
        "before editing. The edit will FAIL if old_string is not unique in the file; either "
        "provide a larger string with more surrounding context or use replace_all.",
        {
            "file_path": {"type": "string", "description": "The absolute path to the file"},
            "old_string": {"type": "string", "description": "The text to replace"},
            "new_string": {"type": "string", "description": "The text to replace it with"},
            "replace_all": {"type": "boolean", "default": False},
        },
        ["file_path", "old_string", "new_string"],
    ),
    (
        "MultiEdit",
        "Makes multiple edits to a single file in one operation. All edits are applied in "
        "sequence, in the order they are provided; each edit operates on the result of the "
        "previous edit. The edits are atomic: either all succeed or none are applied.",
        {
            "file_path": {"type": "string"},
            "edits": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "old_string": {"type": "string"},
                        "new_string": {"type": "string"},
                        "replace_all": {"type": "boolean", "default": False},
                    },
                    "required": ["old_string", "new_string"],
                    "additionalProperties": False,
                },
            },
        },
        ["file_path", "edits"],
    ),
    (
        "Bash",
        "Executes a given bash command in a persistent shell session with optional timeout, "
        "ensuring proper handling and security measures. Before executing the command, verify "
        "that the parent directory exists. Always quote file paths that contain spaces with "
        'double quotes (e.g., cd "path with spaces/file.txt"). Avoid find and grep; use Glob '
        "and Grep instead.",
        {
            "command": {"type": "string", "description": "The command to execute"},
            "timeout": {"type": "number", "maximum": 600000, "description": "Milliseconds"},
            "description": {"type": "string", "description": "5-10 words on what it does"},
            "run_in_background": {"type": "boolean", "default": False},
        },
        ["command"],
    ),
    (
        "Glob",
        "Fast file pattern matching tool that works with any codebase size. Supports glob "
        'patterns like "**/*.js" or "src/**/*.ts". Returns matching file paths sorted by '
        "modification time.",
        {
            "pattern": {"type": "string", "description": "The glob pattern"},
            "path": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
        },
        ["pattern"],
    ),
    (
        "Grep",
        "A powerful search tool built on ripgrep. Supports full regex syntax (e.g. "
        '"log.*Error", "function\\\\s+\\\\w+"). Filter files with the glob parameter or the '
        "type parameter. Output modes: content shows matching lines, files_with_matches shows "
        "only file paths, count shows match counts.",
        {
            "pattern": {"type": "string"},
            "path": {"type": "string"},
            "glob": {"type": "string"},
            "output_mode": {
                "type": "string",
                "enum": ["content", "files_with_matches", "count"],
                "default": "files_with_matches",
            },
            "-i": {"type": "boolean"},
            "-n": {"type": "boolean"},
            "-C": {"type": "integer", "minimum": 0},
            "head_limit": {"type": "integer", "exclusiveMinimum": 0},
            "multiline": {"type": "boolean", "default": False},
        },
        ["pattern"],
    ),
    (
        "LS",
        "Lists files and directories in a given path. The path parameter must be an absolute "
        "path, not a relative path. You can optionally provide an array of glob patterns to "
        "ignore.",
        {
            "path": {"type": "string"},
            "ignore": {"type": "array", "items": {"type": "string"}, "uniqueItems": True},
        },
        ["path"],
    ),
    (
        "WebFetch",
        "Fetches content from a specified URL and processes it using an AI model. Takes a URL "
        "and a prompt as input, fetches the URL content, converts HTML to markdown, and "
        "returns the model's response about the content.",
        {
            "url": {"type": "string", "format": "uri"},
            "prompt": {"type": "string", "minLength": 1},
        },
        ["url", "prompt"],
    ),
    (
        "WebSearch",
        "Allows the agent to search the web and use the results to inform responses. Provides "
        "up-to-date information for current events and recent data.",
        {
            "query": {"type": "string", "minLength": 2},
            "allowed_domains": {"type": "array", "items": {"type": "string"}},
            "blocked_domains": {"type": "array", "items": {"type": "string"}},
        },
        ["query"],
    ),
    (
        "TodoWrite",
        "Use this tool to create and manage a structured task list for your current coding "
        "session. This helps you track progress, organize complex tasks, and demonstrate "
        "thoroughness to the user.",
        {
            "todos": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "content": {"type": "string", "minLength": 1},
                        "status": {
                            "type": "string",
                            "enum": ["pending", "in_progress", "completed"],
                        },
                        "priority": {"type": "string", "enum": ["high", "medium", "low"]},
                        "id": {"type": "string"},
                    },
                    "required": ["content", "status", "priority", "id"],
                    "additionalProperties": False,
                },
            }
        },
        ["todos"],
    ),
    (
        "Task",
        "Launch a new agent to handle complex, multi-step tasks autonomously. Available agent "
        "types: general-purpose (researching complex questions, searching for code, executing "
        "multi-step tasks), statusline-setup, output-style-setup.",
        {
            "description": {"type": "string", "description": "A short (3-5 word) description"},
            "prompt": {"type": "string", "description": "The task for the agent to perform"},
            "subagent_type": {"type": "string"},
        },
        ["description", "prompt", "subagent_type"],
    ),
    (
        "NotebookEdit",
        "Completely replaces the contents of a specific cell in a Jupyter notebook (.ipynb "
        "file) with new source. The notebook_path parameter must be an absolute path.",
        {
            "notebook_path": {"type": "string"},
            "cell_id": {"type": "string"},
            "new_source": {"type": "string"},
            "cell_type": {"type": "string", "enum": ["code", "markdown"]},
            "edit_mode": {
                "type": "string",
                "enum": ["replace", "insert", "delete"],
                "default": "replace",
            },
        },
        ["notebook_path", "new_source"],
    ),
    (
        "ExitPlanMode",
        "Use this tool when you are in plan mode and have finished presenting your plan and are "
        "ready to code. This will prompt the user to exit plan mode.",
        {"plan": {"type": "string", "description": "The plan, in markdown"}},
        ["plan"],
    ),
    (
        "BashOutput",
        "Retrieves output from a running or completed background bash shell. Always returns "
        "only new output since the last check, with the command's status.",
        {
            "bash_id": {"type": "string"},
            "filter": {"type": "string", "description": "A regular expression for lines"},
        },
        ["bash_id"],
    ),
)

_IDENTIFIERS = (
    "rate_limiter",
    "bucket",
    "tokens",
    "refill_rate",
    "last_refill",
    "request",
    "client_id",
    "window",
    "redis",
    "config",
    "retry_after",
    "response",
    "headers",
    "burst",
)


def _code(rng: random.Random, lines: int) -> str:
    """A plausible Python file, `cat -n` style, as a Read tool answers."""
    out = []
    for n in range(1, lines + 1):
        a, b, c = rng.sample(_IDENTIFIERS, 3)
        shape = rng.randrange(6)
        if shape == 0:
            text = f"def {a}_{b}(self, {c}: int = {rng.randrange(100)}) -> dict[str, Any]:"
        elif shape == 1:
            text = f"    {a} = self.{b}.get({c!r}, {rng.random():.3f})"
        elif shape == 2:
            text = f'    raise ValueError(f"{a} must be > 0, got {{{b}!r}}")'
        elif shape == 3:
            text = f"    # {a} is refilled lazily: see {b}.py:{rng.randrange(400)}"
        elif shape == 4:
            text = f"    return {{'{a}': {b}, '{c}': time.monotonic() - self.{c}}}"
        else:
            text = f"    if {a} > {b} * {rng.randrange(2, 9)}:"
        out.append(f"{n:>6}\t{text}")
    return "\n".join(out)


@dataclass(frozen=True)
class Call:
    id: str
    name: str
    args: dict[str, Any]
    result: str


@dataclass(frozen=True)
class Turn:
    """One assistant turn: some text and its tool calls, answered by their results."""

    text: str
    calls: tuple[Call, ...]


@dataclass(frozen=True)
class Conversation:
    system: str
    first_user: str
    turns: tuple[Turn, ...]
    last_user: str


def conversation() -> Conversation:
    rng = random.Random(SEED)  # noqa: S311 (test data, not secrets)
    sections = []
    for title in _SECTIONS:
        rules = [f"- {rng.choice(_RULES)}" for _ in range(10)]
        sections.append(f"# {title}\n" + "\n".join(rules))
    system = (
        "You are an interactive CLI tool that helps users with software engineering tasks. "
        "Use the instructions below and the tools available to you to assist the user.\n\n"
        + "\n\n".join(sections)
    )
    turns = []
    for index in range(24):
        calls = []
        for sub in range(2 if index % 6 == 5 else 1):
            number = len(turns) * 2 + sub
            path = f"/home/dev/projects/café-service/src/{rng.choice(_IDENTIFIERS)}.py"
            kind = index % 4
            if kind == 0:
                call = Call(f"toolu_bench_{number:03d}", "Read", {"file_path": path}, "")
                result = _code(rng, rng.randrange(20, 34))
            elif kind == 1:
                pattern = rf"def {rng.choice(_IDENTIFIERS)}\w*\("
                args = {"pattern": pattern, "output_mode": "content", "-n": True}
                call = Call(f"toolu_bench_{number:03d}", "Grep", args, "")
                result = "\n".join(
                    f"src/{rng.choice(_IDENTIFIERS)}.py:{rng.randrange(1, 500)}:"
                    f"    def {rng.choice(_IDENTIFIERS)}(self, {rng.choice(_IDENTIFIERS)}):"
                    for _ in range(rng.randrange(8, 14))
                )
            elif kind == 2:
                old = f"    {rng.choice(_IDENTIFIERS)} = self.{rng.choice(_IDENTIFIERS)}"
                args = {"file_path": path, "old_string": old, "new_string": old + " or 0"}
                call = Call(f"toolu_bench_{number:03d}", "Edit", args, "")
                result = (
                    f"The file {path} has been updated. Here's the result of running `cat -n` "
                    "on a snippet of the edited file:\n" + _code(rng, 14)
                )
            else:
                command = "cd /home/dev/projects/café-service && python -m pytest -q tests/unit"
                args = {"command": command, "description": "Run the unit tests"}
                call = Call(f"toolu_bench_{number:03d}", "Bash", args, "")
                failed = rng.randrange(0, 3)
                result = (
                    "".join(rng.choice(".....F") for _ in range(60))
                    + f"\n{'=' * 20} {failed} failed, {rng.randrange(80, 140)} passed in "
                    f"{rng.random() * 4:.2f}s {'=' * 20}\n"
                    'E   AssertionError: assert {"retry_after": 3} == {"retry_after": 2}'
                )
            calls.append(Call(call.id, call.name, call.args, result))
        a, b = rng.sample(_IDENTIFIERS, 2)
        text = (
            f"I'll look at how `{a}` interacts with `{b}` next — the failing test expects the "
            f"refill to happen before the window check."
        )
        turns.append(Turn(text, tuple(calls)))
    return Conversation(
        system=system,
        first_user=(
            "The rate limiter lets bursts through after a Redis failover. Find out why, fix it, "
            "and make sure the unit tests pass. Don't touch the public API."
        ),
        turns=tuple(turns),
        last_user="Good. Now also cover the failover case with a test, then summarize.",
    )


def _schema(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


FORMATS = ("openai", "anthropic")  # the client formats the agentic turn is rendered in


def agentic(fmt: str, model: str, stream: bool) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"the agentic turn has no {fmt} shape")
    talk = conversation()
    if fmt == "openai":
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": talk.system},
            {"role": "user", "content": talk.first_user},
        ]
        for turn in talk.turns:
            calls = [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {
                        "name": call.name,
                        "arguments": json.dumps(call.args, ensure_ascii=False),
                    },
                }
                for call in turn.calls
            ]
            messages.append({"role": "assistant", "content": turn.text, "tool_calls": calls})
            messages += [
                {"role": "tool", "tool_call_id": call.id, "content": call.result}
                for call in turn.calls
            ]
        messages.append({"role": "user", "content": talk.last_user})
        tools = [
            {
                "type": "function",
                "function": {"name": n, "description": d, "parameters": _schema(p, r)},
            }
            for n, d, p, r in _TOOLS
        ]
        body: dict[str, Any] = {"model": model, "max_tokens": 4096}
        if stream:
            body |= {"stream": True, "stream_options": {"include_usage": True}}
        return dump(body | {"messages": messages, "tools": tools, "tool_choice": "auto"})
    anthropic_messages: list[dict[str, Any]] = [{"role": "user", "content": talk.first_user}]
    for turn in talk.turns:
        blocks: list[dict[str, Any]] = [{"type": "text", "text": turn.text}]
        blocks += [
            {"type": "tool_use", "id": call.id, "name": call.name, "input": call.args}
            for call in turn.calls
        ]
        anthropic_messages.append({"role": "assistant", "content": blocks})
        results = [
            {"type": "tool_result", "tool_use_id": call.id, "content": call.result}
            for call in turn.calls
        ]
        anthropic_messages.append({"role": "user", "content": results})
    anthropic_messages[-1]["content"].append({"type": "text", "text": talk.last_user})
    body = {"model": model, "max_tokens": 4096}
    if stream:
        body["stream"] = True
    body |= {
        "system": [
            {"type": "text", "text": talk.system, "cache_control": {"type": "ephemeral"}},
        ],
        "messages": anthropic_messages,
        "tools": [
            {"name": n, "description": d, "input_schema": _schema(p, r)} for n, d, p, r in _TOOLS
        ],
    }
    return dump(body)
