"""The `spacy-xmr` command line: one thin typer module per group of commands.

Each command module defines its commands on `app` when imported below; the work itself lives
in functions of the library that Python users can call directly.
"""
import logging

import typer
from wasabi import msg

from ..phase_log import phases_shown

app = typer.Typer(
    name="spacy-xmr",
    help="Train, apply and evaluate XMR entity linkers and cross-encoder rerankers.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # click's plain help: rich's tables cut option names short on a narrow terminal
)


@app.callback()
def _show_warnings(context: typer.Context) -> None:
    # every command prints the library's warnings marked as wasabi marks its own (training commands their phases too)
    context.with_resource(phases_shown(level=logging.WARNING))


def main() -> None:
    """Console-script entry point."""
    app()


def fail(action: str, err: Exception) -> None:
    """End the command with `err`'s message under "ACTION failed", or "ACTION refused" where an output was refused
    before any work (it would have changed an input or a folder of the user's: `spacy_xmr.atomic`)."""
    msg.fail(f"{action} {'refused' if isinstance(err, FileExistsError) else 'failed'}", str(err), exits=1)


# Command modules register themselves on `app` (imported for that side effect).
from . import annotate  # noqa: E402,F401
from . import evaluate  # noqa: E402,F401
from . import explain_command  # noqa: E402,F401
from . import rank_commands  # noqa: E402,F401
from . import rerank_commands  # noqa: E402,F401
from . import xmr_commands  # noqa: E402,F401
