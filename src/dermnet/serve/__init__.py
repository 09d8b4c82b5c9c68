"""Serve a trained run: a web page and a REST API (``dermnet serve``, the ``serve`` extra).

`create_app` builds the FastAPI application; `ModelService` holds the run's model behind
a bounded queue that batches requests across clients; `ServeConfig` holds the settings;
`add_serve_arguments` and `run_serve` are the ``dermnet serve`` command.
"""

from typing import TYPE_CHECKING

from dermnet._core.imports import lazy_exports

if TYPE_CHECKING:
    from dermnet.serve.app import create_app, model_summary
    from dermnet.serve.command import add_serve_arguments, run_serve
    from dermnet.serve.config import ServeConfig
    from dermnet.serve.service import ModelService
    from dermnet.serve.uploads import RequestError, check_upload

__all__ = [
    "ModelService",
    "RequestError",
    "ServeConfig",
    "add_serve_arguments",
    "check_upload",
    "create_app",
    "model_summary",
    "run_serve",
]
__getattr__, __dir__ = lazy_exports(__name__, __all__)
