"""The exec-string reader: FreeBSD sh's simple forms, no network."""

from __future__ import annotations

from fleetsim.shell import Redir, Shell, Word, parse, tokenize


def fake(argv, stdin, env):
    if argv[0] == "printargs":
        return "|".join(argv[1:]) + "\n", "", 0
    if argv[0] == "fail":
        return "", "boom\n", 3
    if argv[0] == "both":  # writes to stdout and stderr, like a command warning on one host
        return "out\n", "err\n", 1
    if argv[0] == "upper":
        return stdin.upper(), "", 0
    if argv[0] == "showenv":
        return f"{env.get(argv[1], '<unset>')}\n", "", 0
    return "", f"sh: {argv[0]}: not found\n", 127


def run(text):
    sh = Shell(fake)
    rc = sh.run(text)
    return "".join(sh.out), "".join(sh.err), rc


def test_quotes_and_words_split_like_sh():
    assert run("""printargs a 'b c' "d e" f\\ g ''""")[0] == "a|b c|d e|f g|\n"
    assert run("printargs 'it'\"'\"'s'")[0] == "it's\n"


def test_status_expands_when_the_command_runs():
    out, _, rc = run("""fail; echo "@@@rc $?"; echo '@@@rc $?'; true; echo "rc $?" """)
    assert out == "@@@rc 3\n@@@rc $?\nrc 0\n"
    assert rc == 0


def test_and_or_lists():
    assert run("fail && echo no || echo yes")[0] == "yes\n"
    assert run("true && echo a && echo b")[0] == "a\nb\n"
    assert run("true || echo no; echo end")[0] == "end\n"


def test_assignments_export_and_prefixes():
    out, _, _ = run("LC_ALL=C; export LC_ALL; showenv LC_ALL; X=1 showenv X; showenv X")
    assert out == "C\n1\n<unset>\n"
    assert run("export A=b; showenv A")[0] == "b\n"


def test_wrappers_sh_c_timeout_doas_sudo():
    cmd = "timeout -k 5 15 /bin/sh -c 'doas printargs x; sudo -n printargs y'"
    assert run(cmd)[0] == "x\ny\n"
    assert run("""sh -c 'echo "inner $?"; fail'; echo "outer $?" """)[0] == "inner 0\nouter 3\n"
    assert run("env LC_ALL=C showenv LC_ALL")[0] == "C\n"


def test_pipe_feeds_stdin():
    assert run('echo "show stat" | upper')[0] == "SHOW STAT\n"


def test_unknown_command_is_127_like_sh():
    out, err, rc = run("foo bar")
    assert (out, err, rc) == ("", "sh: foo: not found\n", 127)
    assert run("/usr/local/bin/nothere")[2] == 127


def test_syntax_errors_answer_like_sh():
    _, err, rc = run("echo 'unterminated")
    assert rc == 2 and "Unterminated quoted string" in err
    assert run("&& echo x")[2] == 2


def test_parse_structure():
    items = parse("a; b && c | d || e")
    assert [c for c, _ in items] == [None, ";", "&&", "||"]
    assert len(items[2][1]) == 2  # c | d
    assert tokenize("A=1 b")[0].assign and not tokenize("'A=1' b")[0].assign


def test_stderr_into_stdout_follows_stdout_in_order():
    assert run("both 2>&1") == ("out\nerr\n", "", 1)
    assert run("echo a; both 2>&1; echo b; fail 2>&1") == ("a\nout\nerr\nb\nboom\n", "", 3)
    # left to right, as sh applies them: the order of the two redirections matters
    assert run("both >/dev/null 2>&1") == ("", "", 1)
    assert run("both 2>&1 >/dev/null") == ("err\n", "", 1)
    assert run("both 2>&1 1>/dev/null; echo $?") == ("err\n1\n", "", 0)


def test_dev_null_and_stdout_to_stderr():
    assert run("both >/dev/null") == ("", "err\n", 1)
    assert run("both 1>/dev/null") == ("", "err\n", 1)
    assert run("both 2>/dev/null") == ("out\n", "", 1)
    assert run("both 2> /dev/null") == ("out\n", "", 1)
    assert run("both >>/dev/null 2>| /dev/null") == ("", "", 1)
    assert run('fail 2>/dev/null; echo "rc $?"') == ("rc 3\n", "", 0)
    assert run("echo a; echo b >&2; echo c 1>&2; echo d") == ("a\nd\n", "b\nc\n", 0)
    assert run("both 2>&-; echo hi >&-") == ("out\n", "", 0)
    assert run("upper </dev/null") == ("", "", 0)


