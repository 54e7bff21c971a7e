"""Read exec strings the way FreeBSD's sh reads the simple forms tools send.

Supported: `;` `&&` `||` `|`, newlines, single and double quotes, backslashes, `#`
comments, `$?` `$VAR` `${VAR}` (expanded when the command runs, so `echo "rc $?"` sees the
previous exit status), redirections (`[N]>`/`>>`/`>|`/`<` to /dev/null or to a file of the
host's virtual filesystem, `[N]>&M`, `[N]>&-`, left to right; a command's stderr sent to
stdout follows its stdout), `VAR=value cmd` and bare `VAR=value`, `export`, `echo`, `true`,
`false`, `exit`, and the wrappers `sh -c`/`/bin/sh -c`, `timeout [-k N] [-s SIG] N`,
`doas`/`sudo`, `env`, `nice`, `command`, `exec`. Anything else goes to the command table;
an unknown name answers `sh: NAME: not found`, exit 127.

The session's stdin (what the SSH client sent before EOF) goes to the first command that
reads it, as with a real pipe; ``needs_stdin`` tells the server beforehand whether a
command line reads it at all, so a client that never closes stdin is not waited for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

BIN_DIRS = ("/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/usr/local/bin/", "/usr/local/sbin/")
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
FD_RE = re.compile(r"[0-9]+")
DUP_RE = re.compile(r"[0-9]+|-")  # the word after >& or <&
REDIR_OPS = (">>", ">|", ">&", "<&", "<>", ">", "<")
LINE_KEY = "\0line"  # the simple command as written (redirections too), for command faults
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
    """One `sh -c` run: ``dispatch(argv, stdin, env) -> (stdout, stderr, rc)``.

    ``fs`` is the host's filesystem (``vfs.View``-like: read/write raising errors whose
    str() is the errno text) for redirections to files; ``stdin`` the session's input."""

    def __init__(self, dispatch, env: dict | None = None, fs=None, stdin: str = ""):
        self.dispatch = dispatch
        self.fs = fs
        # the session's input, shared with `sh -c` children; [None] once a command read it
        self.stdin_box: list = stdin if isinstance(stdin, list) else [stdin]
        self._hand_down: list | None = None  # the box a `sh -c` about to run inherits
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

    def run_items(self, items: list) -> int:
        """Run already-parsed list items (what ``parse`` returns); returns the status."""
        try:
            self._run_items(items, 0)
        except _Exit as exc:
            self.rc = exc.code
        return self.rc

    def _run_list(self, text: str, depth: int) -> None:
        self._run_items(parse(text), depth)

    def _run_items(self, items: list, depth: int) -> None:
        for connector, pipeline in items:
            if (connector == "&&" and self.rc != 0) or (connector == "||" and self.rc == 0):
                continue
            data = None  # the first stage reads the session's stdin, if anything does
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

    def _simple(self, words: list, piped: str | None, depth: int) -> tuple[str, int]:
        """Run one simple command; return what it sends to its stdout (pipe or shell out).
        ``piped`` is the previous stage's output, None for a pipeline's first stage."""
        assigns = {}
        argv = []
        # where each fd goes: "in"/"out"/"err"/"null", ("file", path) or ("text", data)
        fds: dict = {0: "in", 1: "out", 2: "err"}
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
        # the redirections as written, for command faults (dispatch joins them only then)
        env[LINE_KEY] = [f"{w.op} {self.expand(w.target)}" for w in words if isinstance(w, Redir)]
        if fds[0] == "in":
            stdin = piped if piped is not None else self._session_stdin(argv)
        else:
            stdin = fds[0][1] if isinstance(fds[0], tuple) and fds[0][0] == "text" else ""
        saved, self.err = self.err, []
        try:
            out, rc = self.command(argv, stdin, env, depth)
        finally:
            err, self.err = "".join(self.err), saved
            self._hand_down = None
        return self._route([(1, out), (2, err)], fds), rc

    def _session_stdin(self, argv: list[str]) -> str:
        """The session's input goes to the first command that reads it, like a pipe."""
        if not self.stdin_box[0]:
            return ""  # nothing was sent (the usual poll): nobody has anything to read
        inner = innermost(argv)
        if inner[:1] and inner[0].rsplit("/", 1)[-1] in ("sh", "bash") and inner[1:2] == ["-c"]:
            self._hand_down = self.stdin_box  # the script's commands read it, or not
            return ""
        if self.stdin_box[0] is None or not reads_stdin(inner):
            return ""
        data, self.stdin_box[0] = self.stdin_box[0], None
        return data

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
        elif self.fs is None:
            if r.op == "<":
                return f"cannot open {target}: No such file or directory"
            return f"cannot create {target}: Read-only file system"
        elif r.op == "<":
            try:
                fds[fd] = ("text", self.fs.read(target))
            except OSError as exc:
                return f"cannot open {target}: {exc}"
        else:
            try:  # sh creates (and for `>`, truncates) the file before the command runs
                self.fs.write(target, "", append=r.op in (">>", "<>"))
            except OSError as exc:
                return f"cannot create {target}: {exc}"
            fds[fd] = ("file", target)
        return None

    def _route(self, streams: list[tuple[int, str]], fds: dict) -> str:
        """Send each (fd, text) where ``fds`` points; return the part bound for stdout."""
        out = []
        for fd, text in streams:
            where = fds.get(fd)
            if where == "out":
                out.append(text)
            elif where == "err":
                self.err.append(text)
            elif isinstance(where, tuple) and where[0] == "file" and text:
                try:
                    self.fs.write(where[1], text, append=True)
                except OSError as exc:
                    self.err.append(f"sh: {where[1]}: {exc}\n")
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
        if name == "!" and args:  # `! cmd`: the status inverted (of a simple command)
            out, rc = self.command(args, stdin, env, depth)
            return out, int(rc == 0)
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
        # `... | sh` reads its script from stdin; `sh -c` passes stdin on to the script
        with_c = args[:1] == ["-c"] and len(args) >= 2
        script = args[1] if with_c else stdin
        box, self._hand_down = self._hand_down, None
        env = {k: v for k, v in env.items() if k != LINE_KEY}
        sub = Shell(self.dispatch, env, self.fs, (box or [stdin]) if with_c else "")
        sub.rc = self.rc
        try:
            sub.run(script, depth + 1)
        except Exception:
            # a command that never returns (hang-command): what the script printed before
            # it has already gone out
            self.out.extend(sub.out)
            self.err.extend(sub.err)
            raise
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


