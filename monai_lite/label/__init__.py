"""MONAI Label integration: the bundles served for annotation and fine-tuned from the labels users save.

The modules here import ``monailabel``, which is not a dependency of monai-lite: it is installed into its own
environment by ``make label`` (see ``apps/monailabel/README.md`` for why it cannot share the main one). The app
folder that ``monailabel start_server --app`` loads is ``apps/monailabel``; it only re-exports
:class:`monai_lite.label.app.MonaiLiteLabelApp`.
"""
