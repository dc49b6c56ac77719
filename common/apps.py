from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Once common"

    def ready(self) -> None:
        from common import audit_receivers

        audit_receivers.connect()  # the audit log hears sign-ins and role changes