# --- who reads the session's stdin ---------------------------------------------------------

FILTERS = {"cat", "sha256", "md5", "wc", "head", "tail", "sort", "uniq", "tee", "sed", "awk"}


def reads_stdin(argv: list[str]) -> bool:
    """Whether this command (wrappers already unwrapped) reads its standard input."""
    if not argv:
        return False
    name = argv[0].rsplit("/", 1)[-1]
    operands = [a for a in argv[1:] if not a.startswith("-") or a == "-"]
    if name in ("sh", "bash"):
        return argv[1:2] != ["-c"]
    if name == "tee":
        return True
    if name in FILTERS:
        return not operands or "-" in operands
    if name == "grep":
        return len(operands) <= 1
    if name == "socat":
        return any(a.lower() in ("stdio", "-", "stdin") for a in operands)
    if name == "pfctl":
        return any(a == "-" for a in argv[1:]) and any("f" in a for a in argv[1:] if a[:1] == "-")
    return name == "read"


def needs_stdin(text: str, depth: int = 0) -> bool:
    """Whether running ``text`` would read the session's stdin (decided before it runs)."""
    try:
        items = parse(text)
    except ShellSyntaxError:
        return False
    for _connector, pipeline in items:
        words = pipeline[0]
        if any(isinstance(w, Redir) and w.op in ("<", "<&", "<>") for w in words):
            continue
        argv = innermost([_text(w) for w in words if isinstance(w, Word) and not w.assign])
        if not argv:
            continue
        name = argv[0].rsplit("/", 1)[-1]
        if name in ("sh", "bash") and argv[1:2] == ["-c"] and len(argv) > 2:
            if depth < MAX_DEPTH and needs_stdin(argv[2], depth + 1):
                return True
            continue
        if reads_stdin(argv):
            return True
    return False


def innermost(argv: list[str]) -> list[str]:
    """The command that timeout/doas/env/... wrap (argv itself when not wrapped)."""
    while argv:
        inner = unwrap(argv[0].rsplit("/", 1)[-1], argv[1:])
        if inner is None:
            break
        argv = _env_prefix(inner)[1]
    return argv


def timeout_of(text: str) -> float | None:
    """The DURATION of a `timeout` wrapping the whole command line (the SSH wrapper's
    `env LC_ALL=C timeout -k 5 N sh -c '...'`), in seconds; None when not wrapped."""
    try:
        items = parse(text)
    except ShellSyntaxError:
        return None
    if len(items) != 1 or len(items[0][1]) != 1:
        return None
    argv = [_text(w) for w in items[0][1][0] if isinstance(w, Word) and not w.assign]
    while argv:
        name = argv[0].rsplit("/", 1)[-1]
        if name == "timeout":
            i = 1
            while i < len(argv) and argv[i].startswith("-"):
                i += 2 if argv[i] in ("-k", "-s") else 1
            if i >= len(argv):
                return None
            m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", argv[i])
            if not m:
                return None
            return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
        inner = unwrap(name, argv[1:])
        if inner is None:
            return None
        argv = _env_prefix(inner)[1]
    return None
