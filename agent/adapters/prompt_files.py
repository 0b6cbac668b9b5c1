"""Versioned prompt files: `prompts/debater/vN.yaml` and `prompts/opening/vN.yaml`.

Loaded by our own code into LangChain templates and checked at start: a template that misses a
required variable, or uses one nobody provides, stops the service with a message naming the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from langchain_core.prompts import PromptTemplate

from agent.errors import ConfigError
from agent.understanding.acts import ACTS

# Found from this file, not from the working directory: the same folder for `make run`, the
# notebook (whose kernel runs in docs/notebooks/) and `make eval`.
DEFAULT_PROMPTS_DIR = Path(__file__).resolve().parents[2] / "prompts"
_VERSION = re.compile(r"^v\d+$")

DEBATER_VARIABLES = frozenset({"topic", "thesis"})
OPENING_VARIABLES: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class PromptSet:
    """Everything one prompt version says; templates use `{variable}` (f-string) syntax."""

    version: str
    debater_system: str
    reply_prefix: str
    opening_system: str
    ask_for_topic: str
    # The `compact:` section, for small models (the offline model): a short system prompt (on a
    # CPU every prompt token costs time) and started answers, used in turn. Empty if absent.
    compact_system: str = ""
    compact_prefixes: tuple[str, ...] = ()
    # The same started answers in other languages, by language code ("fr", "es", ...): a small
    # model given an English start goes on in English whatever the user writes.
    compact_prefixes_by_language: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Or one started answer per act of the user's message (agent.understanding.acts), by
    # language ("" for the default): chosen by what the user just did, not in turn.
    compact_prefixes_by_act: dict[str, dict[str, str]] = field(default_factory=dict)

    def system_for(self, *, compact: bool) -> str:
        return self.compact_system if compact and self.compact_system else self.debater_system

    def instructions(self) -> tuple[str, ...]:
        """The system prompts' templates: what a reply must never reveal."""
        return (self.debater_system, self.compact_system, self.opening_system)

    def prefixes_for(self, *, compact: bool, language: str | None = None) -> tuple[str, ...]:
        if compact and language in self.compact_prefixes_by_language:
            return self.compact_prefixes_by_language[language]
        if compact and self.compact_prefixes:
            return self.compact_prefixes
        return (self.reply_prefix,) if self.reply_prefix else ()

    def prefix_for_act(self, act: str, language: str | None) -> str:
        """The started answer for `act`, in `language` where the file has it."""
        by_act = self.compact_prefixes_by_act
        return by_act.get(language or "", by_act[""])[act]

    def all_prefixes(self) -> tuple[str, ...]:
        """Every started answer of this version, in any variant and language."""
        found = [self.reply_prefix, *self.compact_prefixes]
        for prefixes in self.compact_prefixes_by_language.values():
            found += prefixes
        for by_act in self.compact_prefixes_by_act.values():
            found += by_act.values()
        return tuple(dict.fromkeys(p for p in found if p))


