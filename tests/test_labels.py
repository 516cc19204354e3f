"""The run's label set (validation, folder names to classes, the synthetic dataset's share) and
its subject selection."""

from __future__ import annotations

import pytest

from fer4d import LABELS
from fer4d.io.subjects import SubjectSelection, subject_list
from fer4d.labels import LabelOptions
from fer4d.synth.layout import synthetic_sequences
from fer4d.synth.options import SynthOptions

COMA = (
    "bareteeth",
    "cheeks_in",
    "eyebrow",
    "high_smile",
    "lips_back",
    "lips_up",
    "mouth_down",
    "mouth_extreme",
    "mouth_middle",
    "mouth_open",
    "mouth_side",
    "mouth_up",
)


def test_the_default_is_the_six_emotions_in_their_canonical_order():
    assert LabelOptions.from_dict({}).names == LABELS


@pytest.mark.parametrize(
    "values, problem",
    [
        ({"names": ["anger"]}, "two or more distinct"),
        ({"names": ["anger", "anger"]}, "two or more distinct"),
        ({"names": ["Anger", "fear"]}, "lower-case"),
        ({"names": ["a__b", "fear"]}, "no '__'"),
        ({"names": ["anger", "fear"], "aliases": {"Smirk": "happiness"}}, "map to no class"),
        ({"classes": ["anger", "fear"]}, "unknown labels option"),
    ],
)
def test_invalid_label_sets_are_refused_naming_the_problem(values, problem):
    with pytest.raises(ValueError, match=problem):
        LabelOptions.from_dict(values)


def test_folders_map_through_aliases_then_names_then_built_in_aliases():
    labels = LabelOptions(names=("happiness", "neutral", "mouth_open"), aliases={"Smile": "happiness"})
    assert labels.folder_label("smile") == labels.folder_label("Happy") == "happiness"
    assert labels.folder_label("NEUTRAL") == "neutral"  # MUG's neutral folder, named by the set
    assert labels.folder_label("Mouth_Open") == "mouth_open"
    assert labels.folder_label("Angry") is None  # a built-in alias of a class the set leaves out
    assert LabelOptions().folder_label("neutral") is None  # neutral only when named
    coma = LabelOptions(names=COMA)
    assert [coma.folder_label(name) for name in COMA] == list(COMA) and len(coma.names) == 12


def test_the_synthetic_dataset_lists_only_the_classes_of_the_set():
    options = SynthOptions(subjects=2)
    two = synthetic_sequences(options, LabelOptions(names=("surprise", "happiness")))
    assert sorted({label for _, label, _ in two}) == ["happiness", "surprise"] and len(two) == 4
    assert synthetic_sequences(options, LabelOptions()) == synthetic_sequences(options)
    with pytest.raises(ValueError, match=r"\['neutral'\].*performs only"):
        synthetic_sequences(options, LabelOptions(names=("anger", "neutral")))


def test_subject_selection_from_lists_and_files(tmp_path, caplog):
    listed = tmp_path / "subset.txt"
    listed.write_text("# a protocol's subset\nF001\nM001  # kept\n\nF099\n")
    assert subject_list(listed) == ["F001", "M001", "F099"]
    selection = SubjectSelection.from_config({"include": str(listed), "exclude": ["M001"]})
    assert selection.select(["F001", "M001", "F002"]) == {"F001"}
    assert "include names 1 subject(s) the data lacks: ['F099']" in caplog.text
    assert SubjectSelection.from_config({}).select(["F001", "M001"]) == {"F001", "M001"}
    with pytest.raises(ValueError, match="keeps none of the 2 subjects"):
        SubjectSelection.from_config({"exclude": ["F001", "M001"]}).select(["F001", "M001"])
    with pytest.raises(ValueError, match="missing.txt: cannot read the subject list"):
        SubjectSelection.from_config({"include": str(tmp_path / "missing.txt")})
    with pytest.raises(ValueError, match="unknown dataset.subjects key"):
        SubjectSelection.from_config({"only": ["F001"]})
