# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The ``monai-lite`` command: a few verbs that each do a whole job, folders and files in, folders and files out.

Each verb only parses its arguments and forwards them by keyword to an API function, so everything the command
does can be scripted from Python too. Exit codes: 0 success, 1 the job failed (bad data, failed check), 2 usage. ``--debug`` (or ``MONAI_LITE_DEBUG=1``)
shows the full traceback of a reported problem. The error types are in :mod:`monai_lite.errors`.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

__all__ = ["build_parser", "main"]


def _overrides(args: argparse.Namespace) -> dict:
    from monai_lite.bundle.runner import parse_override

    overrides = dict(parse_override(item) for item in args.set or [])
    for flag in ("dataset_dir", "datalist", "fold", "epochs", "device", "output_dir", "ckpt_path"):
        value = getattr(args, flag, None)
        if value is not None:
            overrides[flag] = value
    return overrides


def _cmd_list(args: argparse.Namespace) -> int:
    # Read from the files, not the registries: listing must not wait for torch and MONAI to import.
    from monai_lite.catalog import list_bundle_names, list_network_names, list_preset_names

    print("networks:", ", ".join(list_network_names()))
    print("bundles: ", ", ".join(list_bundle_names()))
    print("presets: ", ", ".join(list_preset_names()))
    return 0


def _cmd_run(workflow: str):
    def command(args: argparse.Namespace) -> int:
        from monai_lite.bundle.runner import run_bundle

        run_bundle(args.bundle, workflow, **_overrides(args))
        return 0

    return command


def _cmd_prepare(args: argparse.Namespace) -> int:
    from monai_lite.data.prepare import prepare_datalist

    summary = prepare_datalist(
        args.input,
        args.masks,
        args.output,
        folds=args.folds,
        seed=args.seed,
        allow_empty=args.allow_empty,
        allow_full=args.allow_full,
        test_fraction=args.test_fraction,
        label_names=_prepare_label_names(args),
    )
    print(f"wrote {summary.get('output', args.output)}")
    return 0


