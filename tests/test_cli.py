import importlib

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


@pytest.mark.parametrize("verb", sorted(cli.VERBS))
def test_verb_help(verb, capsys):
    try:  # argparse verbs exit; cli_config.run_verb verbs return the status
        code = cli.main([verb, "--help"])
    except SystemExit as e:
        code = e.code
    assert code == 0
    assert "usage" in capsys.readouterr().out.lower()
