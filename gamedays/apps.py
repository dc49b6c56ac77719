from django.apps import AppConfig


class GameDaysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "gamedays"
    verbose_name = "Game days"

    def ready(self) -> None:
        from gamedays.evidence import scenario_evidence
        from remediations.effectiveness import register_source

        register_source(scenario_evidence)
