# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""The ``monai-lite`` command: a few verbs that each do a whole job, folders and files in, folders and files out.

Each verb only parses its arguments and forwards them by keyword to an API function, so everything the command
does can be scripted from Python too. Exit codes: 0 success, 1 the job failed (bad data, failed check), 2 usage. Set ``MONAI_LITE_DEBUG=1`` to see the
full traceback of a reported problem.
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
    from monai_lite.bundle.runner import list_bundles
    from monai_lite.networks import list_networks
    from monai_lite.transforms import list_presets

    print("networks:", ", ".join(list_networks()))
    print("bundles: ", ", ".join(list_bundles()))
    print("presets: ", ", ".join(list_presets()))
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
    )
    print(f"wrote {summary.get('output', args.output)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``monai-lite`` (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(prog="monai-lite", description=__doc__.splitlines()[0])
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

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
    prepare.set_defaults(func=_cmd_prepare)

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
    sub = verbs.add_parser("evaluate", help="evaluate a trained bundle on its validation fold")
    _add_bundle_options(sub)
    _add_data_options(sub)
    sub.set_defaults(func=_cmd_run("evaluate"))


# --- infer -------------------------------------------------------------------------------------------------------
def _add_infer(verbs) -> None:
    sub = verbs.add_parser("infer", help="segment every image of a folder with a trained bundle")
    _add_bundle_options(sub)
    sub.add_argument("-i", "--input", dest="dataset_dir", required=True, help="[REQUIRED] folder of images")
    sub.add_argument("-o", "--output", dest="output_dir", default=None, help="[OPTIONAL] output folder. Default: BUNDLE/eval/predictions")
    sub.add_argument("--ckpt-path", dest="ckpt_path", default=None, help="[OPTIONAL] weights. Default: BUNDLE/models/model.pt")
    sub.set_defaults(func=_cmd_run("infer"))


# --- benchmark ---------------------------------------------------------------------------------------------------
def _add_benchmark(verbs) -> None:
    """``monai-lite benchmark efficiency|accuracy``: each sub-verb's options live beside its code."""
    from monai_lite.benchmark import accuracy, efficiency

    sub = verbs.add_parser("benchmark", help="compare the networks with MONAI's: efficiency (size, MACs, latency) or accuracy")
    kinds = sub.add_subparsers(dest="benchmark", required=True, metavar="KIND")
    efficiency.add_parser(kinds)
    accuracy.add_parser(kinds)


def _user_error(err: BaseException) -> BaseException | None:
    """The data or configuration problem behind ``err``, if any.

    MONAI's config parser wraps what a config expression raised in ``RuntimeError("Failed to evaluate ...")``;
    the cause chain still holds our own one-sentence error, which is what the user needs to read.
    """
    seen = 0
    while err is not None and seen < 20:
        if isinstance(err, (FileNotFoundError, ValueError)):
            return err
        err, seen = err.__cause__ or err.__context__, seen + 1
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``monai-lite`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except Exception as err:  # noqa: BLE001 - re-raised below unless it is a user-facing problem
        problem = _user_error(err)
        if problem is None or os.environ.get("MONAI_LITE_DEBUG"):
            raise
        # Data and configuration problems are reported in one message naming the file; no traceback.
        print(f"monai-lite {args.verb}: error: {problem}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
