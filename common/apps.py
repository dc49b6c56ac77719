from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Once common"

    def ready(self) -> None:
        from common import audit_admin, audit_receivers

        audit_receivers.connect()  # the audit log hears sign-ins and role changes
        # After the admin's autodiscover (django.contrib.admin's ready, earlier in
        # INSTALLED_APPS) has registered every ModelAdmin.
        audit_admin.audit_every_admin()
