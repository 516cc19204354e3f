# Shared helpers: result paths, sequence discovery, folds, resources and code versions.
import hashlib
import json
from pathlib import Path

from fer4d.codeversion import code_version
from fer4d.flame.files import detector_embedding_path_for
from fer4d.io.subjects import SubjectSelection
from fer4d.labels import LabelOptions
from fer4d.landmarks.frames import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from fer4d.report.files import REPORT_FILES
from fer4d.store.folds import fold_count
from fer4d.store.options import FoldOptions

RESULTS = config["results"]
SYNTHETIC = config["dataset"]["source"] == "synthetic"
# Meshes already in the model's topology (e.g. CoMA): rule registered replaces ingest + fit.
REGISTERED = config["dataset"]["source"] == "registered"
ENVS = "../../envs"


def results(*parts):
    """A path under the run's results folder."""
    return str(Path(RESULTS, *parts))


RAW_ROOT = results("raw") if SYNTHETIC else config["dataset"]["root"]
LAYOUT = "bu4dfe" if SYNTHETIC else config["dataset"]["layout"]
EXTENSION = (
    config["synthetic"]["format"] if SYNTHETIC else config["dataset"]["extension"]
)
MODEL = config["flame"]["model"] or results("model", "flame_synthetic.pkl")
# Frames that are images or videos take the 2D path: rules landmarks + fit_landmarks.
VIDEO = f".{EXTENSION.lower()}" in (*IMAGE_EXTENSIONS, *VIDEO_EXTENSIONS)
# Where the detector's points lie on the model: made by rule detector_embedding for the
# synthetic model, FLAME's official file beside a real one.
DETECTOR_EMBEDDING = (
    str(detector_embedding_path_for(MODEL))
    if config["flame"]["model"]
    else results("model", "flame_synthetic_mediapipe.npz")
)
# Per sequence: the fit file the store gathers (rule fit, fit_landmarks or registered) and the
# list of files set aside on the way (rule ingest, or rule registered). Scans are fitted one job
# per subject (torch and the model load once for its sequences): its output is FIT_FOLDER.
FIT_FILE = results("fit", "{subject}", "{label}.h5")
FIT_FOLDER = results("fit", "{subject}")
QUARANTINE_FILE = results("ingest", "{subject}", "{label}.quarantine.json")
LABEL_SET = LabelOptions.from_dict(config["labels"])
SELECTION = SubjectSelection.from_config(config["dataset"]["subjects"])


def discover():
    """{(subject, label): (folder, scan files)} of every sequence of the selected subjects
    (``dataset.subjects``), found once, when the DAG is built; the ingest jobs get their files
    from here and never search the dataset again.

    Synthetic scans do not exist yet at start-up, so their file lists are None: the ingest job
    lists its one folder once the generator has written it.
    """
    if SYNTHETIC:
        from fer4d.synth.layout import synthetic_sequences
        from fer4d.synth.options import SynthOptions

        options = SynthOptions.from_dict(config["synthetic"])
        planned = synthetic_sequences(options, LABEL_SET)
        kept = SELECTION.select(subject for subject, _, _ in planned)
        return {
            (subject, label): (str(Path(RAW_ROOT, subject, folder)), None)
            for subject, label, folder in planned
            if subject in kept
        }
    from fer4d.io.layouts import discover_sequences

    entries = discover_sequences(
        RAW_ROOT,
        layout=LAYOUT,
        extension=EXTENSION,
        labels=LABEL_SET,
        unknown_labels=config["dataset"]["unknown_labels"],
    )
    kept = SELECTION.select(entry.subject for entry in entries)
    return {
        (entry.subject, entry.label): (
            str(entry.folder),
            [str(f) for f in entry.frames],
        )
        for entry in entries
        if entry.subject in kept
    }


SCANS = discover()
SEQUENCES = sorted(SCANS)
SUBJECTS = sorted({subject for subject, _ in SEQUENCES})
FOLDS = list(range(fold_count(FoldOptions.from_dict(config["folds"]), SUBJECTS)))
BASELINES = config["baselines"]["kinds"]
if REGISTERED and "flame_transformer" in BASELINES:
    raise ValueError(
        "baselines.kinds: flame_transformer needs FLAME parameters, which a registered-mesh "
        "dataset (dataset.source: registered) has none of: remove it from baselines.kinds"
    )