def test_redirections_anywhere_among_the_words():
    assert run("printargs a 2>/dev/null b c") == ("a|b|c\n", "", 0)
    assert run("printargs a >&2 b") == ("", "a|b\n", 0)
    assert run("printargs a 2>/dev/null b >&2 c") == ("", "", 0)  # fd 2 already went to null
    assert run("2>&1 both") == ("out\nerr\n", "", 1)
    assert run(">/dev/null") == ("", "", 0)
    assert run("X=1 2>/dev/null showenv X")[0] == "1\n"
    assert run("timeout 5 sh -c 'fail' 2>&1") == ("boom\n", "", 3)


def test_pipeline_stage_with_2to1_feeds_its_stderr_to_the_pipe():
    assert run("both 2>&1 | upper") == ("OUT\nERR\n", "", 0)
    assert run("both | upper") == ("OUT\n", "err\n", 0)
    assert run("echo x | upper >&2") == ("", "X\n", 0)
    assert run("echo x | upper 2>/dev/null >&2; echo y") == ("y\n", "", 0)


def test_files_other_than_dev_null_fail_like_sh():
    cant = "sh: cannot create /tmp/x: Read-only file system\n"
    assert run('printargs no >/tmp/x; echo "rc $?"') == ("rc 2\n", cant, 0)
    assert run("printargs no 2>/tmp/x") == ("", cant, 2)
    assert run("printargs no >>/tmp/x || echo failed") == ("failed\n", cant, 0)
    assert run("printargs no 2>/dev/null >/tmp/x") == ("", "", 2)  # sh's message went there
    assert run("printargs a >out.txt")[1] == "sh: cannot create out.txt: Read-only file system\n"
    assert run("upper </etc/nothere") == (
        "",
        "sh: cannot open /etc/nothere: No such file or directory\n",
        2,
    )
    assert run("echo hi >&3") == ("", "sh: 3: Bad file descriptor\n", 2)


def test_background_and_bash_only_forms_stay_refused():
    refused = ("", "sh: Syntax error: background jobs are not supported\n", 2)
    assert run("echo x &") == refused
    assert run("echo x & ") == refused
    assert run("echo x & echo y") == refused
    assert run("both &>/dev/null") == refused  # bash's &>; sh would background `both`
    assert run("both &> /dev/null; echo after") == refused


def test_quoted_or_escaped_redirections_are_literal_words():
    assert run("printargs '2>&1' \"2>/dev/null\" x\\>y") == ("2>&1|2>/dev/null|x>y\n", "", 0)
    # a quoted digit is a word, not an IO number: `\2>&1` is `2` plus `>&1`
    assert run("printargs \\2>&1 '2'>&2") == ("", "2|2\n", 0)
    assert run("printargs a2>/dev/null") == ("", "", 0)  # `a2` is a word, stdout redirected


def test_redirection_syntax_errors():
    for text, msg in (
        ("echo >", "end of file unexpected"),
        ("echo 2>", "end of file unexpected"),
        ("echo > ; echo x", '";" unexpected'),
        ("echo > | upper", '"|" unexpected'),
        ("echo >&x; echo never", "Bad fd number"),
        ("echo 2>&1x", "Bad fd number"),
        ("cat <<EOF", "here-documents are not supported"),
    ):
        assert run(text) == ("", f"sh: Syntax error: {msg}\n", 2), text


def test_parse_redirections():
    toks = tokenize("cmd a 2>&1 >/dev/null")
    assert [type(t) for t in toks] == [Word, Word, Redir, Word, Redir, Word]
    assert (toks[2].fd, toks[2].op, toks[4].fd, toks[4].op) == (2, ">&", None, ">")
    [(_, [words])] = parse("cmd 2> /dev/null a")
    redir = words[1]
    assert isinstance(redir, Redir) and redir.target.parts == [("lit", "/dev/null")]
    assert [type(w) for w in words] == [Word, Redir, Word]
