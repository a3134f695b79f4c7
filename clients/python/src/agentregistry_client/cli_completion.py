"""Shell completion, written from the parser itself so it never lags the commands:
`eval "$(agentregistry completion bash)"` (or `zsh`) in the shell's rc file."""

from __future__ import annotations

import argparse


def _tree(parser: argparse.ArgumentParser, path: str, table: dict[str, list[str]]) -> None:
    """table[path] = the words that may follow `path` (subcommands, then options)."""
    commands: list[str] = []
    options: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                commands.append(name)
                _tree(child, f"{path} {name}".strip(), table)
        else:
            options.extend(o for o in action.option_strings if o.startswith("--"))
    table[path] = commands + options


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    table: dict[str, list[str]] = {}
    _tree(parser, "", table)
    cases = "\n".join(
        f'        "{path}") words="{" ".join(words)}" ;;' for path, words in sorted(table.items())
    )
    function = f"""_agentregistry() {{
    local path="" word words i
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${{COMP_WORDS[i]}}"
        case "$word" in -*) continue ;; esac
        case " $(_agentregistry_words "$path") " in
            *" $word "*) path="${{path:+$path }}$word" ;;
        esac
    done
    words="$(_agentregistry_words "$path")"
    COMPREPLY=($(compgen -W "$words" -- "${{COMP_WORDS[COMP_CWORD]}}"))
}}
_agentregistry_words() {{
    local words=""
    case "$1" in
{cases}
    esac
    echo "$words"
}}"""
    register = "complete -F _agentregistry agentregistry"
    if shell == "zsh":  # zsh runs bash completions through bashcompinit
        return f"autoload -U +X bashcompinit && bashcompinit\n{function}\n{register}"
    return f"{function}\n{register}"
