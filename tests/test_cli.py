import importlib
import re

import pytest

from steve1 import cli


def test_every_verb_has_a_main():
    for verb, (module, _) in cli.VERBS.items():
        assert callable(importlib.import_module(module).main), verb


def test_usage_lists_verbs(capsys):
    assert cli.main([]) == 0
    out = capsys.readouterr().out
    assert all(verb in out for verb in cli.VERBS)


def test_unknown_verb(capsys):
    assert cli.main(["no-such-verb"]) == 2
    assert "unknown verb 'no-such-verb'" in capsys.readouterr().err


def _options_without_help(text: str) -> list[str]:
    """The option entries of an argparse help text that have no help of their own (only '(default: x)')."""
    lines = text.splitlines()
    bare = []
    for i, line in enumerate(lines):
        m = re.match(r"^  (-[^ ].*?)(?:\s{2,}(\S.*))?$", line)
        if not m or m.group(1).startswith("-h, --help"):
            continue
        help_text = m.group(2)
        if help_text is None:  # the help starts on the next line, further indented
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            help_text = nxt.strip() if nxt.startswith(" " * 6) and not nxt.strip().startswith("-") else ""
        if not help_text or help_text.startswith("(default:"):
            bare.append(m.group(1))
    return bare


@pytest.mark.parametrize("verb", sorted(cli.VERBS))
def test_verb_help(verb, capsys):
    """`steve1 VERB --help`: exit 0, the usage line names `steve1 VERB`, and every option has a help line."""
    try:  # verbs on steve1.cli_config.run_verb return the status; others exit
        code = cli.main([verb, "--help"])
    except SystemExit as e:
        code = e.code
    assert code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: steve1 {verb} "), out.splitlines()[0]
    assert _options_without_help(out) == []
