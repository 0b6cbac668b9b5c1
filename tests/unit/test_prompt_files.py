"""Prompt files load, validate loudly, and version independently."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from agent.adapters.prompt_files import (
    DEFAULT_PROMPTS_DIR,
    available_versions,
    load_prompt_library,
    load_prompt_set,
)
from agent.errors import ConfigError


@pytest.fixture
def prompts_copy(tmp_path: Path) -> Path:
    target = tmp_path / "prompts"
    shutil.copytree(DEFAULT_PROMPTS_DIR, target)
    return target


def test_shipped_v1_loads_and_mentions_topic_and_thesis() -> None:
    prompts = load_prompt_set("v1")
    assert "{topic}" in prompts.debater_system
    assert "{thesis}" in prompts.debater_system
    assert prompts.ask_for_topic.strip()
    assert "v1" in available_versions()


def test_a_debater_prompt_without_the_thesis_fails_naming_the_file(prompts_copy: Path) -> None:
    path = prompts_copy / "debater" / "v1.yaml"
    path.write_text(path.read_text().replace("{thesis}", "the thesis"))
    with pytest.raises(
        ConfigError, match=r"debater/v1.yaml.*missing required variables \['thesis'\]"
    ):
        load_prompt_set("v1", prompts_copy)


def test_an_unknown_variable_fails(prompts_copy: Path) -> None:
    path = prompts_copy / "opening" / "v1.yaml"
    path.write_text(path.read_text().replace("Read the user's", "Read {user}'s"))
    with pytest.raises(ConfigError, match=r"unknown variables \['user'\]"):
        load_prompt_set("v1", prompts_copy)


def test_unescaped_braces_fail(prompts_copy: Path) -> None:
    path = prompts_copy / "opening" / "v1.yaml"
    path.write_text(path.read_text().replace('{{"kind"', '{"kind"'))
    with pytest.raises(ConfigError):
        load_prompt_set("v1", prompts_copy)


def test_a_missing_version_fails_with_the_variable_name(prompts_copy: Path) -> None:
    with pytest.raises(ConfigError, match="KOPICHAT_PROMPT_VERSION"):
        load_prompt_library("v9", prompts_copy)
    with pytest.raises(ConfigError, match="KOPICHAT_PROMPT_VERSION"):
        load_prompt_set("latest", prompts_copy)


def test_a_new_version_sits_beside_the_old_ones(prompts_copy: Path) -> None:
    for kind in ("debater", "opening"):
        shutil.copy(prompts_copy / kind / "v2.yaml", prompts_copy / kind / "v3.yaml")
    path = prompts_copy / "debater" / "v3.yaml"
    path.write_text(path.read_text().replace("skilled and persuasive", "relentless"))
    library = load_prompt_library("v3", prompts_copy)
    assert sorted(library) == ["v1", "v2", "v3"]
    assert "relentless" in library["v3"].debater_system
    assert "relentless" not in library["v2"].debater_system


def test_v2_adds_a_compact_variant_for_small_models_and_v1_has_none() -> None:
    v1, v2 = load_prompt_set("v1"), load_prompt_set("v2")
    assert v1.compact_system == ""
    assert v1.prefixes_for(compact=True) == (v1.reply_prefix,)
    assert v2.system_for(compact=False) == v1.debater_system
    compact = v2.system_for(compact=True)
    assert "{thesis}" in compact
    assert len(compact) < len(v2.debater_system) / 2
    assert len(v2.prefixes_for(compact=True)) == 3
    assert all("{thesis}" in prefix for prefix in v2.prefixes_for(compact=True))


def test_a_bad_compact_section_fails_naming_the_file(prompts_copy: Path) -> None:
    path = prompts_copy / "debater" / "v2.yaml"
    path.write_text(path.read_text().replace("Your side: {thesis}", "Your side: {side}"))
    with pytest.raises(ConfigError, match=r"v2.yaml compact.system: unknown variables \['side'\]"):
        load_prompt_set("v2", prompts_copy)


def test_prefixes_in_other_languages_are_checked_too(prompts_copy: Path) -> None:
    path = prompts_copy / "debater" / "v2.yaml"
    path.write_text(path.read_text().replace("{thesis} Es cierto, porque", "{tesis} Es cierto"))
    with pytest.raises(ConfigError, match=r"reply_prefixes_by_language.es\[0\]: unknown variables"):
        load_prompt_set("v2", prompts_copy)
    v2 = load_prompt_set("v2")
    assert v2.prefixes_for(compact=True, language="de")[0] == "{thesis} Das stimmt, denn"
    assert v2.prefixes_for(compact=True, language="xx") == v2.compact_prefixes
    assert v2.prefixes_for(compact=False, language="de") == (v2.reply_prefix,)
    assert len(v2.all_prefixes()) == 1 + 3 + 6 * 3
