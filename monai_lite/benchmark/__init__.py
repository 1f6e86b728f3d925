# Copyright (c) monai-lite contributors. Licensed under the Apache License, Version 2.0.
"""Benchmarks of the monai-lite networks against MONAI's own: efficiency (size, MACs, latency) and accuracy."""