def options(section, keys=None):
    """A config section (or its ``keys``) in sorted key order: a param that only reruns a rule when
    a value changes, not when a config file lists the keys in another order."""
    values = config[section]
    return {key: values[key] for key in sorted(values) if keys is None or key in keys}


def config_hash(*sections):
    """Hash of the config sections that shape a stage's data (recorded in the store)."""
    chosen = {name: config[name] for name in sections}
    return hashlib.sha256(json.dumps(chosen, sort_keys=True).encode()).hexdigest()[:12]


def code(script):
    """A rule's code version: the hash of the fer4d import closure of its workflow script."""
    return code_version(Path(workflow.basedir, "workflow", "scripts", f"{script}.py"))


def stage(rule_name, key):
    """A resource value for a rule: its own entry in config['resources'] or the default."""
    own = config["resources"].get(rule_name, {})
    return own.get(key, config["resources"]["default"][key])


def per_sequence(pattern):
    """Expand a {subject}/{label} pattern over every discovered sequence."""
    return [
        pattern.format(subject=subject, label=label) for subject, label in SEQUENCES
    ]


def per_subject(pattern):
    """Expand a {subject} pattern over every subject."""
    return [pattern.format(subject=subject) for subject in SUBJECTS]


def subject_sequences(pattern):
    """The input function of a per-subject job: ``pattern`` expanded over the subject's sequences."""
    return lambda wildcards: [
        pattern.format(subject=subject, label=label)
        for subject, label in SEQUENCES
        if subject == wildcards.subject
    ]


def fitted():
    """What the store and the report wait for: every subject's fit folder when scans are fitted
    (rule fit), else every sequence's fit file. The files themselves are per_sequence(FIT_FILE).
    """
    if REGISTERED or VIDEO:
        return per_sequence(FIT_FILE)
    return per_subject(FIT_FOLDER)


def per_fold(pattern):
    return expand(pattern, fold=FOLDS)


def ingest_inputs(wildcards):
    """Synthetic data: wait for the generator. Real data: the sequence's scan files."""
    if SYNTHETIC:
        return {"raw": rules.synthesize.output.manifest}
    return {"raw": SCANS[(wildcards.subject, wildcards.label)][1]}


def sequence_folder(wildcards):
    return SCANS[(wildcards.subject, wildcards.label)][0]


def sequence_frames(wildcards):
    """The discovered scan files, or None (synthetic: the folder is listed by the job)."""
    return SCANS[(wildcards.subject, wildcards.label)][1]


wildcard_constraints:
    subject=r"[^/]+",
    label="|".join(LABEL_SET.names),
    fold=r"\d+",


def run_models():
    """Where this run's trained models are, relative to the results folder (for fer4d predict)."""
    relative = lambda path: os.path.relpath(path, RESULTS)
    return {
        "hierarchy": relative(rules.hierarchy.output[0]),
        "folds": [
            {
                "fold": fold,
                "autoencoder": relative(
                    rules.train_autoencoder.output.checkpoint.format(fold=fold)
                ),
                "transformer": relative(
                    rules.train_transformer.output.checkpoint.format(fold=fold)
                ),
            }
            for fold in FOLDS
        ],
    }


# What each kind uses of the config, so that a change reruns only the baselines it concerns:
# the linear ones use the transformer's features; the GRU its features and training recipe.
TRANSFORMER_FEATURES = ("relative_to_first", "scale_per_channel", "balance")
TRANSFORMER_RECIPE = TRANSFORMER_FEATURES + (
    "epochs",
    "train_on_validation",
    "batch_size",
    "lr",
    "weight_decay",
    "dropout",
    "crop_min",
    "speed_min",
    "speed_max",
    "ensemble",
)


def baseline_params(section):
    """The params function of a config section's keys that baseline {kind} depends on."""

    def chosen(wildcards):
        kind = wildcards.kind
        if section == "transformer":
            if kind == "flame_transformer":  # the transformer itself, on other features
                return options(section)
            return options(
                section, TRANSFORMER_RECIPE if kind == "gru" else TRANSFORMER_FEATURES
            )
        own = {"gru": ("gru_hidden", "gru_layers"), "flame_transformer": ()}
        return options(section, own.get(kind, ("linear_l2",)))

    return chosen


def report_file(name):
    """A report output, by its name in fer4d.report.files.REPORT_FILES."""
    return results("report", REPORT_FILES[name])
