"""The exec-string reader: FreeBSD sh's simple forms, no network."""

from __future__ import annotations

from fleetsim.shell import Shell, parse, tokenize


def fake(argv, stdin, env):
    if argv[0] == "printargs":
        return "|".join(argv[1:]) + "\n", "", 0
    if argv[0] == "fail":
        return "", "boom\n", 3
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
