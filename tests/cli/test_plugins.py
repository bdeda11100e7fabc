"""Plug-in commands: listed in --help, imported only when run, hidden when absent."""
import sys

import pytest

from gradcheck_suite import cli

PLUGIN = ("hello", "tests.cli.plugin_example", "say hello")
MISSING = ("ghost", "tests.cli.no_such_module", "never shown")


@pytest.fixture
def plugins(monkeypatch):
    monkeypatch.setattr(cli, "PLUGIN_COMMANDS", (PLUGIN, MISSING))
    monkeypatch.delitem(sys.modules, "tests.cli.plugin_example", raising=False)


def test_help_lists_present_plugins_without_importing_them(plugins, capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert "hello" in out and "say hello" in out and "ghost" not in out
    assert "tests.cli.plugin_example" not in sys.modules


def test_running_a_plugin_imports_it_and_calls_main(plugins, capsys):
    assert cli.main(["hello", "world"]) == 0
    assert capsys.readouterr().out == "hello world\n"
    assert cli.main(["hello", "error", "--debug"]) == 1  # --debug is added for every plug-in


def test_an_absent_plugin_is_an_unknown_command(plugins, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["ghost"])
    assert exc.value.code == 2 and "invalid choice: 'ghost'" in capsys.readouterr().err


def test_the_bundled_plugin_table_points_at_existing_modules():
    present = [name for name, module, _ in cli.PLUGIN_COMMANDS if cli._module_exists(module)]
    assert "explain" in present and "grade" in present