def _prepare_label_names(args: argparse.Namespace) -> dict[int, str] | str | None:
    """``prepare --labels``: ``{value: name}`` from VALUE=NAME items, or the path of one labels JSON file."""
    items = args.labels or []
    pairs = [item.partition("=") for item in items]
    if all(sep for _, sep, _ in pairs):
        names = {}
        for value, _, name in pairs:
            if not value.strip().isdigit() or not name.strip():
                args.usage_error(f"--labels takes VALUE=NAME with an integer VALUE >= 0, e.g. 1=polyp; got {value}={name}.")
            names[int(value)] = name.strip()
        if names:
            names.setdefault(0, "background")  # 0 is always allowed in a mask; name it as prepare does
        return names or None
    if len(items) == 1:
        return items[0]
    args.usage_error("--labels takes VALUE=NAME items (repeat the flag) or one JSON file, not both.")
    return None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``monai-lite`` (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(prog="monai-lite", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show the full traceback of a reported problem (same as MONAI_LITE_DEBUG=1)")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB", parser_class=_VerbParser)

    verbs.add_parser("list", help="list the networks, bundles and transform presets").set_defaults(func=_cmd_list)

    prepare = verbs.add_parser("prepare", help="check a dataset folder and write a MONAI datalist with folds")
    prepare.add_argument("input", help="[REQUIRED] image folder, dataset root (images/+masks/, imagesTr/+labelsTr/) or DICOM series folder")
    prepare.add_argument("masks", nargs="?", default=None, help="[OPTIONAL] mask/label folder or file when not inside INPUT")
    prepare.add_argument("-o", "--output", required=True, help="[REQUIRED] datalist JSON to write, e.g. data_manifests/NAME.json")
    prepare.add_argument("--folds", type=int, default=5, help="[OPTIONAL] number of cross-validation folds. Default: 5")
    prepare.add_argument("--seed", type=int, default=0, help="[OPTIONAL] seed of the fold assignment. Default: 0")
    prepare.add_argument("--test-fraction", type=float, default=0.0, help="[OPTIONAL] share of cases held out as 'test'. Default: 0")
    prepare.add_argument("--allow-empty", action="store_true", help="[OPTIONAL] accept masks with no foreground")
    prepare.add_argument("--allow-full", action="store_true", help="[OPTIONAL] accept masks that are all foreground")
    prepare.add_argument("--labels", action="append", default=None, metavar="VALUE=NAME|FILE", help="[OPTIONAL] class names written into the datalist: VALUE=NAME (repeat the flag, e.g. --labels 1=polyp) or one JSON file of value -> name (like ct-totalseg/labels.json). Default: dataset.json's, else foreground/label_N")
    prepare.set_defaults(func=_cmd_prepare, usage_error=prepare.error)

    _add_train(verbs)
    _add_evaluate(verbs)
    _add_infer(verbs)
    _add_benchmark(verbs)
    return parser


def _add_bundle_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--bundle", default="medlitenet", help="[OPTIONAL] bundle name or folder. Default: medlitenet")
    sub.add_argument("--device", default=None, help="[OPTIONAL] torch device, e.g. cpu or cuda:0. Default: cuda if available")
    sub.add_argument("--set", action="append", metavar="ID=VALUE", help="[OPTIONAL] override any config id, repeatable")


def _add_data_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--dataset-dir", dest="dataset_dir", default=None, help="[OPTIONAL] dataset folder the datalist's paths start from")
    sub.add_argument("--datalist", default=None, help="[OPTIONAL] datalist JSON (see `monai-lite prepare`)")
    sub.add_argument("--fold", type=int, default=None, help="[OPTIONAL] validation fold. Default: 0")


# --- train -------------------------------------------------------------------------------------------------------
def _add_train(verbs) -> None:
    sub = verbs.add_parser("train", help="train a bundle (embedded synthetic data unless --dataset-dir/--datalist are given)")
    _add_bundle_options(sub)
    _add_data_options(sub)
    sub.add_argument("--epochs", type=int, default=None, help="[OPTIONAL] number of epochs. Default: the bundle's")
    sub.set_defaults(func=_cmd_run("train"))


# --- evaluate ----------------------------------------------------------------------------------------------------
def _add_evaluate(verbs) -> None:
    """``monai-lite evaluate``: score mask files (--pred), combine fold reports (--combine), or run a bundle's evaluation."""
    sub = verbs.add_parser(
        "evaluate",
        help="score predicted masks against ground truth (--pred), combine fold reports (--combine), "
        "or evaluate a trained bundle on its validation fold (--bundle)",
    )
    _add_bundle_options(sub)
    _add_data_options(sub)
    sub.add_argument("--pred", default=None, help="[OPTIONAL] folder of predicted masks; switches to file evaluation")
    sub.add_argument("--gt", default=None, help="[OPTIONAL] with --pred: folder of ground-truth masks or a datalist JSON (then --dataset-dir, and --fold; -1 scores every case)")
    sub.add_argument("--combine", nargs="+", default=None, metavar="REPORT_DIR", help="[OPTIONAL] report folders of several folds to combine")
    sub.add_argument("-o", "--output", dest="output_dir", default=None, help="[OPTIONAL] report folder (required with --pred/--combine). Default for --bundle: BUNDLE/eval")
    sub.add_argument("--labels", nargs="+", default=None, metavar="VALUE=NAME", help="[OPTIONAL] classes to score, e.g. 1=anterior 2=posterior. Default: the datalist's, else every value > 0 found")
    sub.add_argument("--spacing", nargs="+", type=float, default=None, metavar="MM", help="[OPTIONAL] voxel size in mm per axis, overriding the files'. Pictures (PNG/JPEG) carry none: without it their distances are in px")
    sub.add_argument("--allow-missing", action="store_true", help="[OPTIONAL] score a ground truth without prediction as an empty prediction")
    sub.add_argument("--only-predicted", action="store_true", help="[OPTIONAL] score only the cases that have a prediction; the others are listed, not scored")
    sub.add_argument("--ignore-affine", action="store_true", help="[OPTIONAL] accept volumes of equal shape whose affines differ")
    sub.add_argument("--threshold", type=float, default=None, metavar="T", help="[OPTIONAL] with --pred: binarise predictions saved as probabilities or grey levels (value >= T is foreground). Default: predictions must hold label values")
    sub.add_argument("--no-plot", action="store_true", help="[OPTIONAL] skip the box plot")
    sub.set_defaults(func=_cmd_evaluate, usage_error=sub.error)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    if args.pred is None and args.combine is None:
        file_only = [flag for flag, value in (("--gt", args.gt), ("--labels", args.labels), ("--spacing", args.spacing),
                     ("--allow-missing", args.allow_missing), ("--only-predicted", args.only_predicted),
                     ("--ignore-affine", args.ignore_affine), ("--threshold", args.threshold is not None)) if value]
        if file_only:
            args.usage_error(f"{', '.join(file_only)} apply to file evaluation; add --pred PRED_DIR.")
        return _cmd_run("evaluate")(args)
    if args.pred is not None and args.combine is not None:
        args.usage_error("--pred and --combine are separate jobs; give one of them.")
    if args.output_dir is None:
        args.usage_error("-o/--output (the report folder) is required with --pred and --combine.")
    if args.set:
        args.usage_error("--set overrides bundle configs; it does not apply to --pred or --combine.")
    if args.only_predicted and args.allow_missing:
        args.usage_error("--only-predicted skips the cases without prediction, --allow-missing scores them as empty; give one.")
    if args.pred is not None and args.gt is not None and args.datalist is not None:
        args.usage_error("give the ground truth once: --gt FOLDER|DATALIST or --datalist DATALIST.")
    if args.pred is not None and args.gt is None and args.datalist is None:
        args.usage_error("--pred needs --gt (a folder of masks or a datalist JSON).")
    from monai_lite.evaluation import combine_reports, evaluate_folder
    from monai_lite.evaluation.report import format_summary

    if args.combine is not None:
        summary = combine_reports(args.combine, args.output_dir, plot=not args.no_plot)
    else:
        gt = args.gt if args.gt is not None else args.datalist
        summary = evaluate_folder(
            pred=args.pred,
            gt=gt,
            output_dir=args.output_dir,
            dataset_dir=args.dataset_dir,
            fold=0 if args.fold is None else args.fold,
            labels=args.labels,
            spacing=args.spacing,
            allow_missing=args.allow_missing,
            only_predicted=args.only_predicted,
            check_affine=not args.ignore_affine,
            plot=not args.no_plot,
            threshold=args.threshold,
        )
    print(format_summary(summary))
    print(f"wrote {args.output_dir}")
    return 0


# --- infer -------------------------------------------------------------------------------------------------------
def _add_infer(verbs) -> None:
    """``monai-lite infer``: segment pictures, volumes and DICOM series with one bundle or a Dice-weighted ensemble."""
    sub = verbs.add_parser(
        "infer",
        help="segment images (PNG/JPEG, NIfTI, DICOM series folders, or folders of these) with a trained bundle or an ensemble",
    )
    sub.add_argument("inputs", nargs="*", metavar="INPUT", help="[REQUIRED] image files, DICOM series folders, or folders of these")
    sub.add_argument("-i", "--input", dest="input_alias", action="append", default=None, metavar="INPUT", help="[OPTIONAL] same as a positional INPUT (kept for older scripts), repeatable")
    sub.add_argument("-o", "--output", dest="output_dir", default=None, help="[OPTIONAL] output folder, never inside an input folder. Default: BUNDLE/eval/predictions")
    sub.add_argument("--bundle", action="append", default=None, help="[OPTIONAL] bundle name or folder; repeat for an ensemble. Default: medlitenet")
    # One value per flag (repeat it), so options and INPUTs can come in any order: a flag taking several values
    # would swallow the INPUTs after it.
    sub.add_argument("--ckpt-path", "--ckpt", dest="ckpt_path", action="append", default=None, metavar="PATH", help="[OPTIONAL] weights, one path per flag; repeat it for an ensemble (one bundle, or one per bundle). Default: BUNDLE/models/model.pt")
    sub.add_argument("--dice", action="append", type=float, default=None, help="[OPTIONAL] validation Dice of one ensemble member, repeat it per member in --ckpt order (weights dice_i/sum). Default: read from models/last.pt")
    sub.add_argument("--tta", action="store_true", help="[OPTIONAL] 6-fold test-time augmentation (identity, flips, 90-degree rotations). Default: off")
    sub.add_argument("--threshold", type=float, default=None, help="[OPTIONAL] probability threshold of binary bundles. Default: the bundle's (0.5)")
    sub.add_argument("--overlap", type=float, default=0.25, help="[OPTIONAL] sliding-window overlap for 3D bundles. Default: 0.25")
    sub.add_argument("--blend", choices=("gaussian", "constant"), default="gaussian", help="[OPTIONAL] sliding-window blending. Default: gaussian")
    sub.add_argument("--sw-batch-size", dest="sw_batch_size", type=int, default=4, help="[OPTIONAL] windows or slices per network call. Default: 4")
    sub.add_argument("--device", default="auto", help="[OPTIONAL] auto, cpu, cuda (cuda:N) or mps. Default: auto")
    sub.add_argument("--engine", choices=("torch", "onnxruntime", "auto"), default="torch", help="[OPTIONAL] what runs the network: torch, onnxruntime (CPU; exported to ONNX once per checkpoint and input size, checked against torch, cached beside the weights; needs the export extra) or auto (onnxruntime where it is installed and measured faster). Default: torch")
    sub.add_argument("--series-uid", dest="series_uid", default=None, help="[OPTIONAL] SeriesInstanceUID to read from DICOM folders holding several series")
    sub.add_argument("--dicom-seg", dest="dicom_seg", choices=("auto", "yes", "no"), default="auto", help="[OPTIONAL] DICOM SEG output for DICOM input (needs the dicom-seg extra). Default: auto")
    sub.add_argument("--no-overlay", dest="overlay", action="store_false", help="[OPTIONAL] skip the RGB overlays of 2D pictures")
    sub.add_argument("--nan-policy", dest="nan_policy", choices=("refuse", "zero"), default="refuse", help="[OPTIONAL] NaN/Inf in an input: refuse it, or replace them by 0 (logged in inference_log.json). Default: refuse")
    sub.add_argument("--set", action="append", metavar="ID=VALUE", help="[OPTIONAL] override any bundle config id, repeatable (e.g. --set preset=ct)")
    sub.set_defaults(func=_cmd_infer, usage_error=sub.error)


#: Suffixes of weight files: an INPUT with one of them is a checkpoint given without its own --ckpt.
_WEIGHT_SUFFIXES = (".pt", ".pth", ".ckpt", ".ts", ".safetensors")


def _check_infer_inputs(args: argparse.Namespace) -> list[str]:
    """The INPUTs of ``infer``, or a usage error with a hint for the older ``--ckpt A B`` / ``--dice 0.9 0.8`` forms."""
    inputs = list(args.inputs) + list(args.input_alias or [])
    weights = [item for item in inputs if item.lower().endswith(_WEIGHT_SUFFIXES)]
    if weights:
        args.usage_error(
            f"{weights[0]} looks like a weights file, not an INPUT: --ckpt takes one path, so repeat it "
            f"(--ckpt A/model.pt --ckpt B/model.pt IMAGES/ -o OUTDIR)."
        )
    numbers = [item for item in inputs if _is_number(item) and not os.path.exists(item)]
    if numbers:
        args.usage_error(f"{numbers[0]} is not an INPUT: --dice takes one value, so repeat it (--dice 0.91 --dice 0.88).")
    if not inputs:
        args.usage_error(
            "give at least one INPUT (an image file, a DICOM series folder, or a folder of these), "
            "e.g. monai-lite infer --bundle medlitenet IMAGES/ -o OUTDIR."
        )
    return inputs


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _cmd_infer(args: argparse.Namespace) -> int:
    inputs = _check_infer_inputs(args)
    from monai_lite.bundle.runner import parse_override
    from monai_lite.inference import run_inference

    record = run_inference(
        inputs,
        args.output_dir,
        bundles=args.bundle or ["medlitenet"],
        ckpt_path=args.ckpt_path,
        dice=args.dice,
        device=args.device,
        engine=args.engine,
        tta=args.tta,
        threshold=args.threshold,
        overlap=args.overlap,
        blend=args.blend,
        sw_batch_size=args.sw_batch_size,
        series_uid=args.series_uid,
        dicom_seg=args.dicom_seg,
        overlay=args.overlay,
        nan_policy=args.nan_policy,
        overrides=dict(parse_override(item) for item in args.set or []),
    )
    written = sum(len(case["outputs"]) for case in record["cases"])
    print(f"segmented {len(record['cases'])} case(s); wrote {written} file(s) and inference_log.json to {record['output_dir']}")
    return 0


# --- benchmark ---------------------------------------------------------------------------------------------------
class _VerbParser(argparse.ArgumentParser):
    """The parser of one verb: options and positionals in any order, arguments optionally added on first use.

    - Order: argparse assigns positionals at the first run of them, so ``prepare IMAGES --folds 2 MASKS`` would
      leave MASKS unrecognised; a verb without sub-verbs is parsed with ``parse_known_intermixed_args`` instead.
    - Deferred arguments (``add_arguments``): the benchmark modules define their options beside their code and
      import torch and MONAI to do so; adding them only when that verb is used keeps ``monai-lite --help``,
      argument errors and ``monai-lite list`` free of those imports.
    """

    def __init__(self, *args, add_arguments=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._add_arguments = add_arguments
        self._intermixing = False

    def _complete(self) -> None:
        if self._add_arguments is not None:
            add_arguments, self._add_arguments = self._add_arguments, None
            add_arguments(self)

    def parse_known_args(self, args=None, namespace=None):
        self._complete()
        if self._subparsers is not None or self._intermixing:
            return super().parse_known_args(args, namespace)
        # parse_known_intermixed_args calls parse_known_args itself (twice); the flag sends those calls to argparse.
        self._intermixing = True
        try:
            return self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False

    def format_help(self) -> str:
        self._complete()
        return super().format_help()

    def format_usage(self) -> str:
        self._complete()
        return super().format_usage()


def _benchmark_kinds(sub: argparse.ArgumentParser) -> None:
    """``monai-lite benchmark efficiency|accuracy|pipeline|report``: each sub-verb's options live beside its code."""
    from monai_lite.benchmark import accuracy, efficiency, pipeline, results

    kinds = sub.add_subparsers(dest="benchmark", required=True, metavar="KIND")
    efficiency.add_parser(kinds)
    accuracy.add_parser(kinds)
    results.add_parser(kinds)
    pipeline.add_parser(kinds)


def _add_benchmark(verbs) -> None:
    verbs.add_parser(
        "benchmark",
        help="compare the networks with MONAI's: efficiency (size, MACs, latency), accuracy, or whole-pipeline time "
        "per case; report: a results page",
        add_arguments=_benchmark_kinds,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``monai-lite`` console script."""
    from monai_lite.known_warnings import silence_known_noise

    silence_known_noise()
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except Exception as err:  # noqa: BLE001 - re-raised below unless it is a user-facing problem
        from monai_lite.errors import debug_requested, user_error, user_message

        problem = user_error(err)
        if problem is None or args.debug or debug_requested():
            raise
        # Data and configuration problems are reported in one message naming the file; no traceback.
        print(f"monai-lite {args.verb}: error: {user_message(problem)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
