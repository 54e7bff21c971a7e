"""Read exec strings the way FreeBSD's sh reads the simple forms tools send.

Supported: `;` `&&` `||` `|`, newlines, single and double quotes, backslashes, `#`
comments, `$?` `$VAR` `${VAR}` (expanded when the command runs, so `echo "rc $?"` sees the
previous exit status), redirections (`[N]>`/`>>`/`>|`/`<` /dev/null, `[N]>&M`, `[N]>&-`,
left to right; a command's stderr sent to stdout follows its stdout; any other file answers
`sh: cannot create FILE: Read-only file system`, exit 2), `VAR=value cmd` and bare
`VAR=value`, `export`, `echo`, `true`, `false`, `exit`, and the wrappers `sh -c`/`/bin/sh
-c`, `timeout [-k N] [-s SIG] N`, `doas`/`sudo`, `env`, `nice`, `command`, `exec`. Anything
else goes to the command table; an unknown name answers `sh: NAME: not found`, exit 127.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

BIN_DIRS = ("/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/usr/local/bin/", "/usr/local/sbin/")
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
FD_RE = re.compile(r"[0-9]+")
DUP_RE = re.compile(r"[0-9]+|-")  # the word after >& or <&
REDIR_OPS = (">>", ">|", ">&", "<&", "<>", ">", "<")
MAX_DEPTH = 8


class ShellSyntaxError(ValueError):
    pass


class _Exit(Exception):
    def __init__(self, code: int):
        self.code = code


@dataclass
class Word:
    parts: list = field(default_factory=list)  # ("lit", text) or ("var", name)
    assign: bool = False  # starts with an unquoted NAME=


@dataclass
class Redir:
    fd: int | None  # the IO number before the operator (`2>`), None for the default
    op: str  # one of REDIR_OPS
    target: Word | None = None  # the word after the operator, set by parse()


def tokenize(text: str) -> list:
    """Return a list of Word, Redir (target not yet set) and operator strings."""
    out: list = []
    i, n = 0, len(text)
    word: Word | None = None
    lit: list[str] = []
    quoted_prefix = quoted = False

    def flush_lit():
        if lit:
            word.parts.append(("lit", "".join(lit)))
            lit.clear()

    def end_word():
        nonlocal word, quoted_prefix, quoted
        if word is not None:
            flush_lit()
            out.append(word)
        word, quoted_prefix, quoted = None, False, False

    def start():
        nonlocal word
        if word is None:
            word = Word()

    def var(j: int) -> int:
        """Parse a $-expansion at text[j] == '$'; return the index after it."""
        flush_lit()
        if j + 1 < n and text[j + 1] in "?$#!0":
            word.parts.append(("var", text[j + 1]))
            return j + 2
        if j + 1 < n and text[j + 1] == "{":
            close = text.find("}", j)
            if close < 0:
                raise ShellSyntaxError("Syntax error: Missing '}'")
            word.parts.append(("var", text[j + 2 : close]))
            return close + 1
        m = NAME_RE.match(text, j + 1)
        if not m:
            lit.append("$")
            return j + 1
        word.parts.append(("var", m.group()))
        return m.end()

    while i < n:
        c = text[i]
        if c in " \t":
            end_word()
            i += 1
        elif c == "\n" or c == ";":
            end_word()
            out.append(";")
            i += 1
        elif c in "|&":
            end_word()
            two = text[i : i + 2]
            if two in ("&&", "||"):
                out.append(two)
                i += 2
            else:
                out.append(c)
                i += 1
        elif c in "<>":
            if text.startswith("<<", i):
                raise ShellSyntaxError("Syntax error: here-documents are not supported")
            digits, fd = "".join(lit), None
            if word is not None and not (word.parts or quoted) and FD_RE.fullmatch(digits):
                fd, word = int(digits), None  # `2>`: the digits are the IO number, not a word
                lit.clear()
            end_word()
            op = next(o for o in REDIR_OPS if text.startswith(o, i))
            out.append(Redir(fd, op))
            i += len(op)
        elif c == "#" and word is None:
            while i < n and text[i] != "\n":
                i += 1
        elif c == "'":
            start()
            quoted_prefix = quoted_prefix or (not word.parts and not lit)
            quoted = True
            close = text.find("'", i + 1)
            if close < 0:
                raise ShellSyntaxError("Syntax error: Unterminated quoted string")
            lit.append(text[i + 1 : close])
            i = close + 1
        elif c == '"':
            start()
            quoted_prefix = quoted_prefix or (not word.parts and not lit)
            quoted = True
            i += 1
            while True:
                if i >= n:
                    raise ShellSyntaxError("Syntax error: Unterminated quoted string")
                c = text[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\" and i + 1 < n and text[i + 1] in '$`"\\\n':
                    lit.append(text[i + 1])
                    i += 2
                elif c == "$":
                    i = var(i)
                else:
                    lit.append(c)
                    i += 1
        elif c == "\\":
            start()
            quoted = True
            if i + 1 < n and text[i + 1] != "\n":
                lit.append(text[i + 1])
            i += 2
        elif c == "$":
            start()
            i = var(i)
        else:
            start()
            if (
                c == "="
                and not word.parts
                and not quoted_prefix
                and NAME_RE.fullmatch("".join(lit))
            ):
                word.assign = True
            lit.append(c)
            i += 1
    end_word()
    return out


def parse(text: str) -> list[tuple[str | None, list[list[Word | Redir]]]]:
    """[(connector, pipeline)], connector None/';'/'&&'/'||'; pipeline = [[Word|Redir, ...]]."""
    items: list = []
    connector, pipeline, cmd = None, [], []
    pending: Redir | None = None  # a redirection operator still waiting for its word
    for tok in tokenize(text):
        if pending is not None:
            if not isinstance(tok, Word):
                raise ShellSyntaxError(f'Syntax error: "{getattr(tok, "op", tok)}" unexpected')
            literal = all(k == "lit" for k, _ in tok.parts)  # `>&$fd` is checked when run
            if pending.op[1:] == "&" and literal and not DUP_RE.fullmatch(_text(tok)):
                raise ShellSyntaxError("Syntax error: Bad fd number")
            pending.target, pending = tok, None
            continue
        if isinstance(tok, (Word, Redir)):
            cmd.append(tok)
            pending = tok if isinstance(tok, Redir) else None
            continue
        if tok == "&":
            raise ShellSyntaxError("Syntax error: background jobs are not supported")
        if not cmd:
            if tok == ";" and not pipeline:
                continue
            raise ShellSyntaxError(f'Syntax error: "{tok}" unexpected')
        pipeline.append(cmd)
        cmd = []
        if tok != "|":
            items.append((connector, pipeline))
            connector, pipeline = tok, []
    if pending is not None:
        raise ShellSyntaxError("Syntax error: end of file unexpected")
    if cmd:
        pipeline.append(cmd)
    elif pipeline or connector in ("&&", "||", "|"):
        raise ShellSyntaxError("Syntax error: end of file unexpected")
    if pipeline:
        items.append((connector, pipeline))
    return items


class Shell:
    """One `sh -c` run: ``dispatch(argv, stdin, env) -> (stdout, stderr, rc)``."""

    def __init__(self, dispatch, env: dict | None = None):
        self.dispatch = dispatch
        self.vars = dict(env or {})
        self.exported: set[str] = set(self.vars)
        self.rc = 0
        self.out: list[str] = []
        self.err: list[str] = []

    def run(self, text: str, depth: int = 0) -> int:
        try:
            self._run_list(text, depth)
        except ShellSyntaxError as exc:
            self.err.append(f"sh: {exc}\n")
            self.rc = 2
        except _Exit as exc:
            self.rc = exc.code
        return self.rc

    def _run_list(self, text: str, depth: int) -> None:
        for connector, pipeline in parse(text):
            if (connector == "&&" and self.rc != 0) or (connector == "||" and self.rc == 0):
                continue
            data = ""
            for k, words in enumerate(pipeline):
                data, rc = self._simple(words, data, depth)
                if k < len(pipeline) - 1:
                    continue
                self.out.append(data)
                self.rc = rc

    def expand(self, w: Word) -> str:
        out = []
        for kind, val in w.parts:
            if kind == "lit":
                out.append(val)
            elif val == "?":
                out.append(str(self.rc))
            elif val in "$!#0":
                out.append({"$": "4242", "!": "", "#": "0", "0": "sh"}[val])
            else:
                out.append(str(self.vars.get(val, "")))
        return "".join(out)

    def _simple(self, words: list, stdin: str, depth: int) -> tuple[str, int]:
        """Run one simple command; return what it sends to its stdout (pipe or shell out)."""
        assigns = {}
        argv = []
        fds = {0: "in", 1: "out", 2: "err"}  # where each fd goes: in/out/err/null
        for w in words:
            if isinstance(w, Redir):
                error = self._redirect(w, fds)
                if error:  # like sh: the command does not run, status 2
                    return self._route([(2, f"sh: {error}\n")], fds), 2
                continue
            text = self.expand(w)
            if w.assign and not argv:
                name, _, value = text.partition("=")
                assigns[name] = value
            else:
                argv.append(text)
        if not argv:
            self.vars.update(assigns)
            return "", 0
        env = {k: self.vars[k] for k in self.exported if k in self.vars} | assigns
        saved, self.err = self.err, []
        try:
            out, rc = self.command(argv, stdin if fds[0] == "in" else "", env, depth)
        finally:
            err, self.err = "".join(self.err), saved
        return self._route([(1, out), (2, err)], fds), rc

    def _redirect(self, r: Redir, fds: dict) -> str | None:
        """Apply one redirection to ``fds``; return sh's error text when it fails."""
        target = self.expand(r.target)
        fd = r.fd if r.fd is not None else int(r.op[0] == ">")
        if r.op in (">&", "<&"):
            if not DUP_RE.fullmatch(target):
                return f"{target}: Bad fd number"
            if target != "-" and int(target) not in fds:
                return f"{target}: Bad file descriptor"
            fds[fd] = "null" if target == "-" else fds[int(target)]
        elif target == "/dev/null":
            fds[fd] = "null"
        elif r.op == "<":
            return f"cannot open {target}: No such file or directory"
        else:  # no writable files in the simulator
            return f"cannot create {target}: Read-only file system"
        return None

    def _route(self, streams: list[tuple[int, str]], fds: dict) -> str:
        """Send each (fd, text) where ``fds`` points; return the part bound for stdout."""
        out = []
        for fd, text in streams:
            if fds.get(fd) == "out":
                out.append(text)
            elif fds.get(fd) == "err":
                self.err.append(text)
        return "".join(out)

    def command(self, argv: list[str], stdin: str, env: dict, depth: int) -> tuple[str, int]:
        name = argv[0]
        if name.startswith(BIN_DIRS):
            name = name.rsplit("/", 1)[1]
        args = argv[1:]
        if name == "echo":
            nl = "\n"
            if args and args[0] == "-n":
                nl, args = "", args[1:]
            return " ".join(args) + nl, 0
        if name in ("true", ":"):
            return "", 0
        if name == "false":
            return "", 1
        if name == "exit":
            raise _Exit(int(args[0]) if args and args[0].isdigit() else self.rc)
        if name == "export":
            for a in args:
                k, eq, v = a.partition("=")
                if eq:
                    self.vars[k] = v
                self.exported.add(k)
            return "", 0
        if name in ("sh", "bash"):
            return self._sh(args, stdin, env, depth)
        inner = unwrap(name, args)
        if inner is not None:
            if not inner:
                return "", 0
            extra, inner = _env_prefix(inner)
            return self.command(inner, stdin, env | extra, depth)
        out, err, rc = self.dispatch([name, *args], stdin, env)
        if err:
            self.err.append(err)
        return out, rc

    def _sh(self, args, stdin, env, depth) -> tuple[str, int]:
        if depth >= MAX_DEPTH:
            self.err.append("sh: too many nested shells\n")
            return "", 2
        # `... | sh` reads its script from stdin
        script = stdin if args[:1] != ["-c"] or len(args) < 2 else args[1]
        sub = Shell(self.dispatch, env)
        sub.rc = self.rc
        sub.run(script, depth + 1)
        self.err.extend(sub.err)
        return "".join(sub.out), sub.rc


def _text(w: Word) -> str:
    return "".join(v for _, v in w.parts)


def _env_prefix(argv: list[str]) -> tuple[dict, list[str]]:
    extra = {}
    while argv and "=" in argv[0] and NAME_RE.fullmatch(argv[0].split("=", 1)[0]):
        k, _, v = argv[0].partition("=")
        extra[k] = v
        argv = argv[1:]
    return extra, argv


def unwrap(name: str, args: list[str]) -> list[str] | None:
    """The wrapped command of timeout/doas/sudo/env/nice/command/exec, else None."""
    if name == "timeout":
        i = 0
        while i < len(args) and args[i].startswith("-"):
            i += 2 if args[i] in ("-k", "-s") else 1
        return args[i + 1 :]
    if name in ("doas", "sudo"):
        i = 0
        while i < len(args) and args[i].startswith("-"):
            if args[i] == "--":
                i += 1
                break
            i += 2 if args[i] in ("-u", "-g", "-C") else 1
        return args[i:]
    if name == "env":
        return [a for a in args if a != "-i"]
    if name == "nice":
        return args[2:] if args[:1] == ["-n"] else args
    if name in ("command", "exec"):
        return args
    return None
