from django.apps import AppConfig


class ReportsConfig(AppConfig):
    """Incident reports: an incident with its remediations, as people read and write them.

    The pages, the API, the import and export and the demo of incidents live here, above
    `incidents` and `remediations`, because they show and write both: `incidents` itself
    imports only `common` (CONVENTIONS.md, "Dependencies run one way").
    """

    name = "reports"
    verbose_name = "Incident reports"