# libyaml's loader where PyYAML was built with it (its wheels are): the same safe loading,
# several times faster than the pure-Python one, which a cold start pays for every prompt file.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"KOPICHAT_PROMPT_VERSION: prompt file {path} does not exist")
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:
        raise ConfigError(f"prompt file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"prompt file {path} must hold a mapping")
    return data


def _text(data: dict[str, Any], key: str, path: Path, *, required: bool = True) -> str:
    value = data.get(key, "" if not required else None)
    if not isinstance(value, str) or (required and not value.strip()):
        raise ConfigError(f"prompt file {path}: '{key}' must be a non-empty string")
    return value


def _check_variables(template: str, allowed: frozenset[str], where: str, *, exact: bool) -> None:
    try:
        used = set(PromptTemplate.from_template(template).input_variables)
    except (ValueError, KeyError) as exc:
        raise ConfigError(f"{where}: bad template syntax ({exc})") from None
    unknown, missing = used - allowed, allowed - used
    if unknown:
        raise ConfigError(
            f"{where}: unknown variables {sorted(unknown)}; allowed {sorted(allowed)}"
        )
    if exact and missing:
        raise ConfigError(f"{where}: missing required variables {sorted(missing)}")


def _check_declared(data: dict[str, Any], expected: frozenset[str], path: Path) -> None:
    declared = data.get("input_variables")
    if not isinstance(declared, list) or set(declared) != expected:
        raise ConfigError(f"prompt file {path}: input_variables must be {sorted(expected)}")


def load_prompt_set(version: str, prompts_dir: Path = DEFAULT_PROMPTS_DIR) -> PromptSet:
    if not _VERSION.match(version):
        raise ConfigError(f"KOPICHAT_PROMPT_VERSION: '{version}' is not a version like v1")
    debater_path = prompts_dir / "debater" / f"{version}.yaml"
    opening_path = prompts_dir / "opening" / f"{version}.yaml"
    debater, opening = _read_yaml(debater_path), _read_yaml(opening_path)

    _check_declared(debater, DEBATER_VARIABLES, debater_path)
    _check_declared(opening, OPENING_VARIABLES, opening_path)
    debater_system = _text(debater, "system", debater_path)
    reply_prefix = _text(debater, "reply_prefix", debater_path, required=False)
    opening_system = _text(opening, "system", opening_path)
    ask_for_topic = _text(opening, "ask_for_topic", opening_path)

    _check_variables(debater_system, DEBATER_VARIABLES, f"{debater_path} system", exact=True)
    _check_variables(reply_prefix, DEBATER_VARIABLES, f"{debater_path} reply_prefix", exact=False)
    _check_variables(opening_system, OPENING_VARIABLES, f"{opening_path} system", exact=True)
    compact_system, compact_prefixes, by_language = _compact_section(debater, debater_path)
    return PromptSet(
        version,
        debater_system,
        reply_prefix,
        opening_system,
        ask_for_topic,
        compact_system,
        compact_prefixes,
        by_language,
        _prefixes_by_act(debater.get("compact") or {}, debater_path),
    )


def _prefixes_by_act(compact: dict[str, Any], path: Path) -> dict[str, dict[str, str]]:
    """`compact.reply_prefixes_by_act`: {act: prefix} for the default language, and
    `{language: {act: prefix}}` under its key `by_language`; every act must have one."""
    section = compact.get("reply_prefixes_by_act")
    if section is None:
        return {}
    if not isinstance(section, dict):
        raise ConfigError(f"prompt file {path}: 'compact.reply_prefixes_by_act' must map")
    languages = section.get("by_language", {})
    tables = {"": {k: v for k, v in section.items() if k != "by_language"}}
    if not isinstance(languages, dict):
        raise ConfigError(
            f"prompt file {path}: 'compact.reply_prefixes_by_act.by_language' must map"
        )
    tables |= {str(language): table for language, table in languages.items()}
    for language, table in tables.items():
        where = f"compact.reply_prefixes_by_act{'.by_language.' + language if language else ''}"
        if not isinstance(table, dict) or set(table) != set(ACTS):
            raise ConfigError(
                f"prompt file {path}: '{where}' must give one prefix for each of {', '.join(ACTS)}"
            )
        for act, prefix in table.items():
            if not isinstance(prefix, str) or not prefix.strip():
                raise ConfigError(f"prompt file {path}: '{where}.{act}' must be text")
            _check_variables(prefix, DEBATER_VARIABLES, f"{path} {where}.{act}", exact=False)
    return tables


def _compact_section(
    debater: dict[str, Any], path: Path
) -> tuple[str, tuple[str, ...], dict[str, tuple[str, ...]]]:
    compact = debater.get("compact")
    if compact is None:
        return "", (), {}
    if not isinstance(compact, dict):
        raise ConfigError(f"prompt file {path}: 'compact' must be a mapping")
    system = _text(compact, "system", path)
    _check_variables(system, DEBATER_VARIABLES, f"{path} compact.system", exact=False)
    if "{thesis}" not in system:
        raise ConfigError(f"{path} compact.system: missing required variables ['thesis']")
    prefixes = _prefix_list(compact.get("reply_prefixes", []), path, "compact.reply_prefixes")
    by_language = compact.get("reply_prefixes_by_language", {})
    if not isinstance(by_language, dict):
        raise ConfigError(f"prompt file {path}: 'compact.reply_prefixes_by_language' must map")
    languages = {
        str(language): _prefix_list(listed, path, f"compact.reply_prefixes_by_language.{language}")
        for language, listed in by_language.items()
    }
    return system, prefixes, languages


def _prefix_list(value: object, path: Path, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(p, str) and p.strip() for p in value):
        raise ConfigError(f"prompt file {path}: '{key}' must be a list of text")
    for index, prefix in enumerate(value):
        _check_variables(prefix, DEBATER_VARIABLES, f"{path} {key}[{index}]", exact=False)
    return tuple(value)


def prompts_dir_for(configured: str | None) -> Path:
    """`KOPICHAT_PROMPTS_DIR` when it is set, else the project's prompts/."""
    return Path(configured) if configured else DEFAULT_PROMPTS_DIR


def available_versions(prompts_dir: Path = DEFAULT_PROMPTS_DIR) -> list[str]:
    """Versions that have both a debater and an opening file, oldest first."""
    debater = {p.stem for p in (prompts_dir / "debater").glob("v*.yaml")}
    opening = {p.stem for p in (prompts_dir / "opening").glob("v*.yaml")}
    found = [v for v in debater & opening if _VERSION.match(v)]
    return sorted(found, key=lambda v: int(v[1:]))


def load_prompt_library(
    current: str, prompts_dir: Path = DEFAULT_PROMPTS_DIR
) -> dict[str, PromptSet]:
    """Every version on disk (old conversations keep theirs), the current one required."""
    library = {v: load_prompt_set(v, prompts_dir) for v in available_versions(prompts_dir)}
    if current not in library:
        library[current] = load_prompt_set(current, prompts_dir)  # raises with the missing file
    return library
