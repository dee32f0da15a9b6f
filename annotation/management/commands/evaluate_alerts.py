from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from annotation.services.alerts import alerts_evaluate
from annotation.services.triggers import triggers_evaluate


class Command(BaseCommand):
    help = (
        "Evaluate the alert rules and the pipeline triggers once, as Celery beat does every minute."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = alerts_evaluate()
        if result.skipped:
            self.stdout.write("Alert rules: another evaluation is running; skipped.")
        else:
            self.stdout.write(
                f"Alert rules: evaluated {result.rules}, fired {len(result.fired)}, "
                f"resolved {len(result.resolved)}."
                + (f" Failed (see the log): rules {result.failed}." if result.failed else "")
            )
        runs = triggers_evaluate()
        self.stdout.write(
            f"Triggers: {runs if isinstance(runs, int) else len(runs)} run(s) started."
        )
